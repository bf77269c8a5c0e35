#include "core/store/state_image.h"

#include <set>
#include <string>

#include "cairn/v1/query.pb.h"
#include "core/base/gzip.h"

namespace cairn::store {
namespace {

constexpr std::string_view kAppliedIndexName = "applied_index";  // kept out of table_indexes

Status invalid(const std::string& what) { return invalidArgument("invalid snapshot: " + what); }

Status checkHeader(const v1::StateImage& image) {
  if (image.format() != kStateImageFormat) return invalid("not a Cairn state image");
  if (image.version() != kStateImageVersion) {
    return invalid("unsupported image version " + std::to_string(image.version()) +
                   " (this build reads version " + std::to_string(kStateImageVersion) + ")");
  }
  return Status::ok();
}

Status checkIndex(uint64_t index, uint64_t applied, const std::string& what) {
  if (index <= applied) return Status::ok();
  return invalid(what + " has index " + std::to_string(index) +
                 ", above the image's applied index " + std::to_string(applied));
}

Status checkTableIndexes(const v1::StateImage& image) {
  std::set<std::string> names;
  for (const auto& t : image.table_indexes()) {
    if (t.name().empty() || t.name() == kAppliedIndexName) {
      return invalid("reserved table index name \"" + t.name() + "\"");
    }
    if (!names.insert(t.name()).second) return invalid("table index \"" + t.name() + "\" repeated");
    CAIRN_RETURN_IF_ERROR(checkIndex(t.index(), image.applied_index(), "table index " + t.name()));
  }
  return Status::ok();
}

Status checkKv(const v1::StateImage& image) {
  const std::string* previous = nullptr;
  for (const auto& e : image.kv()) {
    if (previous != nullptr && !(*previous < e.key())) return invalid("KV keys out of order");
    previous = &e.key();
    const v1::StoredKvEntry& entry = e.entry();
    if (entry.create_index() > entry.modify_index()) {
      return invalid("key \"" + e.key() + "\" was modified before it was created");
    }
    CAIRN_RETURN_IF_ERROR(checkIndex(entry.modify_index(), image.applied_index(), "a KV entry"));
  }
  return Status::ok();
}

// Tombstones are sorted and disjoint from the live keys (a write removes the key's tombstone).
Status checkTombstones(const v1::StateImage& image) {
  const std::string* previous = nullptr;
  int live = 0;
  for (const auto& t : image.tombstones()) {
    if (previous != nullptr && !(*previous < t.key())) return invalid("tombstones out of order");
    previous = &t.key();
    while (live < image.kv_size() && image.kv(live).key() < t.key()) ++live;
    if (live < image.kv_size() && image.kv(live).key() == t.key()) {
      return invalid("key \"" + t.key() + "\" is both live and deleted");
    }
    CAIRN_RETURN_IF_ERROR(checkIndex(t.index(), image.applied_index(), "a tombstone"));
  }
  return Status::ok();
}

template <typename Message>
bool parses(const std::string& bytes) {
  Message m;
  return m.ParseFromString(bytes);
}

// Each row must be of a kind core/store/catalog_table.h defines, with a value that decodes.
bool validCatalogRow(const v1::ImageRow& row) {
  std::string_view key = row.key();
  if (key.size() < 2 || key[1] != '/') return false;
  switch (key[0]) {
    case 'n':
      return parses<v1::CatalogNode>(row.value());
    case 's':
      return parses<v1::CatalogService>(row.value());
    case 'c':
      return parses<v1::CatalogCheck>(row.value());
    case 'x':
      return parses<v1::StoredSession>(row.value());
    case 'e':
      return key.size() == 10 && parses<v1::UserEvent>(row.value());
    case 'm':
      return parses<v1::MemberRecord>(row.value());
    case 'o':  // operator settings: o/autopilot
      return key == "o/autopilot" && parses<v1::AutopilotConfig>(row.value());
    case 'S':
    case 'N':
    case 'l':
      return row.value().empty();
    case 'a':
      return parses<v1::AclToken>(row.value());
    case 'p':
      return parses<v1::AclPolicy>(row.value());
    case 'r':
      return parses<v1::AclRole>(row.value());
    case 'q':
      return parses<v1::PreparedQuery>(row.value());
    case 'b':  // queries by session
      return row.value().empty();
    case 'A':  // secret -> accessor, name -> ID
    case 'P':
    case 'R':
    case 'Q':
      return !row.value().empty();
    default:
      return false;
  }
}

Status checkCatalog(const v1::StateImage& image) {
  const std::string* previous = nullptr;
  for (const auto& row : image.catalog()) {
    if (previous != nullptr && !(*previous < row.key()))
      return invalid("catalog rows out of order");
    previous = &row.key();
    if (!validCatalogRow(row)) return invalid("undecodable catalog row");
  }
  return Status::ok();
}

}  // namespace

StatusOr<v1::StateImage> parseStateImage(std::string_view bytes) {
  if (bytes.size() > kMaxStateImageBytes) return tooLarge("snapshot too large");
  v1::StateImage image;
  if (!image.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return invalid("not a Cairn state image (undecodable)");
  }
  CAIRN_RETURN_IF_ERROR(checkHeader(image));
  CAIRN_RETURN_IF_ERROR(checkTableIndexes(image));
  CAIRN_RETURN_IF_ERROR(checkKv(image));
  CAIRN_RETURN_IF_ERROR(checkTombstones(image));
  CAIRN_RETURN_IF_ERROR(checkCatalog(image));
  return image;
}

StatusOr<std::string> decodeSnapshot(std::string_view body, uint64_t* applied_index) {
  std::string bytes;
  if (isGzip(body)) {
    auto raw = gzipDecompress(body, kMaxStateImageBytes);
    if (!raw.isOk()) {
      if (raw.status().code() == StatusCode::kTooLarge) return tooLarge("snapshot too large");
      return invalid(raw.status().message());
    }
    bytes = std::move(*raw);
  } else {
    bytes.assign(body);
  }
  auto image = parseStateImage(bytes);
  if (!image.isOk()) return image.status();
  if (applied_index != nullptr) *applied_index = image->applied_index();
  return bytes;
}

}  // namespace cairn::store
