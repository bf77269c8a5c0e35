#include "sidecar/pod_info.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace cairn::sidecar {
namespace {

EnvLookup envOf(StringMap vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
}

TEST(PodIdentity, ReadsTheDownwardApiEnvironment) {
  auto pod = podIdentityFromEnv(envOf({{"POD_NAME", "web-7d9f-abcde"},
                                       {"POD_NAMESPACE", "shop"},
                                       {"POD_IP", "10.1.2.3"},
                                       {"NODE_NAME", "node-1"},
                                       {"POD_UID", "1b4e28ba-2fa1-11d2-883f-0016d3cca427"}}));
  ASSERT_TRUE(pod.isOk()) << pod.status().message();
  EXPECT_EQ(pod->consulNodeName(), "web-7d9f-abcde-shop");
  EXPECT_EQ(pod->meta().at("k8s-namespace"), "shop");
  EXPECT_EQ(pod->meta().at("pod-name"), "web-7d9f-abcde");
  EXPECT_EQ(pod->meta().at("pod-uid"), "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
  EXPECT_EQ(pod->meta().at("k8s-node"), "node-1");
}

TEST(PodIdentity, NodeIdIsAStableUuidOfNamespaceAndName) {
  PodIdentity a{"db-0", "prod", "10.0.0.1", "n1", "uid-1"};
  PodIdentity b{"db-0", "prod", "10.0.0.9", "n2", "uid-2"};  // the same pod, recreated
  PodIdentity c{"db-0", "test", "10.0.0.1", "n1", "uid-1"};
  EXPECT_EQ(a.consulNodeId(), b.consulNodeId());
  EXPECT_NE(a.consulNodeId(), c.consulNodeId());
  ASSERT_EQ(a.consulNodeId().size(), 36u);
  EXPECT_EQ(a.consulNodeId()[14], '5');  // version 5
}

TEST(PodIdentity, MissingOrMalformedVariablesAreNamed) {
  EXPECT_NE(podIdentityFromEnv(envOf({{"POD_IP", "10.0.0.1"}})).status().message().find("POD_NAME"),
            std::string::npos);
  EXPECT_NE(podIdentityFromEnv(envOf({{"POD_NAME", "a"}})).status().message().find("POD_IP"),
            std::string::npos);
  EXPECT_NE(podIdentityFromEnv(envOf({{"POD_NAME", "Bad_Name"}, {"POD_IP", "10.0.0.1"}}))
                .status()
                .message()
                .find("not a Kubernetes object name"),
            std::string::npos);
  EXPECT_NE(podIdentityFromEnv(envOf({{"POD_NAME", "a"}, {"POD_IP", "10.0.0.1; rm -rf"}}))
                .status()
                .message()
                .find("not an IP address"),
            std::string::npos);
  auto defaulted = podIdentityFromEnv(envOf({{"POD_NAME", "a"}, {"POD_IP", "::1"}}));
  ASSERT_TRUE(defaulted.isOk());
  EXPECT_EQ(defaulted->namespace_name, "default");
}

TEST(DownwardApiFile, ParsesTheKubeletFormat) {
  auto m = parseDownwardApiFile(
      "app=\"web\"\n"
      "cairn.io/service-tags=\"a,b\"\n"
      "multi=\"line1\\nline2 \\\"q\\\"\"\n"
      "\n"
      "unicode=\"caf\\u00e9\"\n");
  ASSERT_TRUE(m.isOk()) << m.status().message();
  EXPECT_EQ(m->at("app"), "web");
  EXPECT_EQ(m->at("cairn.io/service-tags"), "a,b");
  EXPECT_EQ(m->at("multi"), "line1\nline2 \"q\"");
  EXPECT_EQ(m->at("unicode"), "caf\xC3\xA9");
}

TEST(DownwardApiFile, ErrorsNameTheLine) {
  EXPECT_EQ(parseDownwardApiFile("a=\"1\"\nnoequals\n").status().message(),
            "line 2: expected key=\"value\"");
  EXPECT_EQ(parseDownwardApiFile("a=unquoted").status().message(),
            "line 1: the value is not a quoted string");
}

TEST(PodInfoDir, MissingFilesAreEmptyAndBadFilesNamed) {
  auto dir = std::filesystem::temp_directory_path() / ("podinfo-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto empty = readPodInfoDir(dir.string());
  ASSERT_TRUE(empty.isOk());
  EXPECT_TRUE(empty->annotations.empty());
  std::ofstream(dir / "labels") << "app=\"web\"\n";
  std::ofstream(dir / "annotations") << "broken\n";
  auto bad = readPodInfoDir(dir.string());
  EXPECT_NE(bad.status().message().find("annotations: line 1"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(ContainerPorts, ParsesNamePortPairs) {
  auto p = parseContainerPorts(" http=8080, grpc=9090 ,");
  ASSERT_TRUE(p.isOk());
  EXPECT_EQ(p->at("http"), 8080);
  EXPECT_EQ(p->at("grpc"), 9090);
  EXPECT_FALSE(parseContainerPorts("http=0").isOk());
  EXPECT_FALSE(parseContainerPorts("http=70000").isOk());
  EXPECT_FALSE(parseContainerPorts("=80").isOk());
  EXPECT_FALSE(parseContainerPorts("http").isOk());
}

}  // namespace
}  // namespace cairn::sidecar
