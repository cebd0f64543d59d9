// The text helpers and hex.
#include "vigil/text/text.h"

#include <gtest/gtest.h>

#include "vigil/text/hex.h"

namespace vigil {
namespace {

TEST(Text, TrimUnquoteAndHex) {
  EXPECT_EQ(trim(" \t value \r\n"), "value");
  EXPECT_EQ(unquote("\"Debian GNU/Linux 12\""), "Debian GNU/Linux 12");
  EXPECT_EQ(unquote("'x'"), "x");
  EXPECT_EQ(unquote("\"unbalanced'"), "\"unbalanced'");
  EXPECT_EQ(unquote("\""), "\"");
  EXPECT_EQ(to_hex(std::string("\x00\x7f\xff", 3)), "007fff");
  unsigned char raw[3] = {};
  ASSERT_TRUE(from_hex("007fff", raw, 3));
  EXPECT_EQ(to_hex(raw, 3), "007fff");
  EXPECT_FALSE(from_hex("007FFF", raw, 3)) << "digests are written in lowercase";
  EXPECT_FALSE(from_hex("007ff", raw, 3)) << "one digit short";
  EXPECT_FALSE(from_hex("", raw, 0));
}

}  // namespace
}  // namespace vigil
