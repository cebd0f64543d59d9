// ControlIds name on-demand requests: the request's local timestamp
// "YYYYMMDDhhmmss" plus ".N", N counting requests within the same second.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

namespace vigil {

class ControlIdGenerator {
 public:
  std::string next(std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

 private:
  std::mutex mutex_;
  std::string last_second_;
  int counter_ = 0;
};

}  // namespace vigil
