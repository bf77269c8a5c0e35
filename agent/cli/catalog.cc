// `cairn catalog datacenters|nodes|services`: consul catalog's flags and output, read from
// /v1/catalog/* (nodes sorted by name, services by name, tables columnized as consul prints them).
#include <algorithm>
#include <iostream>
#include <map>

#include "agent/cli/cli_json.h"
#include "agent/cli/commands.h"
#include "agent/cli/operator_format.h"

namespace cairn::cli {
namespace {

constexpr char kCatalogUsage[] = R"(Usage: cairn catalog <subcommand> [options] [args]

  This command has subcommands for interacting with Cairn's catalog, with the
  same flags and output as "consul catalog".

      $ cairn catalog datacenters
      $ cairn catalog nodes -service=web
      $ cairn catalog services -tags

Subcommands:
    datacenters    Lists all known datacenters
    nodes          Lists all nodes in the given datacenter
    services       Lists all registered services in a datacenter
)";

constexpr char kDatacentersHelp[] = R"(Usage: cairn catalog datacenters [options]

  Retrieves the list of all known datacenters.
)";

constexpr char kNodesHelp[] = R"(Usage: cairn catalog nodes [options]

  Retrieves the list of nodes registered in a given datacenter; -service limits
  them to the nodes providing a service, -node-meta to nodes with that metadata.
)";

constexpr char kServicesHelp[] = R"(Usage: cairn catalog services [options]

  Retrieves the list of services registered in a given datacenter, or on one
  node with -node; -tags adds each service's tags.
)";

// Go's map[string]string printed as consul catalog does: sorted "k=v" joined by ", ".
std::string mapText(const JsonValue& obj) {
  if (!obj.is_object()) return "";
  std::vector<std::string> pairs;
  for (const auto& [k, v] : obj.as_object()) pairs.push_back(k + "=" + jsonScalarText(v));
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (size_t i = 0; i < pairs.size(); ++i) out += (i ? ", " : "") + pairs[i];
  return out;
}

const JsonValue& field(const JsonValue& obj, const char* name) {
  static const JsonValue kNull;
  return obj.is_object() && obj.has_field(name) ? obj.at(name) : kNull;
}

struct NodeRow {
  std::string name, id, address, dc;
  JsonValue tagged, meta;
};

// The nodes of GET /v1/catalog/nodes, or of the instances of GET /v1/catalog/service/<name>
// (one row per node however many instances it runs).
std::vector<NodeRow> nodeRows(const JsonValue& list) {
  std::map<std::string, NodeRow> rows;
  if (!list.is_array()) return {};
  for (const JsonValue& n : list.as_array()) {
    NodeRow row{jsonString(n, "Node"),       jsonString(n, "ID"),         jsonString(n, "Address"),
                jsonString(n, "Datacenter"), field(n, "TaggedAddresses"), field(n, "NodeMeta")};
    if (row.meta.is_null()) row.meta = field(n, "Meta");
    rows.emplace(row.name, std::move(row));
  }
  std::vector<NodeRow> out;
  for (auto& [name, row] : rows) out.push_back(std::move(row));
  return out;
}

std::string nodeTable(const std::vector<NodeRow>& nodes, bool detailed) {
  std::vector<Row> rows;
  if (detailed) {
    rows.push_back({"Node", "ID", "Address", "DC", "TaggedAddresses", "Meta"});
  } else {
    rows.push_back({"Node", "ID", "Address", "DC"});
  }
  for (const NodeRow& n : nodes) {
    if (detailed) {
      rows.push_back({n.name, n.id, n.address, n.dc, mapText(n.tagged), mapText(n.meta)});
    } else {
      rows.push_back({n.name, n.id.substr(0, 8), n.address, n.dc});
    }
  }
  return columnize(rows);
}

int fail(CliIo& io, const std::string& what, const Status& s) {
  io.err << "Error " << what << ": " << s.message() << "\n";
  return 1;
}

// What `nodes` and `services` share: the HTTP flags and -node-meta, then a connection.
struct CatalogRead {
  FlagSet fs;
  HttpOptions http;
  std::vector<std::string> node_meta;
  Query query;
  std::optional<ApiClient> api;

  CatalogRead() {
    addHttpFlags(fs, &http);
    fs.addStringList("node-meta", &node_meta,
                     "Metadata to filter nodes with, as key=value; repeatable (all must match).");
  }
  // Parses `args` (after the caller added its own flags); an exit code when the command stops.
  std::optional<int> start(const std::vector<std::string>& args, const char* help, CliIo& io) {
    if (auto code = parseFlags(fs, args, commandHelp(help, fs), io)) return code;
    if (auto code = rejectArguments(fs, io)) return code;
    auto meta = nodeMetaQuery(node_meta);
    if (!meta.isOk()) {
      io.err << meta.status().message() << "\n";
      return 1;
    }
    query = std::move(*meta);
    api = connectApi(http, io);
    if (!api) return 1;
    return std::nullopt;
  }
};

}  // namespace

