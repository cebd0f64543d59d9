// CPU limit enforcement at plugin checkpoints, on the thread's own CPU clock.
#include "exec/cpu_throttle.h"

#include <time.h>

#include <algorithm>
#include <thread>

namespace vigil {

CpuThrottle::CpuThrottle(int percent, const std::atomic<bool>* cancelled)
    : percent_(std::clamp(percent, 1, 100)), cancelled_(cancelled) {
  start_window();
}

std::chrono::nanoseconds CpuThrottle::thread_cpu_time() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

void CpuThrottle::start_window() {
  window_wall_start_ = std::chrono::steady_clock::now();
  window_cpu_start_ = thread_cpu_time();
}

std::chrono::nanoseconds CpuThrottle::rest_needed(std::chrono::nanoseconds cpu_used,
                                                  std::chrono::nanoseconds wall_elapsed, int percent) {
  if (percent >= 100 || cpu_used.count() <= 0) return std::chrono::nanoseconds(0);
  auto wall_allowed = cpu_used * 100 / std::max(percent, 1);
  return std::max(wall_allowed - wall_elapsed, std::chrono::nanoseconds(0));
}

void CpuThrottle::checkpoint() {
  if (percent_ >= 100) return;
  auto wall_elapsed = std::chrono::steady_clock::now() - window_wall_start_;
  auto rest = rest_needed(thread_cpu_time() - window_cpu_start_, wall_elapsed, percent_);
  // Sleep in slices so a cancel is noticed quickly.
  constexpr auto kSlice = std::chrono::milliseconds(10);
  auto wake = std::chrono::steady_clock::now() + rest;
  while (std::chrono::steady_clock::now() < wake) {
    if (cancelled_ != nullptr && cancelled_->load(std::memory_order_relaxed)) return;
    std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(kSlice, wake - std::chrono::steady_clock::now()));
  }
  if (std::chrono::steady_clock::now() - window_wall_start_ >= kWindow) start_window();
}

}  // namespace vigil
