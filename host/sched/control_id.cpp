// ControlId generation.
#include "sched/control_id.h"

#include <ctime>

namespace vigil {

std::string ControlIdGenerator::next(std::chrono::system_clock::time_point now) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm local{};
  localtime_r(&seconds, &local);
  char stamp[16];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &local);
  std::lock_guard lock(mutex_);
  if (last_second_ == stamp) {
    ++counter_;
  } else {
    last_second_ = stamp;
    counter_ = 0;
  }
  return std::string(stamp) + "." + std::to_string(counter_);
}

}  // namespace vigil
