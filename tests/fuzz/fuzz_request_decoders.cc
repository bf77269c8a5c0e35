// Fuzz target for the request-body decoders of the catalog, session and agent endpoints: the
// input is one JSON body, decoded as PUT /v1/catalog/register, /v1/session/create,
// /v1/agent/service/register and /v1/agent/check/register would decode it. Decode errors are
// expected; crashes, sanitizer reports and escaping exceptions are findings.
#include <cstdint>
#include <string_view>

#include "core/http/agent_handlers_json.h"
#include "core/http/catalog_json.h"
#include "core/http/json_reader.h"
#include "core/http/session_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)cairn::http::decodeSessionCreate(text, "agent-node", 10'000'000'000);
  auto body = cairn::http::parseJson(text);
  if (!body.isOk()) return 0;
  (void)cairn::http::decodeRegister(*body);
  (void)cairn::http::decodeServiceRegistration(*body);
  (void)cairn::http::decodeCheckRegistration(*body);
  return 0;
}
