#pragma once
// Consul's JSON for the catalog and health endpoints (docs/consul-api.md §4, §5): encoders for the
// stored rows, and decoders for PUT /v1/catalog/register bodies (keys case-insensitive).

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/json.h>

#include <string>

#include "cairn/v1/catalog.pb.h"
#include "core/base/status.h"
#include "core/http/json_writer.h"
#include "core/store/catalog_types.h"

namespace cairn::http {

// `dc` fills in a node's empty Datacenter.
void writeNode(JsonWriter& w, const v1::CatalogNode& node, const std::string& dc);
// A catalog ServiceNode (/v1/catalog/service/<name>).
void writeServiceNode(JsonWriter& w, const v1::CatalogNode& node, const v1::CatalogService& service,
                      const std::string& dc);
// A service as in ServiceEntry.Service and /v1/catalog/node/<node> (AgentService-shaped).
void writeService(JsonWriter& w, const v1::CatalogService& service, const std::string& dc);
void writeCheck(JsonWriter& w, const v1::CatalogCheck& check);
void writeServiceEntry(JsonWriter& w, const store::ServiceInstance& instance,
                       const std::string& dc);

// Decoders: kInvalidArgument with "Request decode failed: ..." when a field has the wrong type.
StatusOr<v1::CatalogService> decodeService(const web::json::value& body);
StatusOr<v1::CatalogCheck> decodeCatalogCheck(const web::json::value& body);
StatusOr<v1::CatalogRegister> decodeRegister(const web::json::value& body);

// Consul's check status values; false for anything else.
bool validCheckStatus(const std::string& status);

}  // namespace cairn::http
