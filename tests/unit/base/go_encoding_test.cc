#include "core/base/go_encoding.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cairn {
namespace {

TEST(GoUnquote, UndoesGoQuoting) {
  EXPECT_EQ(*goUnquote(R"("plain")"), "plain");
  EXPECT_EQ(*goUnquote(R"("")"), "");
  EXPECT_EQ(*goUnquote(R"("a\"b\\c\n\t")"), "a\"b\\c\n\t");
  EXPECT_EQ(*goUnquote(R"("\x41\101\u00e9\U0001F600")"), "AA\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(*goUnquote(R"("\a\b\f\r\v")"), "\a\b\f\r\v");
}

TEST(GoUnquote, RoundTripsGoQuote) {
  for (const std::string& s : std::vector<std::string>{"x", "with \"quotes\"", "back\\slash",
                                                      std::string("\x01\x7f", 2), "é"}) {
    auto back = goUnquote(goQuote(s));
    ASSERT_TRUE(back.isOk()) << s;
    EXPECT_EQ(*back, s);
  }
}

TEST(GoUnquote, RejectsMalformedInput) {
  for (const char* bad : {"", "\"", "noquotes", "\"open", "\"bad\\q\"", "\"\\x4\"", "\"\\777\"",
                          "\"\\ud800\"", "\"\\U00110000\"", "\"a\"b\"", "\"trailing\\\""}) {
    EXPECT_FALSE(goUnquote(bad).isOk()) << bad;
  }
}

}  // namespace
}  // namespace cairn
