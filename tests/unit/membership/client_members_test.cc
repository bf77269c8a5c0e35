// A client agent's membership routes (core/http/membership_routes.h) over a fake forward: the
// servers' list is passed through, with this agent added while the servers have not recorded it
// yet; ?wan and ?segment are judged as on a server; when no server answers, the agent's own
// view is listed in the servers' format; force-leave goes to a server.
#include <gtest/gtest.h>

#include <optional>

#include "../http/route_call.h"
#include "core/http/json_reader.h"
#include "core/http/membership_routes.h"

namespace cairn::http {
namespace {

using testing::callRoute;

class ClientMembers final : public MembersSource {
 public:
  std::vector<AgentMember> members() const override {
    AgentMember self{"c1", "id-c1", "127.0.0.9", 8500, false, kMemberAlive};
    AgentMember server{"127.0.0.1:8300", "", "127.0.0.1", 8300, true, kMemberAlive};
    return {self, server};
  }
};

class ClientMembersTest : public ::testing::Test {
 protected:
  ClientMembersTest() {
    info_.node_name = "c1";
    info_.node_id = "id-c1";
    info_.datacenter = "dc1";
    info_.version = "0.1.0";
    info_.server = false;
    ctx_ = std::make_unique<AgentApiContext>(
        AgentApiContext{info_, metrics_, members_, worker_, nullptr});
    ClientMembershipHooks hooks;
    hooks.forward = [this](RequestPtr request, Responder respond,
                           std::function<void(const std::string&)> unreachable) {
      forwarded_.push_back(*request);
      if (!server_answer_) return unreachable("no server known");
      respond(*server_answer_);
    };
    hooks.leave = [this] { ++leaves_; };
    hooks.join = [this](const std::string& address, Responder respond) {
      joined_.push_back(address);
      respond(jsonResponse(""));
    };
    addClientMembershipRoutes(router_, *ctx_, hooks);
  }

  web::json::value members(const std::string& query = "") {
    HttpResponse r = callRoute(router_, "GET", "/v1/agent/members", query);
    EXPECT_EQ(r.status, 200) << r.body;
    auto parsed = parseJson(r.body);
    EXPECT_TRUE(parsed.isOk()) << r.body;
    return parsed.isOk() ? *parsed : web::json::value::array();
  }
  static std::vector<std::string> names(const web::json::value& list) {
    std::vector<std::string> out;
    for (const auto& m : list.as_array()) out.push_back(m.at("Name").as_string());
    return out;
  }

