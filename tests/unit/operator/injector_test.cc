// The sidecar injector's rules (operator/injector.h, docs/injection.md), one table row per
// situation: the AdmissionReview in, and whether it is allowed, patched or denied.

#include "operator/injector.h"

#include <cpprest/asyncrt_utils.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cairn::op {
namespace {

using web::json::value;

// A review of creating `pod` (JSON) in namespace `ns`.
std::string reviewOf(const std::string& pod, const std::string& ns = "shop",
                     const std::string& operation = "CREATE") {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{
    "uid":"705ab4f5-6393-11e8-b7cc-42010a800002","kind":{"group":"","version":"v1","kind":"Pod"},
    "resource":{"group":"","version":"v1","resource":"pods"},"namespace":")" +
         ns + R"(","operation":")" + operation + R"(","object":)" + pod + "}}";
}

// A pod with `annotations` (a JSON object body, or empty for none) and one app container.
std::string pod(const std::string& annotations, const std::string& extra_spec = "",
                const std::string& labels = "") {
  std::string meta = R"("name":"web-1")";
  if (!annotations.empty()) meta += R"(,"annotations":{)" + annotations + "}";
  if (!labels.empty()) meta += R"(,"labels":{)" + labels + "}";
  return R"({"apiVersion":"v1","kind":"Pod","metadata":{)" + meta +
         R"(},"spec":{"containers":[{"name":"app","image":"app:1",)"
         R"("ports":[{"name":"http","containerPort":8080}]}])" +
         extra_spec + "}}";
}

const char kOptIn[] = R"("cairn.io/inject":"true","cairn.io/service-port":"http")";

struct Outcome {
  int http_status;
  bool allowed;
  bool patched;
  std::string message;  // a substring of status.message when denied
};

value patchOf(const value& response) {
  auto bytes = utility::conversions::from_base64(response.at("patch").as_string());
  return value::parse(std::string(bytes.begin(), bytes.end()));
}

AdmissionResult run(const std::string& body, const InjectorConfig& config = {},
                    const Labels& ns_labels = {}) {
  return admit(body, config, [ns_labels](const std::string&) { return ns_labels; });
}

struct Row {
  const char* name;
  std::string body;
  Labels ns_labels;
  Outcome want;
};

