// CatalogTable's prepared-query rows: queries by ID, indexed by lowercase name and by the session
// they are bound to. See the row list in catalog_table.h.
#include "core/base/check.h"
#include "core/store/catalog_table.h"

namespace cairn::store {
namespace {

std::string queryRow(std::string_view id) { return "q/" + std::string(id); }
std::string nameRow(std::string_view name) { return "Q/" + lowercase(name); }
std::string sessionPrefix(std::string_view session) {
  return "b/" + std::string(session) + std::string(1, '\0');
}

v1::PreparedQuery decodeQuery(std::string_view bytes) {
  v1::PreparedQuery q;
  CHECK_MSG(q.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())),
            "corrupt prepared query row in the state store");
  return q;
}

}  // namespace

std::optional<v1::PreparedQuery> CatalogTable::preparedQuery(std::string_view id) {
  if (id.empty()) return std::nullopt;
  auto bytes = getRow(queryRow(id));
  if (!bytes) return std::nullopt;
  return decodeQuery(*bytes);
}

std::optional<v1::PreparedQuery> CatalogTable::preparedQueryByName(std::string_view name) {
  if (name.empty()) return std::nullopt;  // unnamed queries are not indexed by name
  auto id = getRow(nameRow(name));
  if (!id) return std::nullopt;
  return preparedQuery(*id);
}

void CatalogTable::scanPreparedQueries(const std::function<void(const v1::PreparedQuery&)>& visit) {
  scanRows("q/", [&](std::string_view, std::string_view v) { visit(decodeQuery(v)); });
}

std::vector<std::string> CatalogTable::sessionQueryIds(std::string_view session) {
  std::vector<std::string> ids;
  std::string prefix = sessionPrefix(session);
  scanRows(prefix, [&](std::string_view key, std::string_view) {
    ids.emplace_back(key.substr(prefix.size()));
  });
  return ids;
}

void CatalogTable::putPreparedQuery(const v1::PreparedQuery& query) {
  if (auto old = preparedQuery(query.id())) {
    if (!old->name().empty()) deleteRow(nameRow(old->name()));
    if (!old->session().empty()) deleteRow(sessionPrefix(old->session()) + old->id());
  }
  putRow(queryRow(query.id()), query.SerializeAsString());
  if (!query.name().empty()) putRow(nameRow(query.name()), query.id());
  if (!query.session().empty()) putRow(sessionPrefix(query.session()) + query.id(), "");
  bumpTable(CatalogIndex::kPreparedQueries, query.modify_index());
}

void CatalogTable::removePreparedQuery(const v1::PreparedQuery& query, uint64_t index) {
  deleteRow(queryRow(query.id()));
  if (!query.name().empty()) deleteRow(nameRow(query.name()));
  if (!query.session().empty()) deleteRow(sessionPrefix(query.session()) + query.id());
  bumpTable(CatalogIndex::kPreparedQueries, index);
}

}  // namespace cairn::store