int runCatalogDatacenters(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  HttpOptions http;
  addHttpFlags(fs, &http);
  if (auto code = parseFlags(fs, args, commandHelp(kDatacentersHelp, fs), io)) return *code;
  if (auto code = rejectArguments(fs, io)) return *code;
  auto api = connectApi(http, io);
  if (!api) return 1;
  auto dcs = getJson(*api, "/v1/catalog/datacenters");
  if (!dcs.isOk()) return fail(io, "listing datacenters", dcs.status());
  if (!dcs->is_array() || dcs->as_array().size() == 0) {
    io.err << "No datacenters found\n";
    return 1;
  }
  for (const JsonValue& dc : dcs->as_array()) io.out << jsonScalarText(dc) << "\n";
  return 0;
}

int runCatalogNodes(const std::vector<std::string>& args, CliIo& io) {
  CatalogRead r;
  bool detailed = false;
  std::string service;
  r.fs.addBool("detailed", &detailed, "Output detailed information about the nodes.");
  r.fs.addString("service", &service, "Only list the nodes providing this service (name or ID).");
  if (auto code = r.start(args, kNodesHelp, io)) return *code;
  std::string path = service.empty() ? "/v1/catalog/nodes" : "/v1/catalog/service/" + service;
  auto list = getJson(*r.api, path, r.query);
  if (!list.isOk()) return fail(io, "listing nodes", list.status());
  auto nodes = nodeRows(*list);
  if (nodes.empty()) {
    io.err << "No nodes match the given query - try expanding your search.\n";
    return 0;
  }
  io.out << nodeTable(nodes, detailed) << "\n";
  return 0;
}

namespace {

// name → tags of GET /v1/catalog/services, or of one node's services.
StatusOr<std::map<std::string, std::vector<std::string>>> serviceTags(const ApiClient& api,
                                                                      const std::string& node,
                                                                      Query query) {
  std::map<std::string, std::vector<std::string>> out;
  auto addTags = [&out](const std::string& name, const JsonValue& tags) {
    auto& list = out[name];
    if (!tags.is_array()) return;
    for (const JsonValue& t : tags.as_array()) {
      std::string tag = jsonScalarText(t);
      if (std::find(list.begin(), list.end(), tag) == list.end()) list.push_back(tag);
    }
  };
  if (node.empty()) {
    auto services = getJson(api, "/v1/catalog/services", std::move(query));
    if (!services.isOk()) return services.status();
    if (!services->is_object()) return out;
    for (const auto& [name, tags] : services->as_object()) addTags(name, tags);
  } else {
    auto info = getJson(api, "/v1/catalog/node/" + node, std::move(query));
    if (!info.isOk()) return info.status();
    const JsonValue& services = field(*info, "Services");
    if (!services.is_object()) return out;
    for (const auto& [id, s] : services.as_object())
      addTags(jsonString(s, "Service"), field(s, "Tags"));
  }
  for (auto& [name, tags] : out) std::sort(tags.begin(), tags.end());
  return out;
}

}  // namespace

int runCatalogServices(const std::vector<std::string>& args, CliIo& io) {
  CatalogRead r;
  bool tags = false;
  std::string node;
  r.fs.addBool("tags", &tags, "Display each service's tags as a comma-separated list.");
  r.fs.addString("node", &node, "Only list the services registered on this node.");
  if (auto code = r.start(args, kServicesHelp, io)) return *code;
  auto services = serviceTags(*r.api, node, r.query);
  if (!services.isOk()) return fail(io, "listing services", services.status());
  if (services->empty()) {
    io.err << "No services match the given query - try expanding your search.\n";
    return 0;
  }
  std::vector<Row> rows;
  for (const auto& [name, list] : *services) {
    std::string joined;
    for (size_t i = 0; i < list.size(); ++i) joined += (i ? "," : "") + list[i];
    rows.push_back(tags ? Row{name, joined} : Row{name});
  }
  io.out << columnize(rows) << "\n";
  return 0;
}

int runCatalog(const std::vector<std::string>& args, CliIo& io) {
  static const std::map<std::string, Subcommand> kCommands = {
      {"datacenters", runCatalogDatacenters},
      {"nodes", runCatalogNodes},
      {"services", runCatalogServices},
  };
  return dispatchSubcommand("catalog", kCatalogUsage, kCommands, args, io);
}

}  // namespace cairn::cli
