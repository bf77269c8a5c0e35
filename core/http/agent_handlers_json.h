#pragma once
// Consul's JSON for the agent endpoints (docs/consul-api.md §6): decoding of service and check
// registrations (keys case-insensitive, snake_case accepted, python-consul's lowercase check
// objects) and the AgentService encoding.

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/json.h>

#include <string>

#include "cairn/v1/catalog.pb.h"
#include "core/base/status.h"
#include "core/http/json_writer.h"
#include "core/local/registration.h"

namespace cairn::http {

// PUT /v1/agent/service/register. Defaults: ID = Name; checks from Check then Checks, their IDs
// `service:<id>` (one check) or `service:<id>:<n>` (1-based), names `Service '<name>' check`.
// kInvalidArgument (400) for `Missing service name`, a bad Meta, an unspecified Address, a
// malformed field (`Request decode failed: ...`) or an unsupported check type.
StatusOr<local::ServiceRegistration> decodeServiceRegistration(const web::json::value& body);

// PUT /v1/agent/check/register: check fields at the top level, `Name` required
// (`Missing check name`), ID defaulting to Name, optional ServiceID.
StatusOr<local::CheckRegistration> decodeCheckRegistration(const web::json::value& body);

// One check object (an element of Check/Checks, or the check/register body).
StatusOr<local::CheckRegistration> decodeCheck(const web::json::value& body);

// An AgentService object; with `content_hash`, adds ContentHash (GET /v1/agent/service/<id>).
void writeAgentService(JsonWriter& w, const v1::CatalogService& service, const std::string& dc,
                       bool content_hash);

}  // namespace cairn::http
