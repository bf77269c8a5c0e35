// The webhook's certificates and their rotation (operator/webhook_certs.h, webhook_keeper.h),
// with a fake clock: at every step the certificate served verifies against the published bundle.

#include "operator/webhook_certs.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "operator/webhook_keeper.h"

namespace cairn::op {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

const SystemTime kStart = std::chrono::system_clock::from_time_t(1'800'000'000);
const char kHost[] = "cairn-webhook.cairn.svc";

CertOptions options() {
  CertOptions o;
  o.service = "cairn-webhook";
  o.name_space = "cairn";
  o.ca_validity = hours(24 * 10);
  o.serving_validity = hours(24);
  o.renew_before = hours(6);
  o.switch_after = seconds(60);
  o.drop_after = seconds(300);
  return o;
}

int certsIn(const std::string& bundle) {
  int n = 0;
  for (size_t at = 0; (at = bundle.find("BEGIN CERTIFICATE", at)) != std::string::npos; ++at) ++n;
  return n;
}

TEST(WebhookCerts, ServingCertificateVerifiesForTheServiceNames) {
  auto ca = makeCa("test-ca", kStart, hours(48));
  ASSERT_TRUE(ca.isOk()) << ca.status().toString();
  auto serving = issueServing(*ca, servingNames("cairn-webhook", "cairn"), kStart, hours(24));
  ASSERT_TRUE(serving.isOk()) << serving.status().toString();
  for (const auto& name : servingNames("cairn-webhook", "cairn")) {
    EXPECT_TRUE(verifyServing(serving->cert_pem, ca->cert_pem, name, kStart).isOk()) << name;
  }
  EXPECT_FALSE(verifyServing(serving->cert_pem, ca->cert_pem, "other.cairn.svc", kStart).isOk());
  // Expired, not yet valid, or from another CA: refused.
  EXPECT_FALSE(verifyServing(serving->cert_pem, ca->cert_pem, kHost, kStart + hours(25)).isOk());
  EXPECT_FALSE(verifyServing(serving->cert_pem, ca->cert_pem, kHost, kStart - hours(1)).isOk());
  auto other = makeCa("other", kStart, hours(48));
  EXPECT_FALSE(verifyServing(serving->cert_pem, other->cert_pem, kHost, kStart).isOk());
  auto expiry = notAfter(serving->cert_pem);
  ASSERT_TRUE(expiry.isOk());
  EXPECT_EQ(*expiry, kStart + hours(24));
  EXPECT_FALSE(notAfter("not a certificate").isOk());
}

TEST(WebhookCerts, SecretDataRoundTripsAndDamageIsRefused) {
  CertState s;
  ASSERT_TRUE(advanceRotation(s, kStart, options()).isOk());
  auto back = CertState::fromSecretData(s.toSecretData());
  ASSERT_TRUE(back.isOk()) << back.status().toString();
  EXPECT_EQ(back->ca, s.ca);
  EXPECT_EQ(back->serving, s.serving);
  EXPECT_EQ(back->phase_since, s.phase_since);
  auto data = s.toSecretData();
  data["tls.crt"] = "garbage";
  EXPECT_FALSE(CertState::fromSecretData(data).isOk());
}

// The rotation, step by step: created → (near expiry) staged → switched → dropped, and at every
// moment the served certificate verifies against the bundle of that moment and of the moment
// before (an API server that has not seen the newest bundle yet).
TEST(WebhookCerts, RotationNeverLeavesTheServedCertificateUnverifiable) {
  CertOptions o = options();
  CertState s;
  std::vector<RotationStep> steps;
  std::string previous_bundle;
  std::string first_ca;
  for (SystemTime now = kStart; now < kStart + hours(60); now += seconds(600)) {
    std::string bundle_before = s.caBundle();
    auto step = advanceRotation(s, now, o);
    ASSERT_TRUE(step.isOk()) << step.status().toString();
    if (*step != RotationStep::kNone) steps.push_back(*step);
    if (first_ca.empty()) first_ca = s.ca.cert_pem;
    ASSERT_TRUE(verifyServing(s.serving.cert_pem, s.caBundle(), kHost, now).isOk());
    if (!bundle_before.empty()) {
      // The serving certificate only changes once the bundle before already had its CA.
      ASSERT_TRUE(verifyServing(s.serving.cert_pem, bundle_before, kHost, now).isOk());
    }
    EXPECT_LE(certsIn(s.caBundle()), 2);
  }
  // 60 hours of one-day certificates renewed 6 hours early: three rotations.
  std::vector<RotationStep> want = {RotationStep::kCreated};
  for (int i = 0; i < 3; ++i) {
    want.insert(want.end(),
                {RotationStep::kStaged, RotationStep::kSwitched, RotationStep::kDropped});
  }
  EXPECT_EQ(steps, want);
  EXPECT_NE(s.ca.cert_pem, first_ca);
}

TEST(WebhookCerts, StepsWaitForTheirDelays) {
  CertOptions o = options();
  CertState s;
  ASSERT_EQ(*advanceRotation(s, kStart, o), RotationStep::kCreated);
  EXPECT_EQ(*advanceRotation(s, kStart + hours(17), o), RotationStep::kNone);
  SystemTime t = kStart + hours(19);  // 5 hours left < 6 hours renew_before
  ASSERT_EQ(*advanceRotation(s, t, o), RotationStep::kStaged);
  EXPECT_EQ(certsIn(s.caBundle()), 2);
  EXPECT_EQ(*advanceRotation(s, t + seconds(59), o), RotationStep::kNone);
  ASSERT_EQ(*advanceRotation(s, t + seconds(60), o), RotationStep::kSwitched);
  EXPECT_EQ(certsIn(s.caBundle()), 2);
  EXPECT_EQ(*advanceRotation(s, t + seconds(359), o), RotationStep::kNone);
  ASSERT_EQ(*advanceRotation(s, t + seconds(360), o), RotationStep::kDropped);
  EXPECT_EQ(certsIn(s.caBundle()), 1);
}

TEST(WebhookCerts, RenamedServiceRotates) {
  CertOptions o = options();
  CertState s;
  ASSERT_EQ(*advanceRotation(s, kStart, o), RotationStep::kCreated);
  o.service = "renamed";
  EXPECT_EQ(*advanceRotation(s, kStart + seconds(1), o), RotationStep::kStaged);
}

// The keeper against in-memory stand-ins for the Secret and the webhook configuration.
struct FakeCluster {
  std::optional<CertState> secret;
  std::optional<std::string> bundle = std::string();  // nullopt: no configuration
  SystemTime now = kStart;
  KeyPair served;
  int saves = 0, bundle_writes = 0;
  bool fail_bundle_write = false;

  WebhookCertKeeper::Deps deps() {
    WebhookCertKeeper::Deps d;
    d.load = [this]() -> StatusOr<std::optional<CertState>> { return secret; };
    d.save = [this](const CertState& s) {
      secret = s;
      ++saves;
      return Status::ok();
    };
    d.read_bundle = [this]() -> StatusOr<std::string> {
      if (!bundle) return notFound("no configuration");
      return *bundle;
    };
    d.write_bundle = [this](const std::string& pem) {
      if (fail_bundle_write) return unavailable("API server down");
      bundle = pem;
      ++bundle_writes;
      return Status::ok();
    };
    d.serve = [this](const KeyPair& p) {
      served = p;
      return Status::ok();
    };
    d.now = [this] { return now; };
    return d;
  }
};

TEST(WebhookCertKeeper, LeaderCreatesPublishesAndServes) {
  FakeCluster k8s;
  WebhookCertKeeper keeper(k8s.deps(), options());
  ASSERT_EQ(*keeper.sync(true), RotationStep::kCreated);
  ASSERT_TRUE(k8s.secret.has_value());
  EXPECT_EQ(*k8s.bundle, k8s.secret->caBundle());
  EXPECT_EQ(k8s.served, k8s.secret->serving);
  // Nothing to do: nothing written.
  int saves = k8s.saves;
  EXPECT_EQ(*keeper.sync(true), RotationStep::kNone);
  EXPECT_EQ(k8s.saves, saves);
}

TEST(WebhookCertKeeper, FollowerOnlyServesTheSecret) {
  FakeCluster k8s;
  WebhookCertKeeper follower(k8s.deps(), options());
  EXPECT_EQ(*follower.sync(false), RotationStep::kNone);
  EXPECT_FALSE(k8s.secret.has_value());
  EXPECT_TRUE(k8s.served.cert_pem.empty());
  WebhookCertKeeper leader(k8s.deps(), options());
  ASSERT_TRUE(leader.sync(true).isOk());
  k8s.served = {};
  EXPECT_TRUE(follower.sync(false).isOk());
  EXPECT_EQ(k8s.served, k8s.secret->serving);
  EXPECT_EQ(k8s.bundle_writes, 1);
}

TEST(WebhookCertKeeper, AChangedBundleIsRepublishedAndRestartsThePhase) {
  FakeCluster k8s;
  CertOptions o = options();
  WebhookCertKeeper keeper(k8s.deps(), o);
  ASSERT_TRUE(keeper.sync(true).isOk());
  k8s.now = kStart + hours(19);
  ASSERT_EQ(*keeper.sync(true), RotationStep::kStaged);
  // A helm upgrade wipes the caBundle just before the switch would happen.
  k8s.bundle = "";
  k8s.now += o.switch_after;
  EXPECT_EQ(*keeper.sync(true), RotationStep::kNone);  // republished, not switched
  EXPECT_EQ(*k8s.bundle, k8s.secret->caBundle());
  k8s.now += o.switch_after;
  EXPECT_EQ(*keeper.sync(true), RotationStep::kSwitched);
}

TEST(WebhookCertKeeper, AFailedBundleWriteDelaysTheSwitch) {
  FakeCluster k8s;
  CertOptions o = options();
  WebhookCertKeeper keeper(k8s.deps(), o);
  ASSERT_TRUE(keeper.sync(true).isOk());
  KeyPair first = k8s.served;
  k8s.now = kStart + hours(19);
  k8s.fail_bundle_write = true;
  EXPECT_FALSE(keeper.sync(true).isOk());  // staged and saved, bundle not written
  k8s.now += o.switch_after * 2;
  EXPECT_FALSE(keeper.sync(true).isOk());
  EXPECT_EQ(k8s.served, first);
  k8s.fail_bundle_write = false;
  EXPECT_EQ(*keeper.sync(true), RotationStep::kNone);  // published now; the clock restarts
  EXPECT_EQ(k8s.served, first);
  k8s.now += o.switch_after;
  EXPECT_EQ(*keeper.sync(true), RotationStep::kSwitched);
  EXPECT_NE(k8s.served, first);
}

TEST(WebhookCertKeeper, WithoutAConfigurationTheCertificatesStillExist) {
  FakeCluster k8s;
  k8s.bundle.reset();
  WebhookCertKeeper keeper(k8s.deps(), options());
  EXPECT_EQ(*keeper.sync(true), RotationStep::kCreated);
  EXPECT_FALSE(k8s.served.cert_pem.empty());
}

}  // namespace
}  // namespace cairn::op
