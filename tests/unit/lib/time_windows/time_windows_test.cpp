// Blackout windows: parsing, the minutes they hold, how long until they open.
#include "vigil/time_windows/time_windows.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(TimeWindows, WindowsParseAndContainTheirMinutes) {
  auto windows = TimeWindows::parse("01:00-02:30, 22:00-02:00");
  ASSERT_TRUE(windows.ok()) << windows.error();
  EXPECT_TRUE(windows.value().contains(60));
  EXPECT_FALSE(windows.value().contains(150));  // end is exclusive
  EXPECT_TRUE(windows.value().contains(23 * 60));
  EXPECT_TRUE(windows.value().contains(30));  // across midnight
  EXPECT_FALSE(windows.value().contains(12 * 60));
  EXPECT_EQ(windows.value().to_string(), "01:00-02:30,22:00-02:00");
}

TEST(TimeWindows, MinutesUntilOpen_FollowsChainedWindows) {
  auto windows = TimeWindows::parse("22:00-02:00,01:00-02:30").value();
  EXPECT_EQ(windows.minutes_until_open(23 * 60), 3 * 60 + 30);
  EXPECT_EQ(windows.minutes_until_open(12 * 60), 0);
}

TEST(TimeWindows, BadWindows_AreRefusedNamingTheItem) {
  EXPECT_TRUE(TimeWindows::parse("").value().empty());
  for (const char* bad : {"1:00-2:00", "01:00", "25:00-01:00", "01:00-01:00", "01:00-02:00,x"}) {
    auto parsed = TimeWindows::parse(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.error().find("' is not a window"), std::string::npos) << parsed.error();
  }
}

}  // namespace
}  // namespace vigil
