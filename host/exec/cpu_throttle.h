// Holds a scan to a CPU limit (percent of one core) at its checkpoints: over
// short windows of wall time, the thread's CPU time may not exceed the limit;
// the checkpoint sleeps off any excess.
#pragma once

#include <atomic>
#include <chrono>

namespace vigil {

class CpuThrottle {
 public:
  static constexpr std::chrono::milliseconds kWindow{100};

  // `percent` 1..100; 100 means no throttling. `cancelled` cuts a sleep short.
  CpuThrottle(int percent, const std::atomic<bool>* cancelled);

  // Sleeps as needed to keep the calling thread within the limit.
  void checkpoint();
  int percent() const { return percent_; }

  // How long a thread that used `cpu_used` over `wall_elapsed` must rest to
  // average `percent` of one core. Pure, so the policy is unit-testable.
  static std::chrono::nanoseconds rest_needed(std::chrono::nanoseconds cpu_used, std::chrono::nanoseconds wall_elapsed,
                                              int percent);

 private:
  static std::chrono::nanoseconds thread_cpu_time();
  void start_window();

  int percent_;
  const std::atomic<bool>* cancelled_;
  std::chrono::steady_clock::time_point window_wall_start_;
  std::chrono::nanoseconds window_cpu_start_{};
};

}  // namespace vigil
