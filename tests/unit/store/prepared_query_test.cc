// Prepared queries: the table and its commands (unique names, sessions, snapshots), the lookup
// by ID, name and template prefix, template interpolation, validation and the execution filters.
#include "core/store/prepared_query.h"

#include <gtest/gtest.h>

#include "store_fixture.h"

namespace cairn::store::testing {
namespace {

v1::PreparedQuery query(std::string id, std::string name, std::string service) {
  v1::PreparedQuery q;
  q.set_id(std::move(id));
  q.set_name(std::move(name));
  q.mutable_service()->set_service(std::move(service));
  return q;
}

v1::PreparedQuery prefixTemplate(std::string id, std::string name, std::string service,
                                 std::string regexp = "") {
  v1::PreparedQuery q = query(std::move(id), std::move(name), std::move(service));
  q.mutable_template_()->set_type(std::string(kTemplateNamePrefixMatch));
  q.mutable_template_()->set_regexp(std::move(regexp));
  return q;
}

class PreparedQueryStoreTest : public StoreFixture {
 protected:
  TxnOutcome apply(v1::Command cmd) {
    LogEntry entry{store_->appliedIndex() + 1, &cmd};
    return store_->apply(std::span(&entry, 1), false).at(0);
  }
  TxnOutcome set(const v1::PreparedQuery& q, bool create = true) {
    v1::Command cmd;
    *cmd.mutable_prepared_query_set()->mutable_query() = q;
    cmd.mutable_prepared_query_set()->set_create(create);
    return apply(cmd);
  }
  TxnOutcome remove(std::string id) {
    v1::Command cmd;
    cmd.mutable_prepared_query_delete()->set_id(std::move(id));
    return apply(cmd);
  }
  void createSession(std::string id) {
    v1::Command node;
    node.mutable_catalog_register()->mutable_node()->set_node("n1");
    node.mutable_catalog_register()->mutable_node()->set_address("10.0.0.1");
    ASSERT_TRUE(apply(node).ok);
    v1::Command cmd;
    cmd.mutable_session_create()->mutable_session()->set_id(std::move(id));
    cmd.mutable_session_create()->mutable_session()->set_node("n1");
    ASSERT_TRUE(apply(cmd).ok);
  }
  void registerInstance(std::string node, std::string id, std::vector<std::string> tags,
                        std::string check_status, std::map<std::string, std::string> node_meta = {},
                        std::map<std::string, std::string> service_meta = {}) {
    v1::Command cmd;
    auto* r = cmd.mutable_catalog_register();
    r->mutable_node()->set_node(node);
    r->mutable_node()->set_address("10.0.0.9");
    for (auto& [k, v] : node_meta) (*r->mutable_node()->mutable_meta())[k] = v;
    r->mutable_service()->set_service("db");
    r->mutable_service()->set_id(id);
    for (auto& t : tags) r->mutable_service()->add_tags(t);
    for (auto& [k, v] : service_meta) (*r->mutable_service()->mutable_meta())[k] = v;
    auto* c = r->add_checks();
    c->set_check_id("chk-" + id);
    c->set_name("chk");
    c->set_status(check_status);
    c->set_service_id(id);
    ASSERT_TRUE(apply(cmd).ok);
  }
  static std::string why(const TxnOutcome& o) { return o.errors.empty() ? "" : o.errors[0].what; }
};

TEST_F(PreparedQueryStoreTest, CreateReadListUpdateDelete) {
  ASSERT_TRUE(set(query("id-1", "web", "web")).ok);
  uint64_t created = store_->appliedIndex();
  QueryRead r = store_->preparedQuery("id-1");
  ASSERT_TRUE(r.query);
  EXPECT_EQ(r.query->name(), "web");
  EXPECT_EQ(r.query->create_index(), created);
  EXPECT_EQ(r.index, created);

  v1::PreparedQuery changed = query("id-1", "web-renamed", "web2");
  ASSERT_TRUE(set(changed, false).ok);
  r = store_->preparedQuery("id-1");
  EXPECT_EQ(r.query->create_index(), created);
  EXPECT_EQ(r.query->modify_index(), store_->appliedIndex());
  EXPECT_FALSE(store_->resolvePreparedQuery("web").query);  // the old name is gone
  EXPECT_EQ(store_->resolvePreparedQuery("WEB-Renamed").query->id(), "id-1");

  ASSERT_TRUE(set(query("id-2", "other", "x")).ok);
  EXPECT_EQ(store_->preparedQueries().queries.size(), 2u);
  ASSERT_TRUE(remove("id-1").ok);
  EXPECT_FALSE(store_->preparedQuery("id-1").query);
  EXPECT_EQ(store_->preparedQueries().queries.size(), 1u);
  EXPECT_EQ(store_->preparedQueries().index, store_->appliedIndex());
  EXPECT_TRUE(remove("never-existed").ok);
}

TEST_F(PreparedQueryStoreTest, NamesAreUniqueAndDoNotAliasIds) {
  ASSERT_TRUE(set(query("id-1", "web", "web")).ok);
  EXPECT_EQ(why(set(query("id-2", "WEB", "web"))), "Name 'WEB' aliases an existing query name");
  EXPECT_EQ(why(set(query("id-3", "id-1", "web"))), "Name 'id-1' aliases an existing query ID");
  EXPECT_EQ(why(set(query("web", "", "web"))), "ID 'web' aliases an existing query name");
  EXPECT_EQ(why(set(query("id-1", "x", "web"))), "ID 'id-1' is already in use");
  EXPECT_EQ(why(set(query("id-9", "x", "web"), false)),
            "Cannot modify non-existent prepared query: 'id-9'");
  ASSERT_TRUE(set(prefixTemplate("t-1", "", "any")).ok);
  EXPECT_EQ(why(set(prefixTemplate("t-2", "", "any"))),
            "A query template with an empty name already exists");
}

TEST_F(PreparedQueryStoreTest, SessionMustExistAndItsInvalidationDeletesTheQuery) {
  v1::PreparedQuery bound = query("id-1", "", "web");
  bound.set_session("s-1");
  EXPECT_EQ(why(set(bound)), "Invalid session \"s-1\"");
  createSession("s-1");
  ASSERT_TRUE(set(bound).ok);
  ASSERT_TRUE(set(query("id-2", "kept", "web")).ok);
  v1::Command destroy;
  destroy.mutable_session_destroy()->set_id("s-1");
  ASSERT_TRUE(apply(destroy).ok);
  EXPECT_FALSE(store_->preparedQuery("id-1").query);
  EXPECT_TRUE(store_->preparedQuery("id-2").query);
}

TEST_F(PreparedQueryStoreTest, QueriesSurviveSnapshotAndRestore) {
  ASSERT_TRUE(set(query("id-1", "web", "web")).ok);
  ASSERT_TRUE(set(prefixTemplate("t-1", "geo-", "${name.suffix}")).ok);
  std::string image = store_->image();
  ASSERT_TRUE(remove("id-1").ok);
  ASSERT_TRUE(store_->restore(image).isOk());
  EXPECT_EQ(store_->preparedQueries().queries.size(), 2u);
  EXPECT_EQ(store_->resolvePreparedQuery("web").query->id(), "id-1");
  EXPECT_EQ(store_->resolvePreparedQuery("geo-db").query->id(), "t-1");
}

TEST_F(PreparedQueryStoreTest, ResolveByIdThenNameThenLongestTemplatePrefix) {
  ASSERT_TRUE(set(prefixTemplate("t-all", "", "catch-all")).ok);
  ASSERT_TRUE(set(prefixTemplate("t-geo", "geo-", "geo")).ok);
  ASSERT_TRUE(set(prefixTemplate("t-geo-db", "geo-db-", "geo-db")).ok);
  ASSERT_TRUE(set(query("id-1", "geo-db-exact", "exact")).ok);
  EXPECT_EQ(store_->resolvePreparedQuery("id-1").query->id(), "id-1");
  EXPECT_EQ(store_->resolvePreparedQuery("geo-db-exact").query->id(), "id-1");
  EXPECT_EQ(store_->resolvePreparedQuery("geo-db-primary").query->id(), "t-geo-db");
  EXPECT_EQ(store_->resolvePreparedQuery("GEO-cache").query->id(), "t-geo");
  EXPECT_EQ(store_->resolvePreparedQuery("anything").query->id(), "t-all");
  EXPECT_FALSE(store_->resolvePreparedQuery("").query);
}

TEST_F(PreparedQueryStoreTest, ExecuteFiltersHealthTagsAndMetadata) {
  registerInstance("n1", "db1", {"primary", "v1"}, "passing", {{"rack", "a"}}, {{"env", "prod"}});
  registerInstance("n2", "db2", {"replica"}, "warning", {{"rack", "b"}});
  registerInstance("n3", "db3", {"primary"}, "critical");
  ASSERT_TRUE(set(query("q-all", "all", "db")).ok);
  auto ids = [&](std::string_view name, std::string_view near = "") {
    auto run = executePreparedQuery(*store_, name, near, "agent-node");
    EXPECT_TRUE(run.isOk()) << run.status().toString();
    std::vector<std::string> out;
    if (run.isOk()) {
      for (const auto& i : run->instances) out.push_back(i.service.id());
    }
    return out;
  };
  EXPECT_EQ(ids("all"), (std::vector<std::string>{"db1", "db2"}));  // critical dropped

  v1::PreparedQuery passing = query("q-pass", "passing", "db");
  passing.mutable_service()->set_only_passing(true);
  ASSERT_TRUE(set(passing).ok);
  EXPECT_EQ(ids("passing"), (std::vector<std::string>{"db1"}));

  v1::PreparedQuery ignoring = query("q-ign", "ignoring", "db");
  ignoring.mutable_service()->add_ignore_check_ids("chk-db3");
  ASSERT_TRUE(set(ignoring).ok);
  EXPECT_EQ(ids("ignoring"), (std::vector<std::string>{"db1", "db2", "db3"}));

  v1::PreparedQuery tags = query("q-tags", "tags", "db");
  tags.mutable_service()->add_tags("PRIMARY");
  tags.mutable_service()->add_tags("!v1");
  ASSERT_TRUE(set(tags).ok);
  EXPECT_TRUE(ids("tags").empty());

  v1::PreparedQuery meta = query("q-meta", "meta", "db");
  (*meta.mutable_service()->mutable_node_meta())["rack"] = "a";
  (*meta.mutable_service()->mutable_service_meta())["env"] = "prod";
  ASSERT_TRUE(set(meta).ok);
  EXPECT_EQ(ids("meta"), (std::vector<std::string>{"db1"}));

  auto run = executePreparedQuery(*store_, "all", "_agent", "agent-node");
  EXPECT_EQ(run->near_node, "agent-node");
  EXPECT_EQ(executePreparedQuery(*store_, "all", "_ip", "a")->near_node, "");
  EXPECT_EQ(executePreparedQuery(*store_, "all", "n2", "a")->near_node, "n2");
  auto missing = executePreparedQuery(*store_, "nothing", "", "a");
  ASSERT_FALSE(missing.isOk());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "Query not found");
}

TEST_F(PreparedQueryStoreTest, ExecuteRendersTheTemplateForTheRequestedName) {
  registerInstance("n1", "db1", {"primary"}, "passing");
  ASSERT_TRUE(set(prefixTemplate("t-1", "svc-", "${name.suffix}")).ok);
  auto run = executePreparedQuery(*store_, "svc-db", "", "a");
  ASSERT_TRUE(run.isOk());
  EXPECT_EQ(run->query.service().service(), "db");
  EXPECT_EQ(run->instances.size(), 1u);
}

TEST(PreparedQueryTemplateTest, Interpolation) {
  TemplateVars vars{"geo-db-primary", "geo-", "db-primary", {"geo-db-primary", "db", "primary"}};
  EXPECT_EQ(*interpolate("${name.full}|${name.prefix}|${name.suffix}", vars),
            "geo-db-primary|geo-|db-primary");
  EXPECT_EQ(*interpolate("${match(1)}-${ match(2) }-${match(7)}", vars), "db-primary-");
  EXPECT_EQ(*interpolate("plain $${name.full} $x", vars), "plain ${name.full} $x");
  EXPECT_EQ(*interpolate("seg=${agent.segment}", vars), "seg=");
  EXPECT_EQ(interpolate("${name.fill}", vars).status().message(),
            "unknown variable accessed: name.fill");
  EXPECT_EQ(interpolate("${upper(name.full)}", vars).status().message(),
            "unknown function called: upper");
  EXPECT_FALSE(interpolate("${name.full", vars).isOk());
  EXPECT_FALSE(interpolate("${match(-1)}", vars).isOk());
  EXPECT_FALSE(interpolate("${match(x)}", vars).isOk());
}

TEST(PreparedQueryTemplateTest, RenderInterpolatesServiceSectionAndDropsEmptyTags) {
  v1::PreparedQuery t =
      prefixTemplate("t", "geo-db-", "mysql-${match(1)}", "^geo-db-(.*?)-([^\\-]+?)$");
  t.mutable_service()->add_tags("${match(2)}");
  t.mutable_service()->add_tags("${match(5)}");
  t.mutable_service()->add_tags("keep");
  (*t.mutable_service()->mutable_node_meta())["zone"] = "${match(1)}";
  t.set_dns_ttl("${match(9)}10s");
  v1::PreparedQuery rendered = *renderPreparedQuery(t, "geo-db-customer-primary");
  EXPECT_EQ(rendered.service().service(), "mysql-customer");
  EXPECT_EQ(rendered.service().tags_size(), 3);  // the empty one stays by default
  EXPECT_EQ(rendered.service().tags(0), "primary");
  EXPECT_EQ(rendered.service().node_meta().at("zone"), "customer");
  EXPECT_EQ(rendered.dns_ttl(), "10s");
  EXPECT_EQ(rendered.name(), "geo-db-");  // the name is the template's
  t.mutable_template_()->set_remove_empty_tags(true);
  rendered = *renderPreparedQuery(t, "geo-db-customer-primary");
  ASSERT_EQ(rendered.service().tags_size(), 2);
  EXPECT_EQ(rendered.service().tags(1), "keep");
  // No match: every group is empty.
  EXPECT_EQ(renderPreparedQuery(t, "geo-db-x")->service().service(), "mysql-");
  // A query that is not a template is never interpolated.
  v1::PreparedQuery plain = query("p", "plain", "${name.full}");
  EXPECT_EQ(renderPreparedQuery(plain, "plain")->service().service(), "${name.full}");
}

TEST(PreparedQueryValidationTest, ConsulsMessages) {
  auto message = [](const v1::PreparedQuery& q) {
    Status s = validatePreparedQuery(q);
    return s.isOk() ? std::string("ok") : s.message();
  };
  EXPECT_EQ(message(query("", "n", "web")), "ok");
  EXPECT_EQ(message(query("", "", "web")), "Must be bound to a session");
  EXPECT_EQ(message(query("", "n", "")), "Must provide a Service name to query");
  v1::PreparedQuery q = query("", "n", "web");
  q.mutable_service()->mutable_failover()->set_nearest_n(-1);
  EXPECT_EQ(message(q), "Bad NearestN '-1', must be >= 0");
  q = query("", "n", "web");
  q.set_dns_ttl("soon");
  EXPECT_EQ(message(q).rfind("Bad DNS TTL 'soon': ", 0), 0u);
  q.set_dns_ttl("-1s");
  EXPECT_EQ(message(q), "DNS TTL '-1s', must be >=0");
  q = query("", "n", "web");
  q.set_token("<hidden>");
  EXPECT_EQ(message(q).rfind("Bad Token '<hidden>'", 0), 0u);
  q = query("", "n", "web");
  (*q.mutable_service()->mutable_node_meta())["bad key"] = "v";
  EXPECT_EQ(message(q),
            "Couldn't load metadata pair ('bad key', 'v'): Key contains invalid "
            "characters");
  v1::PreparedQuery t = prefixTemplate("", "", "web");
  EXPECT_EQ(message(t), "ok");  // a template needs no name
  t.mutable_template_()->set_type("regexp_match");
  EXPECT_EQ(message(t), "Bad Type 'regexp_match'");
  t = prefixTemplate("", "x", "web", "(unclosed");
  EXPECT_EQ(message(t).rfind("Bad Regexp: ", 0), 0u);
  t = prefixTemplate("", "x", "${nope}");
  EXPECT_EQ(message(t), "Failed compiling template: unknown variable accessed: nope");
}

TEST(PreparedQueryAclTest, PrefixIsTheNameOrEmptyForTemplates) {
  EXPECT_EQ(queryAclPrefix(query("i", "web", "web")), "web");
  EXPECT_EQ(queryAclPrefix(prefixTemplate("i", "", "web")), "");
  EXPECT_EQ(queryAclPrefix(query("i", "", "web")), std::nullopt);
}

}  // namespace
}  // namespace cairn::store::testing
