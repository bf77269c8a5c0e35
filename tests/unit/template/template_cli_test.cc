// The pure parts of `cairn template`'s runner: flag syntaxes, the -wait clock, atomic writes.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <string>

#include "agent/cli/template_runner.h"

namespace cairn::cli {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(TemplateCliTest, TemplateSpecs) {
  auto s = parseTemplateSpec("in.tpl:out.conf");
  ASSERT_TRUE(s.isOk());
  EXPECT_EQ(s->source, "in.tpl");
  EXPECT_EQ(s->destination, "out.conf");
  EXPECT_EQ(s->command, "");
  s = parseTemplateSpec("/a/in.ctmpl:/etc/nginx/web.conf:nginx -s reload; echo a:b");
  ASSERT_TRUE(s.isOk());
  EXPECT_EQ(s->destination, "/etc/nginx/web.conf");
  EXPECT_EQ(s->command, "nginx -s reload; echo a:b");
  EXPECT_FALSE(parseTemplateSpec("in.tpl").isOk());
  EXPECT_FALSE(parseTemplateSpec("in.tpl:").isOk());
  EXPECT_FALSE(parseTemplateSpec(":out").isOk());
  EXPECT_FALSE(parseTemplateSpec("in::cmd").isOk());
}

TEST(TemplateCliTest, WaitSpecs) {
  auto w = parseWaitSpec("2s:10s");
  ASSERT_TRUE(w.isOk());
  EXPECT_EQ(w->min, seconds(2));
  EXPECT_EQ(w->max, seconds(10));
  w = parseWaitSpec("500ms");
  ASSERT_TRUE(w.isOk());
  EXPECT_EQ(w->max, seconds(2));
  EXPECT_FALSE(parseWaitSpec("5").isOk());
  EXPECT_FALSE(parseWaitSpec("5s:1s").isOk());
}

TEST(TemplateCliTest, SignalNames) {
  EXPECT_EQ(*parseSignalName("SIGHUP"), SIGHUP);
  EXPECT_EQ(*parseSignalName("usr1"), SIGUSR1);
  EXPECT_EQ(*parseSignalName("15"), SIGTERM);
  EXPECT_EQ(*parseSignalName(""), 0);
  EXPECT_FALSE(parseSignalName("SIGNOPE").isOk());
}

TEST(TemplateCliTest, QuiescenceWaitsForQuietOrMax) {
  Quiescence q(WaitSpec{seconds(2), seconds(5)});
  Quiescence::Clock::time_point t0{};
  EXPECT_FALSE(q.pending());
  q.change(t0);
  EXPECT_TRUE(q.pending());
  EXPECT_EQ(q.due(), t0 + seconds(2));
  q.change(t0 + seconds(1));  // another change restarts the quiet period...
  EXPECT_EQ(q.due(), t0 + seconds(3));
  q.change(t0 + seconds(4));  // ...but not past max after the first change
  EXPECT_EQ(q.due(), t0 + seconds(5));
  q.rendered();
  EXPECT_FALSE(q.pending());
  q.change(t0 + seconds(10));
  EXPECT_EQ(q.due(), t0 + seconds(12));
  Quiescence none(WaitSpec{});
  none.change(t0);
  EXPECT_EQ(none.due(), t0);
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-template-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { (void)std::system(("rm -rf " + dir_).c_str()); }
  std::string dir_;
};

TEST_F(TempDir, AtomicWriteCreatesParentsAndKeepsMode) {
  std::string path = dir_ + "/sub/dir/out.conf";
  ASSERT_TRUE(writeFileAtomically(path, "one\n").isOk());
  EXPECT_EQ(readFile(path), "one\n");
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  ASSERT_TRUE(writeFileAtomically(path, "two\n").isOk());
  EXPECT_EQ(readFile(path), "two\n");
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // No temporary file is left behind.
  EXPECT_EQ(std::system(("test $(ls -A " + dir_ + "/sub/dir | wc -l) -eq 1").c_str()), 0);
  EXPECT_FALSE(readFile(dir_ + "/nope").has_value());
}

TEST_F(TempDir, AtomicWriteReportsErrors) {
  std::string blocker = dir_ + "/file";
  ASSERT_TRUE(writeFileAtomically(blocker, "x").isOk());
  Status s = writeFileAtomically(blocker + "/under/out", "y");
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find(blocker), std::string::npos) << s.message();
}

}  // namespace
}  // namespace cairn::cli
