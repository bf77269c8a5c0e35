// `cairn event`: consul event's flags, checks and output ("Event ID: <id>").
#include <iostream>
#include <regex>

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/json.h>

#include "agent/cli/commands.h"
#include "agent/cli/event_filters.h"

namespace cairn::cli {
namespace {

constexpr char kHelp[] = R"(Usage: cairn event [options] [payload]

  Dispatches a custom user event across a datacenter. An event must provide
  a name, but a payload is optional. Events support filtering using
  regular expressions on node name, service, and tag definitions.
)";

struct EventFlags {
  HttpOptions http;
  std::string name, node, service, tag;
};

void defineFlags(FlagSet& fs, EventFlags& f) {
  addHttpFlags(fs, &f.http);
  fs.addString("name", &f.name, "Name of the event.");
  fs.addString("node", &f.node, "Regular expression to filter on node names.");
  fs.addString("service", &f.service, "Regular expression to filter on service instances.");
  fs.addString("tag", &f.tag,
               "Regular expression to filter on service tags. Must be used with "
               "-service.");
}

// Consul's client-side checks, with its texts; empty when the flags are usable.
std::string validate(const EventFlags& f) {
  if (f.name.empty()) return "Event name must be specified";
  return eventFilterProblem(f.node, f.service, f.tag);
}

}  // namespace

std::string eventFilterProblem(const std::string& node, const std::string& service,
                               const std::string& tag) {
  const std::pair<const std::string*, const char*> filters[] = {
      {&node, "node"}, {&service, "service"}, {&tag, "tag"}};
  for (const auto& [pattern, what] : filters) {
    if (pattern->empty()) continue;
    try {
      std::regex re(*pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return std::string("Failed to compile ") + what + " filter regexp: " + e.what();
    }
  }
  if (!tag.empty() && service.empty()) return "Cannot provide tag filter without service filter.";
  return "";
}

int runEvent(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  EventFlags f;
  defineFlags(fs, f);
  std::string help = commandHelp(kHelp, fs);
  if (auto code = parseFlags(fs, args, help, io)) return *code;
  if (std::string problem = validate(f); !problem.empty()) {
    io.err << problem << "\n";
    return 1;
  }
  if (fs.args().size() > 1) {
    io.err << "Too many command line arguments.\n\n" << help;
    return 1;
  }
  std::string payload = fs.args().empty() ? "" : fs.args()[0];
  auto api = connectApi(f.http, io);
  if (!api) return 1;
  auto self = api->send("GET", "/v1/agent/self", {});
  if (!self.isOk() || self->status != 200) {
    io.err << "Error querying Cairn agent: "
           << (self.isOk() ? unexpectedResponse(*self).message() : self.status().message()) << "\n";
    return 1;
  }
  Query q;
  if (!f.node.empty()) q.emplace_back("node", f.node);
  if (!f.service.empty()) q.emplace_back("service", f.service);
  if (!f.tag.empty()) q.emplace_back("tag", f.tag);
  auto fired = api->send("PUT", "/v1/event/fire/" + f.name, q, payload);
  if (!fired.isOk() || fired->status != 200) {
    io.err << "Error firing event: "
           << (fired.isOk() ? unexpectedResponse(*fired).message() : fired.status().message())
           << "\n";
    return 1;
  }
  try {
    io.out << "Event ID: " << web::json::value::parse(fired->body).at("ID").as_string() << "\n";
  } catch (const std::exception& e) {
    io.err << "Error firing event: decoding the answer: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace cairn::cli
