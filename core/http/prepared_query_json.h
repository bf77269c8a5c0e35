#pragma once
// Consul's PreparedQuery JSON (docs/prepared-queries.md): the request body of POST /v1/query and
// PUT /v1/query/<id> (keys case-insensitive, unknown keys ignored, as Go decodes them) and the
// shapes GET, execute and explain answer with.

#include <string>
#include <string_view>
#include <vector>

#include "cairn/v1/query.pb.h"
#include "core/base/status.h"
#include "core/http/json_writer.h"
#include "core/store/catalog_types.h"

namespace cairn::http {

// Decodes a definition (ID, indexes ignored). A body that is not a JSON object, or a field of the
// wrong type, is kInvalidArgument "Request decode failed: ...". Validation of the content is
// store::validatePreparedQuery's.
StatusOr<v1::PreparedQuery> decodePreparedQuery(std::string_view body);

// One query as Consul shows it; the Token is replaced by "<hidden>" unless `show_token`.
void writePreparedQuery(JsonWriter& w, const v1::PreparedQuery& query, bool show_token);

// The execute answer: Service, Namespace, Nodes (health ServiceEntry shape), DNS, Datacenter,
// Failovers (always 0: there is no second datacenter to fail over to).
std::string executeJson(const v1::PreparedQuery& query,
                        const std::vector<store::ServiceInstance>& nodes, const std::string& dc);

}  // namespace cairn::http
