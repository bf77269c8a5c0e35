// Fuzz target for operator/injector: every input is an AdmissionReview body. Whatever it holds,
// the injector must answer with an AdmissionReview (a response with a uid and `allowed`), and a
// patch it returns must be base64 of a JSON array. Crashes, sanitizer reports, exceptions escaping
// and answers of another shape are findings.
#include <cpprest/asyncrt_utils.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "operator/injector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  cairn::op::InjectorConfig config;
  auto labels = [](const std::string&) { return cairn::op::Labels{{"cairn.io/inject", "true"}}; };
  cairn::op::AdmissionResult r = cairn::op::admit(body, config, labels);
  if (r.http_status != 200 && r.http_status != 400) std::abort();
  const auto& review = r.review;
  if (!review.has_field("response")) std::abort();
  const auto& response = review.at("response");
  if (!response.has_field("uid") || !response.at("allowed").is_boolean()) std::abort();
  if (response.has_field("patch")) {
    auto bytes = utility::conversions::from_base64(response.at("patch").as_string());
    auto patch = web::json::value::parse(std::string(bytes.begin(), bytes.end()));
    if (!patch.is_array()) std::abort();
  }
  return 0;
}
