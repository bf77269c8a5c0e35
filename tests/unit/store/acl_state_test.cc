// ACL state: the Acl* commands through StateStore::apply, the reads, table indexes, watch keys and
// snapshots (state images) carrying the ACL rows.
#include <filesystem>

#include "core/store/acl_apply.h"
#include "core/store/state_image.h"
#include "tests/unit/store/store_fixture.h"

namespace cairn::store {
namespace {

using testing::StoreFixture;

class AclStateTest : public StoreFixture {
 protected:
  TxnOutcome apply(const v1::Command& cmd) {
    LogEntry entry{store_->appliedIndex() + 1, &cmd};
    return store_->apply(std::span(&entry, 1), false).at(0);
  }

  static v1::AclToken token(std::string accessor, std::string secret,
                            std::vector<std::string> policy_ids = {}) {
    v1::AclToken t;
    t.set_accessor_id(std::move(accessor));
    t.set_secret_id(std::move(secret));
    for (auto& id : policy_ids) t.add_policies()->set_id(std::move(id));
    return t;
  }

  TxnOutcome bootstrap(std::string secret) {
    v1::Command cmd;
    auto* b = cmd.mutable_acl_bootstrap();
    *b->mutable_token() = token("boot-accessor", std::move(secret));
    b->mutable_token()->set_management(true);
    b->mutable_management_policy()->set_id(std::string(kManagementPolicyId));
    b->mutable_management_policy()->set_name(std::string(kManagementPolicyName));
    *b->mutable_anonymous() =
        token(std::string(kAnonymousAccessorId), std::string(kAnonymousSecretId));
    return apply(cmd);
  }

  TxnOutcome setToken(const v1::AclToken& t, bool create) {
    v1::Command cmd;
    *cmd.mutable_acl_token_set()->mutable_token() = t;
    cmd.mutable_acl_token_set()->set_create(create);
    return apply(cmd);
  }

  TxnOutcome setPolicy(std::string id, std::string name, std::string rules, bool create) {
    v1::Command cmd;
    auto* p = cmd.mutable_acl_policy_set()->mutable_policy();
    p->set_id(std::move(id));
    p->set_name(std::move(name));
    p->set_rules(std::move(rules));
    cmd.mutable_acl_policy_set()->set_create(create);
    return apply(cmd);
  }

