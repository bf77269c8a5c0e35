#include "core/store/query_apply.h"

#include <optional>

#include "core/store/prepared_query.h"

namespace cairn::store {
namespace {

TxnOutcome refused(std::string what) {
  return TxnOutcome{false, {}, {TxnError{0, std::move(what), {}}}};
}

// Names and IDs share one namespace (Consul: a name may not "steal" another query's ID).
std::optional<std::string> nameConflict(CatalogTable& c, const v1::PreparedQuery& q) {
  if (auto named = c.preparedQueryByName(q.id()); named && named->id() != q.id()) {
    return "ID '" + q.id() + "' aliases an existing query name";
  }
  if (q.name().empty()) return std::nullopt;
  if (auto named = c.preparedQueryByName(q.name()); named && named->id() != q.id()) {
    return "Name '" + q.name() + "' aliases an existing query name";
  }
  if (auto by_id = c.preparedQuery(q.name()); by_id && by_id->id() != q.id()) {
    return "Name '" + q.name() + "' aliases an existing query ID";
  }
  return std::nullopt;
}

// At most one template with an empty name (it matches every name).
bool anotherUnnamedTemplate(CatalogTable& c, const v1::PreparedQuery& q) {
  if (!q.name().empty() || !isTemplate(q)) return false;
  bool found = false;
  c.scanPreparedQueries([&](const v1::PreparedQuery& other) {
    found |= other.id() != q.id() && other.name().empty() && isTemplate(other);
  });
  return found;
}

}  // namespace

TxnOutcome applyPreparedQuerySet(Tables& t, uint64_t index, const v1::PreparedQuerySet& cmd) {
  CatalogTable& c = t.catalog;
  v1::PreparedQuery q = cmd.query();
  if (q.id().empty()) return refused("Missing query ID");
  auto existing = c.preparedQuery(q.id());
  if (cmd.create() && existing) return refused("ID '" + q.id() + "' is already in use");
  if (!cmd.create() && !existing) {
    return refused("Cannot modify non-existent prepared query: '" + q.id() + "'");
  }
  if (auto conflict = nameConflict(c, q)) return refused(*conflict);
  if (anotherUnnamedTemplate(c, q)) {
    return refused("A query template with an empty name already exists");
  }
  if (!q.session().empty() && !c.session(q.session())) {
    return refused("Invalid session \"" + q.session() + "\"");
  }
  q.set_create_index(existing ? existing->create_index() : index);
  q.set_modify_index(index);
  c.putPreparedQuery(q);
  return {};
}

TxnOutcome applyPreparedQueryDelete(Tables& t, uint64_t index, const v1::PreparedQueryDelete& cmd) {
  if (auto q = t.catalog.preparedQuery(cmd.id())) t.catalog.removePreparedQuery(*q, index);
  return {};
}

void deleteSessionQueries(Tables& t, uint64_t index, const std::string& session) {
  for (const std::string& id : t.catalog.sessionQueryIds(session)) {
    if (auto q = t.catalog.preparedQuery(id)) t.catalog.removePreparedQuery(*q, index);
  }
}

}  // namespace cairn::store
