// Fuzz target for the request-body decoders of the catalog, session, agent and prepared-query
// endpoints: the input is one JSON body, decoded as PUT /v1/catalog/register,
// /v1/session/create, /v1/agent/service/register, /v1/agent/check/register and POST /v1/query
// would decode it (a query is also validated and its template rendered). Decode errors are
// expected; crashes, sanitizer reports and escaping exceptions are findings.
#include <cstdint>
#include <string_view>

#include "core/http/agent_handlers_json.h"
#include "core/http/catalog_json.h"
#include "core/http/json_reader.h"
#include "core/http/prepared_query_json.h"
#include "core/http/session_json.h"
#include "core/store/prepared_query.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)cairn::http::decodeSessionCreate(text, "agent-node", 10'000'000'000);
  if (auto query = cairn::http::decodePreparedQuery(text); query.isOk()) {
    (void)cairn::store::validatePreparedQuery(*query);
    (void)cairn::store::renderPreparedQuery(*query, query->name() + "-suffix-x");
  }
  auto body = cairn::http::parseJson(text);
  if (!body.isOk()) return 0;
  (void)cairn::http::decodeRegister(*body);
  (void)cairn::http::decodeServiceRegistration(*body);
  (void)cairn::http::decodeCheckRegistration(*body);
  return 0;
}