  static std::string error(const TxnOutcome& o) {
    return o.errors.empty() ? "" : o.errors.front().what;
  }
};

TEST_F(AclStateTest, BootstrapOnceThenRefusedWithTheResetIndex) {
  EXPECT_EQ(store_->aclBootstrapIndex(), 0u);
  ASSERT_TRUE(bootstrap("s3cret").ok);
  uint64_t at = store_->appliedIndex();
  EXPECT_EQ(store_->aclBootstrapIndex(), at);
  auto second = bootstrap("other");
  EXPECT_FALSE(second.ok);
  EXPECT_EQ(error(second),
            "ACL bootstrap no longer allowed (reset index: " + std::to_string(at) + ")");
  auto identity = store_->aclIdentity("s3cret");
  ASSERT_TRUE(identity.has_value());
  EXPECT_TRUE(identity->token.management());
  EXPECT_EQ(identity->token.create_index(), at);
  EXPECT_FALSE(store_->aclIdentity("other").has_value());
  // The built-in policy and the anonymous token came with it.
  EXPECT_TRUE(store_->aclPolicy(kManagementPolicyName, /*by_name=*/true).row.has_value());
  EXPECT_TRUE(store_->aclIdentity(kAnonymousSecretId).has_value());
  EXPECT_EQ(store_->aclTokens().rows.size(), 2u);
}

TEST_F(AclStateTest, TokensCreateUpdateDeleteWithIndexes) {
  ASSERT_TRUE(setPolicy("p1", "readers", "key_prefix \"\" { policy = \"read\" }", true).ok);
  ASSERT_TRUE(setToken(token("a1", "s1", {"p1"}), true).ok);
  uint64_t created = store_->appliedIndex();
  EXPECT_EQ(error(setToken(token("a1", "s9"), true)),
            "Invalid Token: AccessorID is already in use");
  EXPECT_EQ(error(setToken(token("a2", "s1"), true)), "Invalid Token: SecretID is already in use");
  EXPECT_EQ(error(setToken(token("a3", "s3"), false)), "Cannot find token to update");
  EXPECT_EQ(error(setToken(token("a1", "changed"), false)),
            "Changing a token's SecretID is not permitted");

  v1::AclToken updated = token("a1", "s1", {"p1"});
  updated.set_description("now described");
  ASSERT_TRUE(setToken(updated, false).ok);
  auto read = store_->aclToken("a1");
  ASSERT_TRUE(read.row.has_value());
  EXPECT_EQ(read.row->description(), "now described");
  EXPECT_EQ(read.row->create_index(), created);
  EXPECT_EQ(read.row->modify_index(), store_->appliedIndex());
  EXPECT_EQ(read.index, store_->appliedIndex());

  auto identity = store_->aclIdentity("s1");
  ASSERT_TRUE(identity.has_value());
  ASSERT_EQ(identity->policies.size(), 1u);
  EXPECT_EQ(identity->policies[0].name(), "readers");

  v1::Command del;
  del.mutable_acl_token_delete()->set_accessor_id("a1");
  ASSERT_TRUE(apply(del).ok);
  EXPECT_FALSE(store_->aclToken("a1").row.has_value());
  EXPECT_FALSE(store_->aclIdentity("s1").has_value());  // the secret row went too
  EXPECT_EQ(store_->aclTokens().index, store_->appliedIndex());
}

TEST_F(AclStateTest, PolicyNamesAreUniqueAndRenamesMoveTheNameRow) {
  ASSERT_TRUE(setPolicy("p1", "one", "", true).ok);
  EXPECT_EQ(error(setPolicy("p2", "one", "", true)),
            "Invalid Policy: A Policy with Name \"one\" already exists");
  ASSERT_TRUE(setPolicy("p1", "renamed", "", false).ok);
  EXPECT_FALSE(store_->aclPolicy("one", true).row.has_value());
  EXPECT_EQ(store_->aclPolicy("renamed", true).row->id(), "p1");
  ASSERT_TRUE(setPolicy("p2", "one", "", true).ok);  // the old name is free again
  v1::Command del;
  del.mutable_acl_policy_delete()->set_id(std::string(kManagementPolicyId));
  EXPECT_FALSE(apply(del).ok);
  del.mutable_acl_policy_delete()->set_id("p1");
  ASSERT_TRUE(apply(del).ok);
  EXPECT_EQ(store_->aclPolicies().rows.size(), 1u);
}

TEST_F(AclStateTest, RolesBringTheirPoliciesToTokens) {
  ASSERT_TRUE(setPolicy("p1", "one", "", true).ok);
  ASSERT_TRUE(setPolicy("p2", "two", "", true).ok);
  v1::Command role;
  auto* r = role.mutable_acl_role_set()->mutable_role();
  r->set_id("r1");
  r->set_name("ops");
  r->add_policies()->set_id("p2");
  r->add_policies()->set_id("p1");
  role.mutable_acl_role_set()->set_create(true);
  ASSERT_TRUE(apply(role).ok);
  v1::AclToken t = token("a1", "s1", {"p1", "missing"});
  t.add_roles()->set_id("r1");
  ASSERT_TRUE(setToken(t, true).ok);
  auto identity = store_->aclIdentity("s1");
  ASSERT_TRUE(identity.has_value());
  ASSERT_EQ(identity->policies.size(), 2u);  // p1 once, p2 through the role, missing dropped
  EXPECT_EQ(identity->policies[0].id(), "p1");
  EXPECT_EQ(identity->policies[1].id(), "p2");
  EXPECT_EQ(identity->roles.size(), 1u);
  EXPECT_EQ(store_->aclRole("ops", true).row->id(), "r1");
}

TEST_F(AclStateTest, ChangesWakeTheTablesWatchers) {
  bool policies_woken = false;
  bool tokens_woken = false;
  hub_.watch(WatchTarget{catalogWatchKey(CatalogIndex::kAclPolicies), false}, hub_.lastIndex(),
             [&] { policies_woken = true; });
  auto tokens = hub_.watch(WatchTarget{catalogWatchKey(CatalogIndex::kAclTokens), false},
                           hub_.lastIndex(), [&] { tokens_woken = true; });
  ASSERT_TRUE(setPolicy("p1", "one", "", true).ok);
  EXPECT_TRUE(policies_woken);
  EXPECT_FALSE(tokens_woken);
  hub_.cancel(tokens);
}

TEST_F(AclStateTest, SnapshotsCarryTheAclState) {
  ASSERT_TRUE(bootstrap("s3cret").ok);
  ASSERT_TRUE(setPolicy("p1", "one", "operator = \"read\"", true).ok);
  ASSERT_TRUE(setToken(token("a1", "s1", {"p1"}), true).ok);
  std::string image = store_->image();
  ASSERT_TRUE(parseStateImage(image).isOk()) << parseStateImage(image).status().message();

  std::filesystem::path other_dir = dir_.string() + "-other";
  std::filesystem::remove_all(other_dir);
  {
    auto db = storage::RocksDb::open(other_dir.string());
    ASSERT_TRUE(db.isOk());
    WatchHub hub;
    StateStore other(**db, hub);
    ASSERT_TRUE(other.restore(image).isOk());
    EXPECT_EQ(other.aclBootstrapIndex(), store_->aclBootstrapIndex());
    auto identity = other.aclIdentity("s1");
    ASSERT_TRUE(identity.has_value());
    EXPECT_EQ(identity->policies.at(0).rules(), "operator = \"read\"");
    EXPECT_EQ(other.aclTokens().index, store_->aclTokens().index);
    EXPECT_EQ(other.aclPolicies().index, store_->aclPolicies().index);
  }
  std::filesystem::remove_all(other_dir);
}

}  // namespace
}  // namespace cairn::store
