// vigild's lifecycle: takes the instance lock, opens the state store and logs,
// loads the plugins, serves the control socket, and stops cleanly on SIGINT /
// SIGTERM or `vigilctl stop`. Everything but scans runs on one io_context
// thread; scans run on a small worker pool.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
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
  // Records the crash charges a restarted worker inherits and logs why it was restarted.
  void record_previous_crash();
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

  // LinkDelegate: called on the link's thread, carried out on the agent's.
  std::vector<v1::ModuleStatus> module_statuses() override;
  // health_digest.cpp: the in-process steps of the health check over this agent's status.
  std::optional<v1::HealthDigest> health_digest() override;
  void desired_state_applied(const std::vector<std::string>& manifests_changed) override;
  Result<std::string> scan_now(const std::string& module, int cpu_throttle) override;
  void uninstall_requested() override;
  // After the platform's uninstall command and the last check-in.
  void leave_after_uninstall_command();
  void uploads_possible() override;
  // Runs `work` on the agent's thread and waits for it; false if the agent stops first.
  bool on_agent_thread(const std::function<void()>& work);

  AgentOptions options_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::thread_pool scan_pool_;
  int lock_fd_ = -1;
  bool stopping_ = false;
  int64_t started_at_ = 0;
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
};

}  // namespace vigil
