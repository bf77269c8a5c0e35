#pragma once
// What every `cairn` CLI command shares: its I/O streams and environment, the HTTP flags of
// `consul` (-http-addr, -token, -datacenter, -stale), the HTTP client, and flag/usage handling.

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/client/api_client.h"
#include "core/config/flag_set.h"

namespace cairn::cli {

using client::ApiClient;
using client::Cancellation;
using client::EnvLookup;
using client::HttpOptions;
using client::HttpResponse;
using client::processEnv;
using client::Query;
using client::unexpectedResponse;
using config::FlagSet;

// The streams and environment a command runs with (the process's, or a test's).
struct CliIo {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  EnvLookup env;
};

void addHttpFlags(FlagSet& fs, HttpOptions* options);

// The API client for `options` and the environment; on failure, reports why on io.err.
std::optional<ApiClient> connectApi(const HttpOptions& options, CliIo& io);

// A DATA argument as `consul` reads it: "" is empty, "@file" is the file's content, "-" is all
// of `in`, anything else (including "-foo") is itself.
StatusOr<std::string> loadDataSource(const std::string& arg, std::istream& in);

// Parses a command's flags. Returns an exit code when the command must stop now: 0 after
// printing `help` for -h, 1 after printing a flag error and `help` to io.err.
std::optional<int> parseFlags(FlagSet& fs, const std::vector<std::string>& args,
                              const std::string& help, CliIo& io);
// A command's help: its description, then its flags.
std::string commandHelp(const std::string& description, const FlagSet& fs);

}  // namespace cairn::cli
