// CpuThrottle's policy: how long a scan must rest to average its CPU limit.
#include "exec/cpu_throttle.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

using std::chrono::milliseconds;

TEST(CpuThrottle, NoLimit_NeverRests) {
  EXPECT_EQ(CpuThrottle::rest_needed(milliseconds(100), milliseconds(100), 100).count(), 0);
}

TEST(CpuThrottle, HalfLimit_RestsAsLongAsItWorked) {
  EXPECT_EQ(CpuThrottle::rest_needed(milliseconds(50), milliseconds(50), 50), milliseconds(50));
}

TEST(CpuThrottle, TenPercent_NeedsTenTimesTheWallTime) {
  EXPECT_EQ(CpuThrottle::rest_needed(milliseconds(10), milliseconds(20), 10), milliseconds(80));
}

TEST(CpuThrottle, AlreadyUnderLimit_DoesNotRest) {
  EXPECT_EQ(CpuThrottle::rest_needed(milliseconds(5), milliseconds(100), 10).count(), 0);
}

TEST(CpuThrottle, Checkpoint_WithCancelSet_ReturnsPromptly) {
  std::atomic<bool> cancelled{true};
  CpuThrottle throttle(1, &cancelled);
  // Burn a little CPU so a rest would be due, then checkpoint must not sleep it off.
  volatile uint64_t sink = 0;
  for (int i = 0; i < 20000000; ++i) sink = sink + static_cast<uint64_t>(i);
  auto before = std::chrono::steady_clock::now();
  throttle.checkpoint();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(1));
}

}  // namespace
}  // namespace vigil
