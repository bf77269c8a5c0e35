// Fuzz target for core/filter: every input is parsed as a filter expression; one that parses is
// evaluated against fixed ServiceEntry- and HealthCheck-shaped elements. Parse errors are
// expected; crashes, sanitizer reports, exceptions and slow inputs are findings.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "core/filter/filter.h"

namespace {

constexpr const char* kElements[] = {
    R"({"Node":{"ID":"1f1e-aa","Node":"node-1","Address":"10.0.0.1","Datacenter":"dc1",
        "TaggedAddresses":{"lan":"10.0.0.1","wan":"10.0.0.1"},"Meta":{"rack":"r1","":"empty"},
        "CreateIndex":5,"ModifyIndex":7},
      "Service":{"ID":"web-1","Service":"web","Tags":["primary","v1",""],"Address":"",
        "Meta":{"env":"prod","version":"2"},"Port":8080,"Weights":{"Passing":1,"Warning":1},
        "EnableTagOverride":false,"Proxy":{},"Connect":{},"CreateIndex":10,
        "ModifyIndex":18446744073709551615},
      "Checks":[{"Node":"node-1","CheckID":"serfHealth","Status":"passing","ServiceTags":[]},
                {"CheckID":"service:web-1","Status":"critical","ServiceTags":["primary"]}],
      "Weight":-1.5,"Nothing":null,"List":[1,-2,true,null,"x",[1],{"a":1},2.5]})",
    R"({"Node":"node-1","CheckID":"service:web","Name":"Service 'web' check","Status":"passing",
      "Notes":"","Output":"HTTP GET http://x: 200 OK","ServiceID":"web","ServiceName":"web",
      "ServiceTags":["a","b"],"Type":"http","Definition":{"Header":{"X":["1"]}},
      "CreateIndex":3,"ModifyIndex":4})",
    R"([1,"two",{"three":3}])",
    R"("just a string")",
};

const std::vector<web::json::value>& elements() {
  static const std::vector<web::json::value> parsed = [] {
    std::vector<web::json::value> out;
    for (const char* text : kElements) {
      try {
        out.push_back(web::json::value::parse(text));
      } catch (const std::exception&) {
        std::abort();  // the fixed elements are valid JSON
      }
    }
    return out;
  }();
  return parsed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view expression(reinterpret_cast<const char*>(data), size);
  auto filter = cairn::filter::Filter::parse(expression);
  if (!filter.isOk()) {
    if (filter.status().message().empty()) std::abort();  // errors must say what is wrong
    return 0;
  }
  for (const web::json::value& element : elements()) (void)filter->matches(element);
  return 0;
}
