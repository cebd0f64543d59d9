// vigild's lifecycle: takes the instance lock, opens the state store and logs,
// loads the plugins, serves the control socket, and stops cleanly on SIGINT /
// SIGTERM or `vigilctl stop`. Everything but scans runs on one io_context
// thread; scans run on a small worker pool.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/paths.h"
#include "control_socket/control_server.h"
#include "link/platform_link.h"
#include "log/log_manager.h"
#include "plugin/registry.h"
#include "sched/event_batcher.h"
#include "sched/hive_watcher.h"
#include "sched/scheduler.h"
#include "store/default_manifests.h"
#include "store/plugin_slots.h"
#include "store/state_store.h"
#include "vigil/result/result.h"

namespace vigil {

class MetricsWriter;

struct AgentOptions {
  Paths paths;
  std::optional<std::filesystem::path> plugin_dir;  // overrides paths.plugin_dir
  bool log_to_stderr = false;
  int ready_fd = -1;       // receives "READY=1\n" once plugins are loaded and the socket listens
  int supervisor_fd = -1;  // reports to the supervisor, which holds the instance lock; -1: unsupervised
  size_t scan_threads = 2;
};

// What a module reports for operators (ABI 1.6): [{code, severity, description, fix}].
nlohmann::json conditions_of(const LoadedPlugin& plugin);

class Agent : public LinkDelegate {
 public:
  explicit Agent(AgentOptions options);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Starts everything and runs until stopped. Returns the failure that kept it
  // from starting (sets `started` so callers can tell it from a later failure).
  Status run(bool* started = nullptr);
  // Why the worker stopped to be started again by the supervisor ("" when it did not).
  const std::string& restart_reason() const { return restart_reason_; }

 private:
  Status start();
  // Records the crash charges a restarted worker inherits and logs why it was
  // restarted; modules in `not_charged` had their death charged to a version.
  void record_previous_crash(const std::set<std::string>& not_charged);
  void report_to_supervisor(const std::string& line);
  void shutdown();

  // Control requests (control_requests.cpp): a table maps each request's
  // "command" to the member that answers it.
  using RequestHandler = void (Agent::*)(const nlohmann::json& request, const ControlServer::Reply& reply);
  struct ControlRequest {
    std::string_view command;
    RequestHandler handler;
  };
  static std::span<const ControlRequest> control_requests();
  void handle(const nlohmann::json& request, const ControlServer::Reply& reply);
  void on_plugins(const nlohmann::json& request, const ControlServer::Reply& reply);
  void on_status(const nlohmann::json& request, const ControlServer::Reply& reply);
  void on_results(const nlohmann::json& request, const ControlServer::Reply& reply);
  void on_manifest_set(const nlohmann::json& request, const ControlServer::Reply& reply);
  // A manifest sent in parts (docs/vigilctl.md): the body so far. One at a
  // time; a new upload replaces an unfinished one.
  struct ManifestUpload {
    std::string id;
    std::string body;
    int64_t next_part = 0;
  };
  std::optional<ManifestUpload> manifest_upload_;
  // vigilctl manifest remove: the module's stored manifest goes; its default, if any, is in force again.
  void on_manifest_remove(const nlohmann::json& request, const ControlServer::Reply& reply);
  // The default manifests shipped beside the plugins for `module` on this OS (default_manifests.h).
  DefaultManifests default_manifests(const std::string& module) const;
  void on_demand(const nlohmann::json& request, const ControlServer::Reply& reply);
  void on_demand_status(const nlohmann::json& request, const ControlServer::Reply& reply);
  void on_unload(const nlohmann::json& request, const ControlServer::Reply& reply);
  void on_reload(const nlohmann::json& request, const ControlServer::Reply& reply);
  void on_release(const nlohmann::json& request, const ControlServer::Reply& reply);
  void on_link_changed(const nlohmann::json& request, const ControlServer::Reply& reply);
  void on_stop(const nlohmann::json& request, const ControlServer::Reply& reply);
  // vigilctl uninstall: tell the platform (a last check-in), then vigilctl stops the agent.
  void on_leave(const nlohmann::json& request, const ControlServer::Reply& reply);
  nlohmann::json plugins_report() const;
  nlohmann::json status_report();
  // Why `module` cannot be demanded, in words that say what to do (OK: the scheduler decides).
  Status why_not_scannable(const std::string& module);
  // Real-time events per module since start: {"fim": {"received", "written", "lost"}}.
  nlohmann::json event_counts();
  void unload(const std::string& module, const ControlServer::Reply& reply, bool load_again);
  // Swaps code that cannot be unloaded in-process: stops this worker so that the
  // supervisor starts a new one, which loads the plugins afresh. Replies first.
  void restart_worker(const std::string& reason, const ControlServer::Reply& reply);
  // Runs the modules the platform activated (all loaded ones on a standalone agent).
  void reconcile_activation();
  // vigilctl config changed settings (config_changes.cpp): what applies live
  // applies now; the reply names the keys that wait for a restart.
  void config_changed(const nlohmann::json& request, const ControlServer::Reply& reply);
  void apply_log_level();
  void apply_outbox_limits();

