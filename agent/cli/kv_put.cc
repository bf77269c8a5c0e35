// `cairn kv put`: consul kv put's flags, messages and exit codes.
#include <iostream>

#include "agent/cli/commands.h"
#include "agent/cli/kv_client.h"

namespace cairn::cli {
namespace {

constexpr char kHelp[] = R"(Usage: cairn kv put [options] KEY [DATA]

  Writes the data to the given path in the key-value store. The data can be of
  any type.

      $ cairn kv put config/redis/maxconns 5

  The data can also be consumed from a file on disk by prefixing with the "@"
  symbol, or read from stdin using the "-" symbol:

      $ cairn kv put config/program/license @license.lic
      $ echo "abcd1234" | cairn kv put config/program/license -

  The DATA argument itself is optional. If omitted, this will create an empty
  key-value pair at the specified path. If the -base64 flag is specified, the
  data is treated as base 64 encoded.

  To perform a Check-And-Set operation, specify the -cas flag with the
  -modify-index of the key (0: write only if the key does not exist yet):

      $ cairn kv put -cas -modify-index=844 config/redis/maxconns 5
)";

struct PutFlags {
  HttpOptions http;
  bool cas = false, base64 = false, acquire = false, release = false;
  uint64_t flags = 0, modify_index = 0;
  std::string session;
};

void definePutFlags(FlagSet& fs, PutFlags& f) {
  addHttpFlags(fs, &f.http);
  fs.addBool("cas", &f.cas, "Check-And-Set: write only if -modify-index matches the key's.");
  fs.addUint64("flags", &f.flags, "Unsigned integer stored with the pair (default 0).");
  fs.addBool("base64", &f.base64, "Treat the data as base 64 encoded.");
  fs.addUint64("modify-index", &f.modify_index, "The ModifyIndex the key must have, with -cas.");
  fs.addString("session", &f.session, "Session ID, required with -acquire and -release.");
  fs.addBool("acquire", &f.acquire, "Obtain a lock on the key (creating it if needed).");
  fs.addBool("release", &f.release, "Release the session's lock on the key.");
}

StatusOr<KvPair> pairFromArgs(const std::vector<std::string>& args, const PutFlags& f,
                              std::istream& in) {
  if (args.empty()) return invalidArgument("Error! Missing KEY argument");
  if (args.size() > 2) {
    return invalidArgument("Error! Too many arguments (expected 1 or 2, got " +
                           std::to_string(args.size()) + ")");
  }
  KvPair pair{args[0], f.flags, "", f.session, 0, f.modify_index, 0};
  auto data = loadDataSource(args.size() == 2 ? args[1] : "", in);
  if (!data.isOk()) return invalidArgument("Error! " + data.status().message());
  pair.value = std::move(*data);
  if (f.base64) {
    auto decoded = base64Decode(pair.value);
    if (!decoded.isOk()) {
      return invalidArgument("Error! Cannot base 64 decode data: " + decoded.status().message());
    }
    pair.value = std::move(*decoded);
  }
  return pair;
}

int write(const KvClient& kv, const KvPair& pair, const PutFlags& f, CliIo& io) {
  using Mode = KvClient::WriteMode;
  Mode mode = f.cas       ? Mode::kCas
              : f.acquire ? Mode::kAcquire
              : f.release ? Mode::kRelease
                          : Mode::kPut;
  auto ok = kv.put(pair, mode);
  if (!ok.isOk()) {
    io.err << (mode == Mode::kCas ? "Error! Did not write to " + pair.key + ": "
                                  : std::string("Error! Failed writing data: "))
           << ok.status().message() << "\n";
    return 1;
  }
  if (*ok) {
    io.out << (mode == Mode::kAcquire   ? "Success! Lock acquired on: "
               : mode == Mode::kRelease ? "Success! Lock released on: "
                                        : "Success! Data written to: ")
           << pair.key << "\n";
    return 0;
  }
  if (mode == Mode::kCas) {
    io.err << "Error! Did not write to " << pair.key << ": "
           << (f.modify_index == 0 ? "CAS performed with index=0 and key already exists."
                                   : "CAS failed")
           << "\n";
  } else {
    io.err << (mode == Mode::kAcquire ? "Error! Did not acquire lock\n"
                                      : "Error! Did not release lock\n");
  }
  return 1;
}

}  // namespace

int runKvPut(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  PutFlags f;
  definePutFlags(fs, f);
  if (auto code = parseFlags(fs, args, commandHelp(kHelp, fs), io)) return *code;
  auto pair = pairFromArgs(fs.args(), f, io.in);
  if (!pair.isOk()) {
    io.err << pair.status().message() << "\n";
    return 1;
  }
  if ((f.acquire || f.release) && f.session.empty()) {
    io.err << "Error! Missing -session (required with -acquire and -release)\n";
    return 1;
  }
  auto api = connectApi(f.http, io);
  if (!api) return 1;
  return write(KvClient(*api), *pair, f, io);
}

}  // namespace cairn::cli
