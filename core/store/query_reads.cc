// StateStore's prepared-query reads. Each is one consistent snapshot reporting the queries
// table's index (blocking GET /v1/query waits on it).
#include "core/store/prepared_query.h"
#include "core/store/state_snapshot.h"
#include "core/store/state_store.h"

namespace cairn::store {

QueryList StateStore::preparedQueries() const {
  Snapshot snap(db_, may_have_floor_.load());
  QueryList out;
  snap.catalog().scanPreparedQueries([&](const v1::PreparedQuery& q) { out.queries.push_back(q); });
  out.index = snap.report(snap.catalog().tableIndex(CatalogIndex::kPreparedQueries));
  return out;
}

QueryRead StateStore::preparedQuery(std::string_view id) const {
  Snapshot snap(db_, may_have_floor_.load());
  CatalogTable& c = snap.catalog();
  return {c.preparedQuery(id), snap.report(c.tableIndex(CatalogIndex::kPreparedQueries))};
}

QueryRead StateStore::resolvePreparedQuery(std::string_view id_or_name) const {
  Snapshot snap(db_, may_have_floor_.load());
  CatalogTable& c = snap.catalog();
  QueryRead out{std::nullopt, snap.report(c.tableIndex(CatalogIndex::kPreparedQueries))};
  if (id_or_name.empty()) return out;  // never the first unnamed query
  out.query = c.preparedQuery(id_or_name);
  if (!out.query) out.query = c.preparedQueryByName(id_or_name);
  if (out.query) return out;
  std::string wanted = lowercase(id_or_name);
  c.scanPreparedQueries([&](const v1::PreparedQuery& q) {
    if (!isTemplate(q) || !wanted.starts_with(lowercase(q.name()))) return;
    if (!out.query || q.name().size() > out.query->name().size()) out.query = q;
  });
  return out;
}

}  // namespace cairn::store
