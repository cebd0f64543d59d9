// The wire format both ends of the platform link share: platform URLs and gzip bodies.
#include "vigil/net/wire.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(PlatformUrl, AcceptsHttpsHostsPortsAndPrefixes) {
  auto url = wire::parse_url("https://platform.example:8443/agents/");
  ASSERT_TRUE(url.ok()) << url.error();
  EXPECT_EQ(url.value().host, "platform.example");
  EXPECT_EQ(url.value().port, 8443);
  EXPECT_EQ(url.value().prefix, "/agents");
  EXPECT_EQ(wire::parse_url("https://127.0.0.1").value().port, 443);
  auto v6 = wire::parse_url("https://[::1]:9000");
  ASSERT_TRUE(v6.ok()) << v6.error();
  EXPECT_EQ(v6.value().host, "::1");
  EXPECT_EQ(v6.value().to_string(), "https://[::1]:9000");
}

TEST(PlatformUrl, RefusesEverythingElseNamingWhy) {
  for (const char* bad :
       {"http://127.0.0.1", "https://", "https://:443", "https://host:0", "https://host:70000", "https://host:12ab",
        "https://user@host", "https://host/a?b", "https://[::1", "https://ho st", "ftp://x"}) {
    auto url = wire::parse_url(bad);
    EXPECT_FALSE(url.ok()) << bad;
    if (!url.ok()) {
      EXPECT_NE(url.error().find(bad), std::string::npos);
    }
  }
}

TEST(Gzip, RoundTripsAndRefusesCorruptOrTruncatedBodies) {
  std::string text;
  for (int i = 0; i < 10000; ++i) text += "row " + std::to_string(i) + "\n";
  auto packed = wire::gzip(text);
  ASSERT_TRUE(packed.ok());
  EXPECT_LT(packed.value().size(), text.size() / 3);
  EXPECT_EQ(wire::gunzip(packed.value()).value(), text);
  EXPECT_FALSE(wire::gunzip(packed.value().substr(0, packed.value().size() / 2)).ok());
  EXPECT_FALSE(wire::gunzip("plain text").ok());
  EXPECT_FALSE(wire::gunzip(packed.value() + "trailing").ok());
}

TEST(Gzip, RefusesABombPastTheBodyLimit) {
  auto bomb = wire::gzip(std::string(wire::kMaxBodyBytes + 1, '\0'));
  ASSERT_TRUE(bomb.ok());
  EXPECT_LT(bomb.value().size(), size_t{1} << 20);
  auto unpacked = wire::gunzip(bomb.value());
  ASSERT_FALSE(unpacked.ok());
  EXPECT_NE(unpacked.error().find("larger than"), std::string::npos);
}

}  // namespace
}  // namespace vigil
