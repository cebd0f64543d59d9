// The agent's side of the platform link, on its own thread: each round reads
// the settings, provisions when it must (provisioning.h), otherwise checks in
// (checkin.h) and applies what comes back (desired_state.h,
// platform_commands.h); it waits the check-in interval, or a backoff after a
// failure. Uploads (platform_upload_target.h) use a connection of their own.
// Configuration and identity live in the state store's config table
// (link_settings.h), so a crash at any step resumes where it was.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/paths.h"
#include "link/checkin.h"
#include "link/command_outcomes.h"
#include "link/desired_state.h"
#include "link/identity.h"
#include "link/link_delegate.h"
#include "link/link_settings.h"
#include "link/link_status.h"
#include "link/order_wait.h"
#include "link/platform_connection.h"
#include "link/provisioning.h"
#include "link/update_check.h"
#include "log/log_manager.h"
#include "outbox/upload_target.h"
#include "store/outbox.h"
#include "store/state_store.h"
#include "vigil/result/result.h"

namespace vigil {

class PlatformLink {
 public:
  PlatformLink(Paths paths, StateStore& store, LogManager& logs, LinkDelegate& delegate);
  ~PlatformLink();
  PlatformLink(const PlatformLink&) = delete;
  PlatformLink& operator=(const PlatformLink&) = delete;

  void start();
  // Cancels what is in flight and joins the thread. Idempotent.
  void stop();
  // The configuration changed: act on it now instead of at the next check-in.
  void wake();
  // A scan ended (the agent's thread): the link checks in at once when a
  // platform command ordered it, or when the module's result changed (a
  // scan that starts failing, or works again, is news for the platform).
  void scan_ended(const std::string& module, const std::string& control_id, const Status& outcome);

  // The agent is being uninstalled: the link's thread tells the platform in a
  // last check-in (CheckinRequest.leaving) and checks in no more. `done` gets
  // the outcome on the link's thread (a later call gets the first outcome;
  // "the agent is stopping" once the link stopped). Never provisions for it.
  void leave(std::function<void(Status)> done);

  // True when a platform is configured (ServerUri set); uploads go to it.
  bool configured();
  // Delivers one outbox entry (scheduler's pool thread). OK = acknowledged.
  // 400, 413 and 422 are refusals for good; anything else may pass later.
  UploadResult upload(const OutboxEntry& entry);

  nlohmann::json status();

 private:
  void run();
  // Provisions, then applies the desired state the reply carries.
  Status provision(const LinkSettings& settings, const link::MachineFacts& facts, const std::string& reason);
  LinkSettings read_settings();
  void wait_for(std::chrono::milliseconds delay);
  std::chrono::milliseconds next_backoff();
  // Records and logs why the link is not working, then waits out the next backoff.
  void retry_later(const std::string& state, const std::string& error);
  // Answers the leave requests made since the last round (the link's thread).
  void answer_leave_requests();
  // Waits out the check-in interval, with a standing wait for orders (order_wait.h).
  void idle_until_next_checkin(const LinkSettings& settings);

  Paths paths_;
  StateStore& store_;
  LogManager& logs_;
  LinkDelegate& delegate_;
  LinkStatus status_;
  PlatformConnection connection_;
  Provisioner provisioner_;
  DesiredStateApplier desired_state_;
  CommandOutcomes outcomes_;
  std::map<std::string, std::string> last_scan_error_;  // by module, "" when it completed; agent's thread only
  Checkin checkin_;
  UpdateCheck update_check_;
  OrderWait order_wait_;
  std::thread thread_;

  std::mutex wake_mutex_;
  std::condition_variable wake_cv_;
  bool woken_ = false;
  std::atomic<bool> stopping_{false};
  std::chrono::milliseconds backoff_{0};

  std::mutex leave_mutex_;
  std::vector<std::function<void(Status)>> leave_requests_;
  std::optional<Status> left_;  // how telling the platform went, once done
  bool link_finished_ = false;  // the thread ended: requests are answered at once
};

}  // namespace vigil
