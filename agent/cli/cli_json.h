#pragma once
// Helpers of the toolbox commands (catalog, services, maint, info, validate, autopilot): one GET
// that must answer 200 with JSON, lenient field readers (a missing or mistyped field reads empty,
// as Go's decoder leaves a zero value) and the check for commands that take no arguments.

#include <cstdint>
#include <string>

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/json.h>

#include "agent/cli/cli_common.h"

namespace cairn::cli {

using JsonValue = web::json::value;

// GET `path`; anything but a 200 with a JSON body is an error naming the response.
StatusOr<JsonValue> getJson(const ApiClient& api, const std::string& path, Query query = {});

// PUT `path`; anything but a 200 is an error naming the response.
Status sendPut(const ApiClient& api, const std::string& path, Query query,
               const std::string& body = "");

StatusOr<JsonValue> parseJsonText(const std::string& text);

std::string jsonString(const JsonValue& obj, const char* name);
uint64_t jsonUint(const JsonValue& obj, const char* name);
bool jsonBool(const JsonValue& obj, const char* name);
// A scalar as Consul's CLI prints it with %v: strings bare, numbers and booleans as JSON.
std::string jsonScalarText(const JsonValue& v);

// Exit code 1 after consul's message when a command that takes no arguments got some.
std::optional<int> rejectArguments(const FlagSet& fs, CliIo& io);

// `-node-meta key=value` (the CLI's form) as the API's `node-meta=key:value` parameters.
StatusOr<Query> nodeMetaQuery(const std::vector<std::string>& pairs);

}  // namespace cairn::cli