  // Plugin swaps (plugin_swap.cpp; docs/design/self-patch.md §5). Only host
  // code decides; one module is on probation at a time.
  // Before plugins load: settles each module's slot row after the last
  // worker's end (a death while probing reverts). Returns the modules whose
  // death was charged to a version, not to the module.
  std::set<std::string> settle_plugin_slots();
  // The factory files that slots stand in for (load_directory skips them).
  std::set<std::filesystem::path> factory_files_replaced();
  // After the factory plugins loaded: loads the active slots, each checked
  // against its signed sha256 (a file changed on disk runs the factory one).
  void load_plugin_slots();
  // After start: resumes a probation a clean restart interrupted, offers staged swaps.
  void resume_plugin_swaps();
  // Swaps `module` to `slot` ("a", "b" or "factory"); `rollback`: the operator
  // undoes the current version, which is never swapped to again.
  void swap_plugin(const std::string& module, const std::string& slot, bool rollback,
                   const ControlServer::Reply& reply);
  // Swaps the first staged module when AutoUpgrade is on and no probe runs.
  void offer_staged_upgrades();
  void begin_probe(const std::string& module, const std::string& from_version, int64_t swap_ms);
  void probe_scan_ended(const std::string& module, const Status& outcome);
  void probe_window_ended();
  // The version on probation (or refused at load) goes; the previous one runs
  // again and scans at once. `reason` is recorded with the bad version.
  void revert_plugin(const std::string& module, const std::string& reason);
  // Loads the file of the active slot, checked against its signed sha256, module and version.
  Result<std::string> load_slot(const PluginSlotState& slots);
  void on_plugin_upgrade(const nlohmann::json& request, const ControlServer::Reply& reply);
  void on_plugin_rollback(const nlohmann::json& request, const ControlServer::Reply& reply);
  void on_plugin_history(const nlohmann::json& request, const ControlServer::Reply& reply);

  // Self-protection (self_protection.cpp; docs/self-protection.md).
  // Reads SelfProtection: tells the supervisor which files to guard and
  // whether protection is on, and allows or forbids ptrace attach.
  void apply_self_protection();
  // Whether stops, uninstalls and turning protection off need a platform key now.
  bool protection_locked() const;
  // Checks request["sp_key"]; a valid key opens the lock for kUnlockTime.
  Status unlock_protection(const nlohmann::json& request);
  void on_protection_unlock(const nlohmann::json& request, const ControlServer::Reply& reply);
  // SIGTERM and SIGINT arrive with their sender through a pipe: while locked,
  // only the supervisor's stop is obeyed.
  void install_stop_signals();
  void read_stop_signal();
  nlohmann::json protection_report() const;

  // LinkDelegate: called on the link's thread, carried out on the agent's.
  std::vector<v1::ModuleStatus> module_statuses() override;
  // health_digest.cpp: the in-process steps of the health check over this agent's status.
  std::optional<v1::HealthDigest> health_digest() override;
  std::vector<std::string> ignored_settings() override;
  void desired_state_applied(const std::vector<std::string>& manifests_changed) override;
  Result<std::string> scan_now(const std::string& module, int cpu_throttle) override;
  void uninstall_requested() override;
  // After the platform's uninstall command and the last check-in.
  void leave_after_uninstall_command();
  void uploads_possible() override;
  void plugin_staged(const std::string& module) override;
  // Runs `work` on the agent's thread and waits for it; false if the agent stops first.
  bool on_agent_thread(const std::function<void()>& work);

  AgentOptions options_;
  boost::asio::io_context io_;
  boost::asio::posix::stream_descriptor stop_signals_;
  struct StopSignal {
    int signal = 0;
    pid_t sender = 0;
  } stop_signal_;
  bool protected_ = false;
  std::chrono::steady_clock::time_point unlocked_until_{};
  std::vector<std::string> refused_stops_;  // the last few, for status
  boost::asio::thread_pool scan_pool_;
  int lock_fd_ = -1;
  bool stopping_ = false;
  int64_t started_at_ = 0;
  std::string os_name_;  // os-release's "<ID>-<VERSION_ID>": picks OS-specific default manifests
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<LogManager> logs_;
  std::unique_ptr<EventBatcher> events_;
  std::unique_ptr<PluginRegistry> registry_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<HiveWatcher> hive_watcher_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<PlatformLink> link_;
  std::unique_ptr<MetricsWriter> metrics_;
  std::atomic<bool> link_stopping_{false};
  std::string lingering_code_;  // set when an unloaded plugin's code stayed mapped: what and why
  std::string restart_reason_;
  struct CrashedDemand {
    std::string module, control_id, message;
  };
  std::vector<CrashedDemand> crashed_demands_;  // from the last worker's crash, for the scheduler
  struct Probe {
    std::string module, from_version, to_version;
    int64_t swap_ms = 0;
    bool scan_done = false;  // its first scan ended OK (or it has nothing to scan)
    std::unique_ptr<boost::asio::steady_timer> window;
  };
  std::optional<Probe> probe_;
  std::string swapping_;                                             // the module whose old version is being unloaded
  std::unique_ptr<boost::asio::steady_timer> upgrade_window_timer_;  // staged versions wait for UpgradeWindow
};

}  // namespace vigil
