// The agent's side of the platform link, on its own thread: provisions
// (first start, golden-image clones, clones, migrations, platform requests),
// checks in every check-in interval, applies the desired state the platform
// sends (activated modules, manifests, profile), carries out its commands and
// uploads outbox entries for the scheduler. Configuration and identity live in
// the state store's config table (keys in docs/platform-link.md), so a crash
// at any step resumes where it was.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/paths.h"
#include "https/https_client.h"
#include "link/identity.h"
#include "log/log_manager.h"
#include "outbox/upload_target.h"
#include "store/state_store.h"
#include "vigil/agent/v1/agent.pb.h"
#include "vigil/result/result.h"

namespace vigil {

namespace v1 = ::vigil::agent::v1;

// What the link asks of the rest of the agent. Called on the link's thread;
// implementations hop to the agent's thread and wait (or give up at stop).
class LinkDelegate {
 public:
  virtual ~LinkDelegate() = default;
  virtual std::vector<v1::ModuleStatus> module_statuses() = 0;
  // Activation and profile are in the store now; `manifests_changed` lists
  // the modules whose manifests were replaced.
  virtual void desired_state_applied(const std::vector<std::string>& manifests_changed) = 0;
  virtual Result<std::string> scan_now(const std::string& module, int cpu_throttle) = 0;
  virtual void uninstall_requested() = 0;
  // The link can deliver again (provisioned, or the platform came back).
  virtual void uploads_possible() = 0;
};

// Config keys the link reads (set by vigilctl provision) and writes.
namespace link_keys {
inline constexpr const char* kServerUri = "ServerUri";
inline constexpr const char* kCustomerId = "CustomerId";
inline constexpr const char* kActivationId = "ActivationId";
inline constexpr const char* kGoldenImage = "GoldenImage";
inline constexpr const char* kGoldenImageFingerprint = "GoldenImageFingerprint";
inline constexpr const char* kHostIdSearchDir = "HostIdSearchDir";
inline constexpr const char* kCaBundle = "CaBundle";
inline constexpr const char* kAgentId = "AgentId";
inline constexpr const char* kAgentToken = "AgentToken";
inline constexpr const char* kActivatedModules = "ActivatedModules";
inline constexpr const char* kCheckinInterval = "CheckinInterval";
inline constexpr const char* kReprovisionReason = "ReprovisionReason";
}  // namespace link_keys

using ConfigChanges = std::vector<std::pair<std::string, std::optional<std::string>>>;
// The config changes that apply a desired state's profile and activation
// (StateStore::update_config form), given the current config. Module names
// that could not be modules are dropped.
ConfigChanges desired_state_config(const v1::DesiredState& state,
                                   const std::vector<std::pair<std::string, std::string>>& current);

// The agent runs every loaded module until a platform decides otherwise.
// nullopt: no platform decision (standalone agent).
std::optional<std::vector<std::string>> activated_modules(StateStore& store);

class PlatformLink {
 public:
  static constexpr int64_t kDefaultCheckinSeconds = 900;

  PlatformLink(Paths paths, StateStore& store, LogManager& logs, LinkDelegate& delegate);
  ~PlatformLink();
  PlatformLink(const PlatformLink&) = delete;
  PlatformLink& operator=(const PlatformLink&) = delete;

  void start();
  // Cancels what is in flight and joins the thread. Idempotent.
  void stop();
  // The configuration changed: act on it now instead of at the next check-in.
  void wake();

  // True when a platform is configured (ServerUri set); uploads go to it.
  bool configured();
  // Delivers one outbox entry (scheduler's pool thread). OK = acknowledged.
  // 400, 413 and 422 are refusals for good; anything else may pass later.
  UploadResult upload(const OutboxEntry& entry);

  nlohmann::json status();

 private:
  struct Settings;
  void run();
  Settings read_settings();
  std::string connection_key(const Settings& settings);
  Status ensure_clients(const Settings& settings);
  std::optional<std::string> provisioning_reason(const Settings& settings, const link::MachineFacts& facts);
  Status provision(const Settings& settings, const link::MachineFacts& facts, const std::string& reason);
  // Returns whether the platform sent anything to act on (check in again soon).
  Result<bool> checkin(const Settings& settings, const link::MachineFacts& facts);
  Status apply(const v1::DesiredState& state, const Settings& settings);
  // POSTs `request` on the upload connection or the link thread's one.
  // `http_status`, when given, receives the reply's status (0: none came).
  Result<std::string> call(const char* path, const google::protobuf::Message& request, bool upload,
                           int* http_status = nullptr);
  void carry_out(const v1::Command& command);
  void wait_for(std::chrono::milliseconds delay);
  std::chrono::milliseconds next_backoff();
  void set_state(const std::string& state, const std::string& error = {});
  // Records and logs why the link is not working, then waits out the next backoff.
  void retry_later(const std::string& state, const std::string& error);
  // Logs a failed store write the link cannot do anything else about.
  void remember(const Status& saved);

  Paths paths_;
  StateStore& store_;
  LogManager& logs_;
  LinkDelegate& delegate_;
  std::thread thread_;

  std::mutex wake_mutex_;
  std::condition_variable wake_cv_;
  bool woken_ = false;
  std::atomic<bool> stopping_{false};

  // One connection for the link thread, one for uploads; rebuilt when the URL
  // or CA bundle changes (clients_mutex_), each used under its own lock.
  std::mutex clients_mutex_;
  std::shared_ptr<link::HttpsClient> checkin_client_;
  std::shared_ptr<link::HttpsClient> upload_client_;
  std::string client_key_;  // URL + CA bundle the clients were made for
  std::mutex checkin_mutex_;
  std::mutex upload_mutex_;
  int checkin_http_status_ = 0;  // of the last link-thread call

  std::chrono::milliseconds backoff_{0};
  std::string last_status_digest_;  // of the module statuses the platform has
  std::vector<uint64_t> done_commands_;

  std::mutex status_mutex_;
  nlohmann::json status_ = {{"state", "starting"}};
};

}  // namespace vigil