TEST(Injector, DecisionTable) {
  std::vector<Row> rows = {
      {"annotated pod is injected", reviewOf(pod(kOptIn)), {}, {200, true, true, ""}},
      {"labelled pod is injected",
       reviewOf(pod(R"("cairn.io/service-port":"8080")", "", R"("cairn.io/inject":"true")")),
       {},
       {200, true, true, ""}},
      {"pod without opt-in is left alone", reviewOf(pod("")), {}, {200, true, false, ""}},
      {"namespace label injects",
       reviewOf(pod("")),
       {{"cairn.io/inject", "true"}},
       {200, true, true, ""}},
      {"pod opts out of an injected namespace",
       reviewOf(pod(R"("cairn.io/inject":"false")")),
       {{"cairn.io/inject", "true"}},
       {200, true, false, ""}},
      {"system namespace is skipped",
       reviewOf(pod(kOptIn), "kube-system"),
       {},
       {200, true, false, ""}},
      {"already injected: no second sidecar",
       reviewOf(pod(std::string(kOptIn) + R"(,"cairn.io/injected":"true")")),
       {},
       {200, true, false, ""}},
      {"sidecar container present: no second sidecar",
       reviewOf(R"({"metadata":{"name":"p","annotations":{"cairn.io/inject":"true"}},
         "spec":{"containers":[{"name":"app"},{"name":"cairn-sidecar"}]}})"),
       {},
       {200, true, false, ""}},
      {"update is not mutated",
       reviewOf(pod(kOptIn), "shop", "UPDATE"),
       {},
       {200, true, false, ""}},
      {"bad port name is denied",
       reviewOf(pod(R"("cairn.io/inject":"true","cairn.io/service-port":"grpc")")),
       {},
       {200, false, false, "grpc"}},
      {"bad check is denied",
       reviewOf(pod(std::string(kOptIn) + R"(,"cairn.io/check-http":"healthz")")),
       {},
       {200, false, false, "check-http"}},
      {"unknown cairn.io key is denied",
       reviewOf(pod(std::string(kOptIn) + R"(,"cairn.io/servce-tags":"a")")),
       {},
       {200, false, false, "servce-tags"}},
      {"inject must be true or false",
       reviewOf(pod(R"("cairn.io/inject":"yes")")),
       {},
       {200, false, false, "must be \"true\" or \"false\""}},
      {"probe port taken is denied",
       reviewOf(R"({"metadata":{"name":"p","annotations":{"cairn.io/inject":"true"}},
         "spec":{"containers":[{"name":"app","ports":[{"containerPort":9500}]}]}})"),
       {},
       {200, false, false, "probe port"}},
      {"not JSON", "{\"apiVersion\":", {}, {400, false, false, "not JSON"}},
      {"not a review", R"({"kind":"Pod"})", {}, {400, false, false, "AdmissionReview"}},
      {"no uid",
       R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}})",
       {},
       {400, false, false, "uid"}},
      {"annotations not strings",
       reviewOf(R"({"metadata":{"annotations":{"a":1}},"spec":{}})"),
       {},
       {400, false, false, "annotation \"a\""}},
      {"containers not a list",
       reviewOf(
           R"({"metadata":{"annotations":{"cairn.io/inject":"true"}},"spec":{"containers":7}})"),
       {},
       {400, false, false, "spec.containers"}},
      {"object not an object", reviewOf("[1,2]"), {}, {400, false, false, "not a pod"}},
      {"other kinds pass",
       R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u",
         "kind":{"kind":"Service"},"operation":"CREATE","object":{}}})",
       {},
       {200, true, false, ""}},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    AdmissionResult r = run(row.body, {}, row.ns_labels);
    EXPECT_EQ(r.http_status, row.want.http_status);
    ASSERT_TRUE(r.review.has_field("response")) << r.review.serialize();
    const value& resp = r.review.at("response");
    EXPECT_EQ(r.review.at("apiVersion").as_string(), "admission.k8s.io/v1");
    EXPECT_EQ(r.review.at("kind").as_string(), "AdmissionReview");
    EXPECT_EQ(resp.at("allowed").as_bool(), row.want.allowed) << resp.serialize();
    EXPECT_EQ(resp.has_field("patch"), row.want.patched) << resp.serialize();
    if (!row.want.allowed) {
      EXPECT_EQ(resp.at("status").at("code").as_integer(), 400);
      EXPECT_NE(resp.at("status").at("message").as_string().find(row.want.message),
                std::string::npos)
          << resp.at("status").at("message").as_string();
    }
  }
}

TEST(Injector, EchoesUid) {
  for (const std::string& body :
       {reviewOf(pod(kOptIn)), reviewOf(pod("")), reviewOf(pod(R"("cairn.io/inject":"yes")"))}) {
    AdmissionResult r = run(body);
    EXPECT_EQ(r.review.at("response").at("uid").as_string(),
              "705ab4f5-6393-11e8-b7cc-42010a800002");
  }
}

TEST(Injector, PatchAddsWholeAnnotationsMapAndVolumesWhenAbsent) {
  // No annotations (opted in by label) and no volumes: both added whole.
  AdmissionResult r = run(reviewOf(pod("", "", R"("cairn.io/inject":"true")")), {}, {});
  const value& resp = r.review.at("response");
  ASSERT_TRUE(resp.has_field("patch")) << resp.serialize();
  EXPECT_EQ(resp.at("patchType").as_string(), "JSONPatch");
  value patch = patchOf(resp);
  ASSERT_EQ(patch.size(), 3u) << patch.serialize();
  EXPECT_EQ(patch[0].at("op").as_string(), "add");
  EXPECT_EQ(patch[0].at("path").as_string(), "/metadata/annotations");
  const value& annotations = patch[0].at("value");
  EXPECT_EQ(annotations.at("cairn.io/injected").as_string(), "true");
  EXPECT_EQ(annotations.at("prometheus.io/scrape").as_string(), "true");
  EXPECT_EQ(annotations.at("prometheus.io/port").as_string(), "9500");
  EXPECT_EQ(annotations.at("prometheus.io/path").as_string(), "/metrics");
  EXPECT_EQ(patch[1].at("path").as_string(), "/spec/volumes");
  ASSERT_EQ(patch[1].at("value").size(), 2u);
  EXPECT_EQ(patch[1].at("value")[0].at("name").as_string(), "cairn-podinfo");
  EXPECT_EQ(patch[1].at("value")[0].at("downwardAPI").at("items").size(), 2u);
  EXPECT_EQ(patch[2].at("path").as_string(), "/spec/containers/-");
}

