#include "sidecar/registrar.h"

#include <gtest/gtest.h>

namespace cairn::sidecar {
namespace {

// The local registry as the registrar sees it, with every call recorded.
class FakeRegistry : public Registry {
 public:
  Status addService(local::ServiceRegistration r) override {
    calls.push_back("add " + r.service.id());
    services[r.service.id()] = std::move(r);
    return Status::ok();
  }
  Status removeService(const std::string& id) override {
    calls.push_back("remove " + id);
    if (services.erase(id) == 0) return notFound("no such service");
    return Status::ok();
  }
  std::set<std::string> managedServiceIds() const override {
    std::set<std::string> ids;
    for (const auto& [id, r] : services) {
      auto it = r.service.meta().find(kManagedByKey);
      if (it != r.service.meta().end() && it->second == kManagedByValue) ids.insert(id);
    }
    return ids;
  }
  Status setServiceMaintenance(const std::string& id, bool enable,
                               const std::string& reason) override {
    calls.push_back(std::string(enable ? "maint " : "unmaint ") + id + " (" + reason + ")");
    return Status::ok();
  }
  std::map<std::string, local::ServiceRegistration> services;
  std::vector<std::string> calls;
};

const PodIdentity kPod{"web-1", "shop", "10.1.2.3", "node-1", "uid-1"};

SidecarPlan planOf(StringMap annotations) {
  return planRegistrations(kPod, PodMetadata{std::move(annotations), {{"app", "web"}}}, {});
}

local::ServiceRegistration appService(const std::string& id) {
  local::ServiceRegistration r;
  r.service.set_id(id);
  r.service.set_service(id);
  return r;
}

TEST(Registrar, RegistersTaggedServicesAndSkipsUnchangedOnes) {
  FakeRegistry registry;
  Registrar registrar(registry);
  SidecarPlan plan = planOf({{"cairn.io/service-port", "80"}, {"cairn.io/check-tcp", "true"}});
  ApplyResult first = registrar.apply(plan);
  EXPECT_EQ(first.registered, 1);
  EXPECT_EQ(registry.services.at("web-1-web").service.meta().at(kManagedByKey), kManagedByValue);
  ApplyResult again = registrar.apply(plan);
  EXPECT_EQ(again.registered, 0);
  EXPECT_EQ(registry.calls.size(), 1u);
}

TEST(Registrar, ChangedAnnotationsReplaceAndRemovedServicesGo) {
  FakeRegistry registry;
  Registrar registrar(registry);
  registrar.apply(planOf({{"cairn.io/service-names", "a,b"}}));
  ApplyResult r =
      registrar.apply(planOf({{"cairn.io/service-names", "a"}, {"cairn.io/service-tags", "v2"}}));
  EXPECT_EQ(r.registered, 1);  // a, with its new tag
  EXPECT_EQ(r.removed, 1);     // b
  EXPECT_EQ(registry.services.count("web-1-b"), 0u);
  EXPECT_EQ(registry.services.at("web-1-a").service.tags(0), "v2");
}

TEST(Registrar, LeavesTheAppsOwnServicesAlone) {
  FakeRegistry registry;
  registry.services["app-own"] = appService("app-own");
  Registrar registrar(registry);
  registrar.apply(planOf({}));
  EXPECT_EQ(registry.services.count("app-own"), 1u);
  registrar.markCritical();
  registrar.deregisterAll();
  EXPECT_EQ(registry.services.count("app-own"), 1u);
  EXPECT_EQ(registry.services.count("web-1-web"), 0u);
}

TEST(Registrar, ARestartReplacesWhatThePreviousRunLeftWithoutDuplicates) {
  FakeRegistry registry;
  {
    Registrar before_crash(registry);
    before_crash.apply(planOf({{"cairn.io/service-names", "a,old"}}));
  }
  Registrar after_restart(registry);
  ApplyResult r = after_restart.apply(planOf({{"cairn.io/service-names", "a"}}));
  EXPECT_EQ(r.removed, 1);
  EXPECT_EQ(registry.managedServiceIds(), (std::set<std::string>{"web-1-a"}));
}

TEST(Registrar, ShutdownIsCriticalFirstThenDeregistered) {
  FakeRegistry registry;
  Registrar registrar(registry);
  registrar.apply(planOf({}));
  registry.calls.clear();
  registrar.markCritical();
  registrar.deregisterAll();
  ASSERT_EQ(registry.calls.size(), 2u);
  EXPECT_EQ(registry.calls[0].rfind("maint web-1-web", 0), 0u);
  EXPECT_EQ(registry.calls[1], "remove web-1-web");
}

}  // namespace
}  // namespace cairn::sidecar
