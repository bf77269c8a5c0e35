// `cairn kv delete`: consul kv delete's flags, messages and exit codes.
#include <iostream>

#include "agent/cli/commands.h"
#include "agent/cli/kv_client.h"

namespace cairn::cli {
namespace {

constexpr char kHelp[] = R"(Usage: cairn kv delete [options] KEY_OR_PREFIX

  Removes the value from the key-value store at the given path. If no key
  exists at the path, no action is taken.

      $ cairn kv delete foo

  To delete all keys which start with "foo", specify the -recurse option:

      $ cairn kv delete -recurse foo

  This will delete the keys named "foo", "food", and "foo/bar/zip" if they
  existed.
)";

struct DeleteFlags {
  HttpOptions http;
  bool cas = false, recurse = false;
  uint64_t modify_index = 0;
};

// Consul's argument checks, in Consul's order; returns the message of the first that fails.
std::optional<std::string> checkArgs(const std::string& key, const DeleteFlags& f) {
  if (key.empty() && !f.recurse) return "Error! Missing KEY argument";
  if (f.cas && f.modify_index == 0) {
    return "Cannot delete a key that does not exist. Provide a -modify-index greater than 0.";
  }
  if (f.modify_index != 0 && !f.cas) return "Cannot specify -modify-index without -cas!";
  if (f.recurse && f.cas) return "Cannot specify both -cas and -recurse!";
  return std::nullopt;
}

int run(const KvClient& kv, const std::string& key, const DeleteFlags& f, CliIo& io) {
  if (f.recurse) {
    if (Status s = kv.deleteTree(key); !s.isOk()) {
      io.err << "Error! Did not delete prefix " << key << ": " << s.message() << "\n";
      return 1;
    }
    io.out << "Success! Deleted keys with prefix: " << key << "\n";
    return 0;
  }
  if (f.cas) {
    auto ok = kv.deleteCas(key, f.modify_index);
    if (!ok.isOk() || !*ok) {
      io.err << "Error! Did not delete key " << key << ": "
             << (ok.isOk() ? "CAS failed" : ok.status().message()) << "\n";
      return 1;
    }
  } else if (Status s = kv.deleteKey(key); !s.isOk()) {
    io.err << "Error deleting key " << key << ": " << s.message() << "\n";
    return 1;
  }
  io.out << "Success! Deleted key: " << key << "\n";
  return 0;
}

}  // namespace

int runKvDelete(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  DeleteFlags f;
  addHttpFlags(fs, &f.http);
  fs.addBool("cas", &f.cas, "Check-And-Set: delete only if -modify-index matches the key's.");
  fs.addUint64("modify-index", &f.modify_index, "The ModifyIndex the key must have, with -cas.");
  fs.addBool("recurse", &f.recurse, "Delete every key which starts with the prefix.");
  if (auto code = parseFlags(fs, args, commandHelp(kHelp, fs), io)) return *code;
  if (fs.args().size() > 1) {
    io.err << "Too many arguments (expected 1, got " << fs.args().size() << ")\n";
    return 1;
  }
  std::string key = fs.args().empty() ? "" : fs.args()[0];
  if (!key.empty() && key[0] == '/') key.erase(0, 1);
  if (auto problem = checkArgs(key, f)) {
    io.err << *problem << "\n";
    return 1;
  }
  auto api = connectApi(f.http, io);
  if (!api) return 1;
  return run(KvClient(*api), key, f, io);
}

}  // namespace cairn::cli