TEST(Injector, PatchEscapesKeysAndAppendsToExistingLists) {
  AdmissionResult r = run(reviewOf(pod(kOptIn, R"(,"volumes":[{"name":"x","emptyDir":{}}])")));
  value patch = patchOf(r.review.at("response"));
  std::vector<std::string> paths;
  for (const value& op : patch.as_array()) paths.push_back(op.at("path").as_string());
  std::vector<std::string> want = {"/metadata/annotations/cairn.io~1injected",
                                   "/metadata/annotations/prometheus.io~1scrape",
                                   "/metadata/annotations/prometheus.io~1port",
                                   "/metadata/annotations/prometheus.io~1path",
                                   "/spec/volumes/-",
                                   "/spec/volumes/-",
                                   "/spec/containers/-"};
  EXPECT_EQ(paths, want);
  EXPECT_EQ(escapeJsonPointer("a~b/c"), "a~0b~1c");
}

TEST(Injector, PodsOwnPrometheusAnnotationsWin) {
  AdmissionResult r = run(reviewOf(
      pod(std::string(kOptIn) + R"(,"prometheus.io/scrape":"true","prometheus.io/port":"8080")")));
  value patch = patchOf(r.review.at("response"));
  for (const value& op : patch.as_array()) {
    EXPECT_EQ(op.at("path").as_string().find("prometheus.io"), std::string::npos);
  }
}

TEST(Injector, SidecarContainer) {
  InjectorConfig config;
  config.image = "registry.local/cairn:1.2";
  config.retry_join = "cairn-server.cairn.svc";
  AdmissionResult r = run(reviewOf(pod(kOptIn)), config);
  value patch = patchOf(r.review.at("response"));
  const value& c = patch[patch.size() - 1].at("value");
  EXPECT_EQ(c.at("name").as_string(), "cairn-sidecar");
  EXPECT_EQ(c.at("image").as_string(), "registry.local/cairn:1.2");
  std::vector<std::string> args;
  for (const value& a : c.at("args").as_array()) args.push_back(a.as_string());
  EXPECT_EQ(args, (std::vector<std::string>{"-retry-join", "cairn-server.cairn.svc", "-podinfo-dir",
                                            "/etc/cairn/podinfo", "-data-dir", "/cairn/data",
                                            "-probe-port", "9500"}));
  std::map<std::string, std::string> env;
  for (const value& e : c.at("env").as_array()) {
    env[e.at("name").as_string()] =
        e.has_field("value") ? e.at("value").as_string()
                             : e.at("valueFrom").at("fieldRef").at("fieldPath").as_string();
  }
  EXPECT_EQ(env, (std::map<std::string, std::string>{{"POD_NAME", "metadata.name"},
                                                     {"POD_NAMESPACE", "metadata.namespace"},
                                                     {"POD_IP", "status.podIP"},
                                                     {"NODE_NAME", "spec.nodeName"},
                                                     {"POD_UID", "metadata.uid"},
                                                     {"CAIRN_CONTAINER_PORTS", "http=8080"}}));
  EXPECT_EQ(c.at("livenessProbe").at("httpGet").at("path").as_string(), "/live");
  EXPECT_EQ(c.at("readinessProbe").at("httpGet").at("path").as_string(), "/ready");
  EXPECT_EQ(c.at("readinessProbe").at("httpGet").at("port").as_integer(), 9500);
  EXPECT_EQ(c.at("ports").at(0).at("containerPort").as_integer(), 9500);
  EXPECT_EQ(c.at("resources").at("limits").at("memory").as_string(), "128Mi");
  EXPECT_EQ(c.at("volumeMounts").at(0).at("mountPath").as_string(), "/etc/cairn/podinfo");
  // The pod may name another image.
  r = run(reviewOf(pod(std::string(kOptIn) + R"(,"cairn.io/sidecar-image":"mine:2")")), config);
  patch = patchOf(r.review.at("response"));
  EXPECT_EQ(patch[patch.size() - 1].at("value").at("image").as_string(), "mine:2");
}

