#include <gtest/gtest.h>

#include <cstdlib>

#include "agent/cli/api_client.h"
#include "agent/cli/kv_entry.h"

namespace cairn::agent::cli {
namespace {

TEST(HttpAddr, FlagThenCairnThenConsulEnvThenDefault) {
  unsetenv("CAIRN_HTTP_ADDR");
  unsetenv("CONSUL_HTTP_ADDR");
  EXPECT_EQ(resolveHttpAddr(""), "http://127.0.0.1:8500");
  setenv("CONSUL_HTTP_ADDR", "10.0.0.1:1", 1);
  EXPECT_EQ(resolveHttpAddr(""), "http://10.0.0.1:1");
  setenv("CAIRN_HTTP_ADDR", "https://h:2", 1);
  EXPECT_EQ(resolveHttpAddr(""), "https://h:2");
  EXPECT_EQ(resolveHttpAddr("127.0.0.2:3"), "http://127.0.0.2:3");
  unsetenv("CAIRN_HTTP_ADDR");
  unsetenv("CONSUL_HTTP_ADDR");
}

TEST(KeyPath, EncodesEverythingButSlashAndUnreserved) {
  EXPECT_EQ(encodeKeyPath("a/b c?d%e#f"), "a/b%20c%3Fd%25e%23f");
  EXPECT_EQ(encodeKeyPath("x-y_z.~"), "x-y_z.~");
}

TEST(ExportJson, RoundTripsBinaryValuesAndFlags) {
  std::vector<store::KvEntry> in = {{"a", std::string("\0\xff", 2), 7}, {"b/c", "", 0}};
  auto out = parseExportJson(exportJson(in));
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].value, in[0].value);
  EXPECT_EQ((*out)[0].flags, 7u);
  EXPECT_EQ((*out)[1].key, "b/c");
  EXPECT_EQ(exportJson({}), "[]\n");
}

TEST(ExportJson, RejectsMalformedInput) {
  EXPECT_FALSE(parseExportJson("{").isOk());
  EXPECT_FALSE(parseExportJson(R"({"key":"a"})").isOk());
  EXPECT_FALSE(parseExportJson(R"([{"flags":1}])").isOk());
  EXPECT_FALSE(parseExportJson(R"([{"key":"a","value":"%%%"}])").isOk());
}

TEST(ReadData, LiteralAndFile) {
  EXPECT_EQ(*readData("text"), "text");
  EXPECT_FALSE(readData("@/nonexistent/file").isOk());
}

}  // namespace
}  // namespace cairn::agent::cli
