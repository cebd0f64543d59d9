// The small pure rules of scheduling: ControlIds, CPU limits from the key hive
// and from cputhrottle.
#include <gtest/gtest.h>

#include <regex>

#include "sched/control_id.h"
#include "sched/scheduler.h"

namespace vigil {
namespace {

TEST(ControlId, IsTheTimestampWithACounterPerSecond) {
  ControlIdGenerator ids;
  auto now = std::chrono::system_clock::now();
  std::string first = ids.next(now);
  std::string second = ids.next(now);
  EXPECT_TRUE(std::regex_match(first, std::regex(R"(\d{14}\.0)"))) << first;
  EXPECT_EQ(second.substr(0, 15), first.substr(0, 15));
  EXPECT_EQ(second.back(), '1');
  EXPECT_EQ(ids.next(now + std::chrono::seconds(1)).back(), '0');
}

TEST(CpuLimits, HiveValueOutside2To100OrMissingMeans100) {
  EXPECT_EQ(hive_cpu_limit(std::nullopt), 100);
  EXPECT_EQ(hive_cpu_limit(std::string("2")), 2);
  EXPECT_EQ(hive_cpu_limit(std::string("55")), 55);
  EXPECT_EQ(hive_cpu_limit(std::string("1")), 100);
  EXPECT_EQ(hive_cpu_limit(std::string("101")), 100);
  EXPECT_EQ(hive_cpu_limit(std::string("abc")), 100);
  EXPECT_EQ(hive_cpu_limit(std::string("")), 100);
}

TEST(CpuLimits, CpuThrottleIsPerMilleOfACore) {
  EXPECT_EQ(cpu_limit_from_throttle(0).value(), 100);
  EXPECT_EQ(cpu_limit_from_throttle(1).value(), 1);
  EXPECT_EQ(cpu_limit_from_throttle(250).value(), 25);
  EXPECT_EQ(cpu_limit_from_throttle(1000).value(), 100);
  EXPECT_FALSE(cpu_limit_from_throttle(1001).ok());
  EXPECT_FALSE(cpu_limit_from_throttle(-1).ok());
}

}  // namespace
}  // namespace vigil