  AgentInfo info_;
  metrics::Metrics metrics_{"0.1.0", "test"};
  ClientMembers members_;
  SerialWorker worker_;
  std::unique_ptr<AgentApiContext> ctx_;
  Router router_;
  std::optional<HttpResponse> server_answer_;  // null: no server answers
  std::vector<HttpRequest> forwarded_;
  int leaves_ = 0;
  std::vector<std::string> joined_;
};

constexpr char kServerList[] =
    R"([{"Name":"s1","Addr":"127.0.0.1","Port":8300,"Tags":{"role":"consul"},"Status":1},)"
    R"({"Name":"c2","Addr":"127.0.0.3","Port":8500,"Tags":{"role":"node"},"Status":4}])";

TEST_F(ClientMembersTest, TheServersListIsAnsweredWithThisAgentAddedWhenMissing) {
  server_answer_ = jsonResponse(kServerList);
  web::json::value list = members();
  EXPECT_EQ(names(list), (std::vector<std::string>{"s1", "c2", "c1"}));
  EXPECT_EQ(list.at(1).at("Status").as_integer(), kMemberFailed);  // the servers' word
  const auto& self = list.at(2);
  EXPECT_EQ(self.at("Addr").as_string(), "127.0.0.9");
  EXPECT_EQ(self.at("Port").as_integer(), 8500);
  EXPECT_EQ(self.at("Status").as_integer(), kMemberAlive);
  EXPECT_EQ(self.at("Tags").at("role").as_string(), "node");
  EXPECT_EQ(self.at("Tags").at("id").as_string(), "id-c1");
  ASSERT_EQ(forwarded_.size(), 1u);
  EXPECT_EQ(forwarded_[0].path, "/v1/agent/members");
}

TEST_F(ClientMembersTest, AListThatHasThisAgentIsPassedThroughUnchanged) {
  std::string body = R"([{"Name":"c1","Addr":"127.0.0.9","Port":8500,"Status":3}])";
  server_answer_ = jsonResponse(body);
  HttpResponse r = callRoute(router_, "GET", "/v1/agent/members");
  EXPECT_EQ(r.body, body);
  server_answer_ = jsonResponse("[]");
  EXPECT_EQ(names(members()), (std::vector<std::string>{"c1"}));
  // Clients are not WAN members: a WAN list is never completed.
  server_answer_ = jsonResponse(R"([{"Name":"s1.dc1"}])");
  EXPECT_EQ(names(members("wan=1")), (std::vector<std::string>{"s1.dc1"}));
}

TEST_F(ClientMembersTest, PrettyIsAppliedHereToTheCompletedList) {
  server_answer_ = jsonResponse(kServerList);
  HttpResponse r = callRoute(router_, "GET", "/v1/agent/members", "pretty&segment=_all");
  ASSERT_EQ(forwarded_.size(), 1u);
  EXPECT_EQ(forwarded_[0].raw_query, "segment=_all");  // the server answers compact JSON
  EXPECT_NE(r.body.find("\n        \"Name\": \"c1\""), std::string::npos) << r.body;
}

TEST_F(ClientMembersTest, ServerErrorsArePassedThrough) {
  server_answer_ = textResponse(403, "Permission denied");
  HttpResponse r = callRoute(router_, "GET", "/v1/agent/members");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, "Permission denied");
}

TEST_F(ClientMembersTest, SegmentsAreJudgedAsOnAServer) {
  server_answer_ = jsonResponse(kServerList);
  HttpResponse wan = callRoute(router_, "GET", "/v1/agent/members", "wan=1&segment=alpha");
  EXPECT_EQ(wan.status, 400);
  EXPECT_EQ(wan.body, "Cannot provide a segment with wan=true");
  HttpResponse lan = callRoute(router_, "GET", "/v1/agent/members", "segment=alpha");
  EXPECT_EQ(lan.status, 500);
  EXPECT_EQ(lan.body, "Network segments are not supported in this version of Consul");
  EXPECT_TRUE(forwarded_.empty());
  EXPECT_EQ(names(members("segment=_all")).size(), 3u);
  EXPECT_EQ(names(members("wan=1&segment=_all")).size(), 2u);
}

TEST_F(ClientMembersTest, WithoutServersItListsItsOwnViewInTheServersFormat) {
  web::json::value list = members();
  ASSERT_EQ(names(list), (std::vector<std::string>{"c1", "127.0.0.1:8300"}));
  const auto& self = list.at(0);
  EXPECT_EQ(self.at("Tags").at("role").as_string(), "node");
  EXPECT_EQ(self.at("Tags").at("dc").as_string(), "dc1");
  EXPECT_EQ(self.at("ProtocolCur").as_integer(), 2);
  const auto& server = list.at(1);
  EXPECT_EQ(server.at("Addr").as_string(), "127.0.0.1");
  EXPECT_EQ(server.at("Port").as_integer(), 8300);
  EXPECT_EQ(server.at("Tags").at("role").as_string(), "consul");
  EXPECT_EQ(server.at("Tags").at("port").as_string(), "8300");
  EXPECT_EQ(server.at("Status").as_integer(), kMemberAlive);
  EXPECT_EQ(names(members("wan=1")), (std::vector<std::string>{"127.0.0.1:8300.dc1"}));
}

TEST_F(ClientMembersTest, ForceLeaveGoesToAServerJoinAndLeaveUseTheHooks) {
  server_answer_ = jsonResponse("");
  HttpResponse r = callRoute(router_, "PUT", "/v1/agent/force-leave/c2", "prune");
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(forwarded_.size(), 1u);
  EXPECT_EQ(forwarded_[0].path, "/v1/agent/force-leave/c2");
  EXPECT_EQ(forwarded_[0].raw_query, "prune");
  server_answer_.reset();
  r = callRoute(router_, "PUT", "/v1/agent/force-leave/c2");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("No Cairn server reachable: no server known"), std::string::npos);
  EXPECT_EQ(callRoute(router_, "PUT", "/v1/agent/join/127.0.0.1:8300").status, 200);
  EXPECT_EQ(joined_, (std::vector<std::string>{"127.0.0.1:8300"}));
  r = callRoute(router_, "PUT", "/v1/agent/join/");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "Missing address to join");
  EXPECT_EQ(callRoute(router_, "PUT", "/v1/agent/leave").status, 200);
  EXPECT_EQ(leaves_, 1);
}

TEST(ClientMembershipRoutes, JoinWithoutAHookAnswers500) {
  AgentInfo info;
  metrics::Metrics metrics{"0.1.0", "test"};
  ClientMembers members;
  SerialWorker worker;
  AgentApiContext ctx{info, metrics, members, worker, nullptr};
  Router router;
  addClientMembershipRoutes(router, ctx, {});
  EXPECT_EQ(callRoute(router, "PUT", "/v1/agent/join/127.0.0.1").status, 500);
}

}  // namespace
}  // namespace cairn::http
