// What the link reports of itself (vigilctl status): written by the link's
// thread and by the connections' route observers, read by the agent's thread.
#pragma once

#include <nlohmann/json.hpp>

#include <mutex>
#include <string>

#include "link/link_settings.h"

namespace vigil {

class LinkStatus {
 public:
  void set_state(const std::string& state, const std::string& error = {}) {
    std::lock_guard lock(mutex_);
    report_["state"] = state;
    if (!error.empty()) {
      report_["last_error"] = error;
      report_["last_error_at"] = link::unix_now();
      report_["failed_attempts"] = report_.value("failed_attempts", int64_t{0}) + 1;
    }
  }
  // Counts one more of `field` ("checkins"): vigilctl checkin --wait waits for it to move.
  void count(const char* field) {
    std::lock_guard lock(mutex_);
    report_[field] = report_.value(field, int64_t{0}) + 1;
  }
  void update(const nlohmann::json& fields) {
    std::lock_guard lock(mutex_);
    report_.update(fields);
  }
  nlohmann::json report() {
    std::lock_guard lock(mutex_);
    return report_;
  }

 private:
  std::mutex mutex_;
  nlohmann::json report_ = {{"state", "starting"}};
};

}  // namespace vigil