TEST(Injector, OperatorNamespaceAndDefaultInject) {
  InjectorConfig config;
  config.default_inject = true;
  config.skip_namespaces.insert("cairn");
  EXPECT_TRUE(run(reviewOf(pod("")), config).review.at("response").has_field("patch"));
  EXPECT_FALSE(run(reviewOf(pod(""), "cairn"), config).review.at("response").has_field("patch"));
}

TEST(Injector, NamespaceLabelsAskedOnlyWhenThePodDoesNotSay) {
  int asked = 0;
  auto lookup = [&asked](const std::string& ns) {
    ++asked;
    EXPECT_EQ(ns, "shop");
    return Labels{};
  };
  admit(reviewOf(pod(kOptIn)), {}, lookup);
  EXPECT_EQ(asked, 0);
  admit(reviewOf(pod("")), {}, lookup);
  EXPECT_EQ(asked, 1);
}

// Every prefix of a valid review, and some byte flips: always an answer, never a crash.
TEST(Injector, TruncatedAndCorruptedReviewsAreAnswered) {
  std::string body = reviewOf(pod(kOptIn));
  for (size_t n = 0; n < body.size(); n += 7) {
    AdmissionResult r = run(body.substr(0, n));
    EXPECT_TRUE(r.review.has_field("response"));
  }
  for (size_t i = 0; i < body.size(); i += 5) {
    std::string bad = body;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    AdmissionResult r = run(bad);
    EXPECT_TRUE(r.review.has_field("response"));
  }
}

}  // namespace
}  // namespace cairn::op

namespace cairn::op {
namespace {

// The shape deploy/helm/cairn renders into the operator's injector.json.
TEST(InjectorConfig, ReadsTheChartsFile) {
  auto c = parseInjectorConfig(R"({"image":"reg/cairn:1.0","imagePullPolicy":"Always",
      "retryJoin":"r-cairn-server-peers.cairn.svc","defaultInject":true,"metrics":false,
      "resources":{"requests":{"cpu":"10m"}},"skipNamespaces":["kube-system","cairn"],
      "someFutureKey":1})",
                               InjectorConfig{});
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->image, "reg/cairn:1.0");
  EXPECT_EQ(c->retry_join, "r-cairn-server-peers.cairn.svc");
  EXPECT_TRUE(c->default_inject);
  EXPECT_EQ(c->skip_namespaces.count("cairn"), 1u);
  EXPECT_EQ(c->skip_namespaces.count("kube-node-lease"), 1u);  // built-in ones stay
  AdmissionResult r = admit(
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u",
        "kind":{"kind":"Pod"},"namespace":"shop","operation":"CREATE","object":{
        "metadata":{"name":"p"},"spec":{"containers":[{"name":"app"}]}}}})",
      *c, [](const std::string&) { return Labels{}; });
  auto bytes = utility::conversions::from_base64(r.review.at("response").at("patch").as_string());
  value patch = value::parse(std::string(bytes.begin(), bytes.end()));
  const value& sidecar = patch.at(patch.size() - 1).at("value");
  EXPECT_EQ(sidecar.at("imagePullPolicy").as_string(), "Always");
  EXPECT_EQ(sidecar.at("resources").serialize(), R"({"requests":{"cpu":"10m"}})");
  EXPECT_EQ(patch.at(0).at("value").serialize(), R"({"cairn.io/injected":"true"})");  // no metrics
}

TEST(InjectorConfig, WrongTypesAreNamed) {
  for (const auto& [text, key] : std::vector<std::pair<std::string, std::string>>{
           {"[]", "not a JSON object"},
           {"{", "not JSON"},
           {R"({"image":""})", "\"image\""},
           {R"({"metrics":"yes"})", "\"metrics\""},
           {R"({"resources":[]})", "\"resources\""},
           {R"({"skipNamespaces":[1]})", "\"skipNamespaces\""}}) {
    auto c = parseInjectorConfig(text, InjectorConfig{});
    ASSERT_FALSE(c.isOk()) << text;
    EXPECT_NE(c.status().message().find(key), std::string::npos) << c.status().message();
  }
}

}  // namespace
}  // namespace cairn::op
