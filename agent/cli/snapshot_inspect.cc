// `cairn snapshot inspect FILE`: consul snapshot inspect's summary of a saved snapshot (the body
// of GET /v1/snapshot, a gzip-compressed state image): ID, size, index, term, version, then the
// count and size of each type of record, largest first. Reads only the file; no agent needed.
// Cairn's image does not record the Raft term, so Term is 0 and the ID is
// "<term>-<index>-<file's modification time in ms>", consul's shape.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "agent/cli/commands.h"
#include "core/store/state_image.h"

namespace cairn::cli {
namespace {

constexpr char kHelp[] = R"(Usage: cairn snapshot inspect [options] FILE

  Displays information about a snapshot file on disk (one written by
  "cairn snapshot save"): its index and version, and how many records of each
  type it holds. A damaged file is reported and the command exits with 1.

      $ cairn snapshot inspect backup.snap
)";

struct TypeStats {
  uint64_t count = 0;
  uint64_t bytes = 0;
};

// The record type of a catalog row, by its key prefix (core/store/catalog_table.h); empty for
// the secondary index rows, which only repeat what a primary row holds.
std::string catalogType(const std::string& key) {
  if (key.size() < 2 || key[1] != '/') return "Unknown";
  switch (key[0]) {
    case 'n':
      return "Node";
    case 's':
      return "Service";
    case 'c':
      return "Check";
    case 'x':
      return "Session";
    case 'e':
      return "Event";
    case 'a':
      return "ACLToken";
    case 'p':
      return "ACLPolicy";
    case 'r':
      return "ACLRole";
    case 'm':
      return "Member";
    case 'o':
      return "Autopilot";
    case 'S':
    case 'N':
    case 'l':
    case 'A':
    case 'P':
    case 'R':
      return "";
    default:
      return "Unknown";
  }
}

// Consul's ByteSize: 27B, 47.6KB, 1.2MB.
std::string byteSize(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KB", "MB", "GB", "TB"};
  if (bytes < 1024) return std::to_string(bytes) + "B";
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 4) {
    v /= 1024;
    ++unit;
  }
  char out[32];
  std::snprintf(out, sizeof out, "%.1f%s", v, kUnits[unit]);
  return out;
}

std::map<std::string, TypeStats> typeStats(const v1::StateImage& image) {
  std::map<std::string, TypeStats> stats;
  auto add = [&stats](const std::string& type, size_t bytes) {
    TypeStats& s = stats[type];
    ++s.count;
    s.bytes += bytes;
  };
  for (const auto& e : image.kv()) add("KVS", e.ByteSizeLong());
  for (const auto& t : image.tombstones()) add("Tombstone", t.ByteSizeLong());
  for (const auto& row : image.catalog()) {
    std::string type = catalogType(row.key());
    if (!type.empty()) add(type, row.ByteSizeLong());
  }
  for (const auto& i : image.table_indexes()) add("Index", i.ByteSizeLong());
  return stats;
}

void printSummary(const v1::StateImage& image, uint64_t file_size, int64_t mtime_ms,
                  std::ostream& out) {
  char line[128];
  out << " ID           0-" << image.applied_index() << "-" << mtime_ms << "\n"
      << " Size         " << file_size << "\n"
      << " Index        " << image.applied_index() << "\n"
      << " Term         0\n"
      << " Version      " << image.version() << "\n\n";
  auto stats = typeStats(image);
  std::vector<std::pair<std::string, TypeStats>> rows(stats.begin(), stats.end());
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.second.bytes > b.second.bytes; });
  auto row = [&](const std::string& a, const std::string& b, const std::string& c) {
    std::snprintf(line, sizeof line, " %-28s%-11s%s\n", a.c_str(), b.c_str(), c.c_str());
    out << line;
  };
  row("Type", "Count", "Size");
  row("----", "----", "----");
  uint64_t total = 0;
  for (const auto& [type, s] : rows) {
    row(type, std::to_string(s.count), byteSize(s.bytes));
    total += s.bytes;
  }
  row("----", "----", "----");
  row("Total", "", byteSize(total));
}

}  // namespace

int runSnapshotInspect(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  if (auto code = parseFlags(fs, args, commandHelp(kHelp, fs), io)) return *code;
  if (fs.args().size() != 1) {
    io.err << (fs.args().empty() ? "Missing FILE argument\n"
                                 : "Too many arguments (expected 1, got " +
                                       std::to_string(fs.args().size()) + ")\n");
    return 1;
  }
  const std::string& file = fs.args()[0];
  std::ifstream in(file, std::ios::binary);
  struct stat st {};
  if (!in || ::stat(file.c_str(), &st) != 0) {
    io.err << "Error opening snapshot file: open " << file << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  std::ostringstream data;
  data << in.rdbuf();
  auto bytes = store::decodeSnapshot(data.str());
  if (!bytes.isOk()) {
    io.err << "Error inspecting snapshot " << file << ": " << bytes.status().message() << "\n";
    return 1;
  }
  v1::StateImage image;
  image.ParseFromString(*bytes);  // decodeSnapshot() parsed it already
  int64_t mtime_ms = int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1'000'000;
  printSummary(image, static_cast<uint64_t>(st.st_size), mtime_ms, io.out);
  return 0;
}

}  // namespace cairn::cli
