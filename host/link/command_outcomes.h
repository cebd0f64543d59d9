// What became of the platform's commands (CommandOutcome), kept until a
// check-in carried it to the platform. Filled on the link's thread (a command
// carried out) and the agent's (a scan the platform ordered ended); in memory
// only: a scan that outlives the worker reports its start, not its end.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "link/link_status.h"
#include "vigil/agent/v1/agent.pb.h"
#include "vigil/result/result.h"

namespace vigil {

namespace v1 = ::vigil::agent::v1;

class CommandOutcomes {
 public:
  void add(uint64_t id, const std::string& outcome, const std::string& reason = {},
           const std::string& control_id = {}) {
    std::lock_guard lock(mutex_);
    add_locked(id, outcome, reason, control_id);
  }
  // Command `id` started the scan `control_id`: its end is the command's outcome.
  void watch_scan(uint64_t id, const std::string& control_id) {
    std::lock_guard lock(mutex_);
    if (auto ended = ended_.find(control_id); ended != ended_.end()) {
      add_locked(id, ended->second.first, ended->second.second, control_id);
      return;
    }
    scans_[control_id] = id;
  }
  // A scan ended; true when a platform command ordered it (an outcome to send).
  bool scan_ended(const std::string& control_id, const Status& status) {
    std::lock_guard lock(mutex_);
    std::string outcome = status.ok() ? "completed" : status.code() == ErrorCode::kCancelled ? "cancelled" : "failed";
    std::string reason = status.ok() ? std::string() : status.error();
    auto watched = scans_.find(control_id);
    if (watched == scans_.end()) {
      // It may have ended before watch_scan ran: remembered briefly.
      ended_[control_id] = {outcome, reason};
      ended_order_.push_back(control_id);
      if (ended_order_.size() > kEndedRemembered) {
        ended_.erase(ended_order_.front());
        ended_order_.pop_front();
      }
      return false;
    }
    add_locked(watched->second, outcome, reason, control_id);
    scans_.erase(watched);
    return true;
  }
  std::vector<v1::CommandOutcome> pending() {
    std::lock_guard lock(mutex_);
    return {pending_.begin(), pending_.end()};
  }
  // The first `count` pending outcomes reached the platform.
  void acknowledged(size_t count) {
    std::lock_guard lock(mutex_);
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(std::min(count, pending_.size())));
  }

 private:
  static constexpr size_t kEndedRemembered = 64;
  static constexpr size_t kPendingKept = 500;  // the oldest go first when the platform is away that long

  void add_locked(uint64_t id, const std::string& outcome, const std::string& reason, const std::string& control_id) {
    v1::CommandOutcome entry;
    entry.set_id(id);
    entry.set_outcome(outcome);
    entry.set_reason(reason.substr(0, 500));
    entry.set_control_id(control_id);
    entry.set_at(link::unix_now());
    pending_.push_back(std::move(entry));
    if (pending_.size() > kPendingKept) pending_.pop_front();
  }

  std::mutex mutex_;
  std::deque<v1::CommandOutcome> pending_;
  std::map<std::string, uint64_t> scans_;  // ControlId -> command id
  std::map<std::string, std::pair<std::string, std::string>> ended_;
  std::deque<std::string> ended_order_;
};

}  // namespace vigil
