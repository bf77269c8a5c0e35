// `cairn kv get`: consul kv get's flags, output formats and exit codes.
#include <iostream>

#include "agent/cli/commands.h"
#include "agent/cli/kv_client.h"

namespace cairn::cli {
namespace {

constexpr char kHelp[] = R"(Usage: cairn kv get [options] [KEY_OR_PREFIX]

  Retrieves the value from the key-value store at the given key name. If no
  key exists with that name, an error is returned. If a key exists with that
  name but has no data, nothing is returned. If the name or prefix is omitted,
  it defaults to "" which is the root of the key-value store.

      $ cairn kv get foo
      $ cairn kv get -detailed foo

  To treat the path as a prefix and list all pairs (key:value) or only the keys
  which start with it, use -recurse or -keys:

      $ cairn kv get -recurse foo
      $ cairn kv get -keys foo
)";

struct GetFlags {
  HttpOptions http;
  bool base64 = false, detailed = false, keys = false, recurse = false;
  std::string separator = "/";
};

void defineGetFlags(FlagSet& fs, GetFlags& f) {
  addHttpFlags(fs, &f.http);
  fs.addBool("base64", &f.base64, "Base64 encode the value.");
  fs.addBool("detailed", &f.detailed, "Print all metadata of the pair, not only the value.");
  fs.addBool("keys", &f.keys, "List the keys which start with the prefix, not their values.");
  fs.addBool("recurse", &f.recurse, "Print every pair whose key starts with the prefix.");
  fs.addString("separator", &f.separator,
               "With -keys: list keys only up to the first separator after the prefix "
               "(default \"/\").");
}

void printPairs(const std::vector<KvPair>& pairs, const GetFlags& f, bool keys_only, CliIo& io) {
  for (size_t i = 0; i < pairs.size(); ++i) {
    const KvPair& p = pairs[i];
    if (f.detailed) {
      io.out << formatDetailed(p, f.base64 && !keys_only, keys_only) << "\n";
      if (i + 1 < pairs.size()) io.out << "\n";
    } else if (keys_only) {
      io.out << p.key << "\n";
    } else {
      io.out << p.key << ":" << (f.base64 ? base64Encode(p.value) : p.value) << "\n";
    }
  }
}

int queryError(const Status& s, CliIo& io) {
  io.err << "Error querying Cairn agent: " << s.message() << "\n";
  return 1;
}

int getOne(const KvClient& kv, const std::string& key, const GetFlags& f, CliIo& io) {
  auto pair = kv.get(key);
  if (!pair.isOk()) return queryError(pair.status(), io);
  if (!pair->has_value()) {
    io.err << "Error! No key exists at: " << key << "\n";
    return 1;
  }
  const KvPair& p = **pair;
  if (f.detailed) {
    io.out << formatDetailed(p, f.base64, false) << "\n";
  } else {
    io.out << (f.base64 ? base64Encode(p.value) : p.value) << "\n";
  }
  return 0;
}

int run(const KvClient& kv, const std::string& key, const GetFlags& f, CliIo& io) {
  if (f.keys && !f.recurse) {
    auto keys = kv.keys(key, f.separator);
    if (!keys.isOk()) return queryError(keys.status(), io);
    for (const std::string& k : *keys) io.out << k << "\n";
    return 0;
  }
  if (f.recurse) {
    auto pairs = kv.list(key);
    if (!pairs.isOk()) return queryError(pairs.status(), io);
    printPairs(*pairs, f, f.keys, io);
    return 0;
  }
  return getOne(kv, key, f, io);
}

}  // namespace

int runKvGet(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  GetFlags f;
  defineGetFlags(fs, f);
  if (auto code = parseFlags(fs, args, commandHelp(kHelp, fs), io)) return *code;
  if (fs.args().size() > 1) {
    io.err << "Too many arguments (expected 1, got " << fs.args().size() << ")\n";
    return 1;
  }
  std::string key = fs.args().empty() ? "" : fs.args()[0];
  if (!key.empty() && key[0] == '/') key.erase(0, 1);
  if (key.empty() && !f.recurse && !f.keys) {
    io.err << "Error! Missing KEY argument\n";
    return 1;
  }
  auto api = connectApi(f.http, io);
  if (!api) return 1;
  return run(KvClient(*api), key, f, io);
}

}  // namespace cairn::cli
