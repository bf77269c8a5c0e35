// `cairn snapshot save|restore`: consul snapshot's arguments, messages and exit codes. A saved
// file is the body of GET /v1/snapshot (a gzip-compressed state image), verified before it is
// given its name.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "agent/cli/commands.h"
#include "core/base/go_encoding.h"
#include "core/store/state_image.h"

namespace cairn::cli {
namespace {

constexpr char kUsage[] = R"(Usage: cairn snapshot <subcommand> [options] [args]

  Saves and restores snapshots of the Cairn servers' state: every KV entry,
  tombstone and index, at one point in time.

      $ cairn snapshot save backup.snap
      $ cairn snapshot restore backup.snap

Subcommands:
    inspect    Displays information about a snapshot file
    restore    Restores a snapshot into the cluster
    save       Saves a snapshot of the cluster's state
)";

constexpr char kSaveHelp[] = R"(Usage: cairn snapshot save [options] FILE

  Retrieves an atomic, point-in-time snapshot of the state of the Cairn
  servers and saves it to FILE, after verifying it. With -stale any server
  answers, even without a leader.
)";

constexpr char kRestoreHelp[] = R"(Usage: cairn snapshot restore [options] FILE

  Restores an atomic, point-in-time snapshot of the state of the Cairn servers
  from FILE: the whole state is replaced. Blocking queries return at once.
)";

std::optional<std::string> fileArgument(const FlagSet& fs, CliIo& io) {
  if (fs.args().empty()) {
    io.err << "Missing FILE argument\n";
    return std::nullopt;
  }
  if (fs.args().size() > 1) {
    io.err << "Too many arguments (expected 1, got " << fs.args().size() << ")\n";
    return std::nullopt;
  }
  return fs.args()[0];
}

std::string osError(const char* op, const std::string& path) {
  return std::string(op) + " " + path + ": " + std::strerror(errno);
}

Status writeFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return internalError(osError("open", path));
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) return internalError(osError("write", path));
  return Status::ok();
}

int save(const ApiClient& api, const std::string& file, CliIo& io) {
  auto response = api.send("GET", "/v1/snapshot", {}, "", true);
  if (response.isOk() && response->status != 200) response = unexpectedResponse(*response);
  if (!response.isOk()) {
    io.err << "Error saving snapshot: " << response.status().message() << "\n";
    return 1;
  }
  std::string unverified = file + ".unverified";
  if (Status s = writeFile(unverified, response->body); !s.isOk()) {
    io.err << "Error writing unverified snapshot file: " << s.message() << "\n";
    std::remove(unverified.c_str());
    return 1;
  }
  uint64_t index = 0;
  if (auto image = store::decodeSnapshot(response->body, &index); !image.isOk()) {
    io.err << "Error verifying snapshot file: " << image.status().message() << "\n";
    std::remove(unverified.c_str());
    return 1;
  }
  if (std::rename(unverified.c_str(), file.c_str()) != 0) {
    io.err << "Error renaming " << goQuote(unverified) << " to " << goQuote(file) << ": "
           << std::strerror(errno) << "\n";
    return 1;
  }
  io.out << "Saved and verified snapshot to index " << index << "\n";
  return 0;
}

}  // namespace

int runSnapshotSave(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  HttpOptions http;
  addHttpFlags(fs, &http);
  if (auto code = parseFlags(fs, args, commandHelp(kSaveHelp, fs), io)) return *code;
  auto file = fileArgument(fs, io);
  if (!file) return 1;
  auto api = connectApi(http, io);
  if (!api) return 1;
  return save(*api, *file, io);
}

int runSnapshotRestore(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  HttpOptions http;
  addHttpFlags(fs, &http);
  if (auto code = parseFlags(fs, args, commandHelp(kRestoreHelp, fs), io)) return *code;
  auto file = fileArgument(fs, io);
  if (!file) return 1;
  std::ifstream in(*file, std::ios::binary);
  if (!in) {
    io.err << "Error opening snapshot file: " << osError("open", *file) << "\n";
    return 1;
  }
  std::ostringstream data;
  data << in.rdbuf();
  auto api = connectApi(http, io);
  if (!api) return 1;
  auto response = api->send("PUT", "/v1/snapshot", {}, data.str());
  if (response.isOk() && response->status != 200) response = unexpectedResponse(*response);
  if (!response.isOk()) {
    io.err << "Error restoring snapshot: " << response.status().message() << "\n";
    return 1;
  }
  io.out << "Restored snapshot\n";
  return 0;
}

int runSnapshot(const std::vector<std::string>& args, CliIo& io) {
  using Command = int (*)(const std::vector<std::string>&, CliIo&);
  static const std::map<std::string, Command> kCommands = {
      {"save", runSnapshotSave}, {"restore", runSnapshotRestore}, {"inspect", runSnapshotInspect}};
  if (args.empty()) {
    io.err << kUsage;
    return 1;
  }
  if (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
    io.out << kUsage;
    return 0;
  }
  auto it = kCommands.find(args[0]);
  if (it == kCommands.end()) {
    io.err << "Unknown command: snapshot " << args[0] << "\n\n" << kUsage;
    return 1;
  }
  return it->second({args.begin() + 1, args.end()}, io);
}

}  // namespace cairn::cli
