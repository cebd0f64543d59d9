// The scan scheduler: one state machine per activated module
//   disabled -> idle -> collecting -> (delta pending -> uploading ->) idle
// fed by its triggers (scan interval, key hive, on-startup, vigilctl demand,
// platform command) and enforcing the rules of docs/scheduling.md: no scan without
// activation or manifest; one scan at a time and none while a delta is
// pending; a demand during an interval scan is delayed until it ends; blackout
// windows hold uploads; a completed on-demand/on-startup scan restarts the
// interval. Runs on the agent's io_context thread; scans run on the pool and
// their deltas are delivered by the OutboxDelivery it owns.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "log/log_manager.h"
#include "outbox/outbox_delivery.h"
#include "plugin/loaded_plugin.h"
#include "sched/control_id.h"
#include "sched/scan_runner.h"
#include "store/default_manifests.h"
#include "store/state_store.h"
#include "vigil/result/result.h"

namespace vigil {

enum class ModuleState { kDisabled, kIdle, kCollecting, kDeltaPending, kUploading };
enum class Trigger { kInterval, kOnDemand, kOnStartup };

const char* state_name(ModuleState state);
const char* trigger_name(Trigger trigger);

// "CpuLimit" values outside 2..100 (or missing) mean 100.
int hive_cpu_limit(const std::optional<std::string>& value);
// cputhrottle 0..1000 (per mille of one core; 0 = none) -> percent limit.
Result<int> cpu_limit_from_throttle(int throttle);

class Scheduler : private DeliveryListener {
 public:
  // `proxy_file`: https_proxy / no_proxy of it reach every command scans run (SPEC §7).
  Scheduler(boost::asio::io_context& io, boost::asio::thread_pool& pool, StateStore& store, LogManager& logs,
            std::unique_ptr<UploadTarget> target, std::filesystem::path proxy_file = {});
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Activates the modules present at start, runs their on-startup scans,
  // recovers interrupted demands and starts delivering the outbox.
  void start(const std::vector<std::shared_ptr<LoadedPlugin>>& plugins);
  // Where a module's default manifests come from (default_manifests.h); read
  // when the module is activated. Without it modules have no defaults.
  using DefaultsLookup = std::function<DefaultManifests(const std::string& module)>;
  void set_defaults_lookup(DefaultsLookup lookup) { defaults_lookup_ = std::move(lookup); }
  void stop();
  // Before start(): the scan of demand `control_id` crashed the last worker.
  // The demand fails with `message` and start() does not run it again.
  void fail_crashed_demand(const std::string& module, const std::string& control_id, const std::string& message);

  // A module became available (plugin loaded) or went away (unloaded).
  void activate(std::shared_ptr<LoadedPlugin> plugin);
  void deactivate(const std::string& name);
  // Deactivates for a plugin swap: its demands (the running one, cancelled
  // with the old version, included) wait and run once the module is
  // activated again, on whichever version that is.
  void hold(const std::string& name);
  // Told of every scan that ends: module, ControlId ("" for an interval
  // scan), outcome. The plugin swap watches its probe scan with it.
  using ScanListener = std::function<void(const std::string&, const std::string&, const Status&)>;
  void set_scan_listener(ScanListener listener) { scan_listener_ = std::move(listener); }

  // An on-demand scan (vigilctl demand, platform command). Returns the
  // ControlId, or why the scan cannot run. `cpu_limit` in percent.
  // `start_now` false: the scan waits for start_waiting(), so that the caller
  // can hand out the ControlId first (the scan may crash the worker).
  Result<std::string> demand(const std::string& name, int cpu_limit, const std::string& source, bool start_now = true);
  void start_waiting(const std::string& name);
  // The module's manifests changed: it may be due now.
  void manifests_changed(const std::string& name);
  // Intervals, CPU limits or blackout windows changed (a new profile).
  void profile_changed();
  bool is_active(const std::string& name) const { return modules_.count(name) > 0; }
  // The database changed, maybe from another process: re-read the key hive.
  void hive_changed();
  // Something entered the outbox outside a scan (real-time events).
  void outbox_changed() { delivery_.kick(); }
  // The platform is reachable again: deliveries that were backing off go now.
  void uploads_possible() { delivery_.retry_now(); }

  nlohmann::json module_status(const std::string& name) const;
  nlohmann::json demand_status(const std::string& control_id) const;
  nlohmann::json outbox_status();
  // The scans each module ran since the worker started, by result, with
  // their time and the last one's rows and delta (the metrics are made of it):
  // {module: {"completed", "failed", "cancelled", "seconds_total", "last_seconds", "last_rows", "last_result",
  // "last_error", "last_ended", "last_delta"}}.
  nlohmann::json scan_counts() const;

 private:
  struct Request {
    Trigger trigger = Trigger::kOnDemand;
    int cpu_limit = 100;
    std::string control_id;
    std::string source;
  };
  struct Module {
    std::shared_ptr<LoadedPlugin> plugin;
    ModuleState state = ModuleState::kIdle;
    std::chrono::system_clock::time_point since;
    std::optional<Request> running;
    std::shared_ptr<ScanProgress> progress;
    std::deque<Request> waiting;  // delayed or held demands, in arrival order
    std::unique_ptr<boost::asio::steady_timer> interval_timer;
    std::optional<std::chrono::system_clock::time_point> next_interval;
    std::string key_path;           // "ScanOnDemand/<KeyName>", empty without a key
    bool manifest_changed = false;  // a manifest came while collecting: scan again after
    DefaultManifests defaults;      // used while the store holds no manifest for it
  };
  // Kept apart from Module: a module unloaded and loaded again keeps counting.
  struct ScanCounts {
    int64_t completed = 0, failed = 0, cancelled = 0;
    double seconds_total = 0, last_seconds = 0;
    int64_t last_rows = 0, last_added = 0, last_removed = 0, last_changed = 0;
    std::string last_result, last_error;  // completed, failed, cancelled; why when not completed
    int64_t last_ended = 0;               // unix seconds
  };
  struct DemandRecord {
    std::string module;
    std::string state;  // waiting, running, completed, failed
    std::string message;
    std::shared_ptr<ScanProgress> progress;
  };

  Module* find(const std::string& name);
  // The stored manifests, else the module's defaults; `missing` says why there is none.
  Result<ManifestsInForce> in_force(const Module& module) const;
  Status can_scan(Module& module);
  // The on-startup scan, when ScanOnStartup=1 (at agent start) or the plugin scans at every load.
  void scan_at_start(Module& module, bool agent_start);
  int demand_cpu_limit(Module& module);  // the hive's CpuLimit, for on-demand and on-startup runs
  // Queues a demand; `start_now` false leaves starting it to the caller.
  void submit(Module& module, Request request, bool start_now = true);
  void start_scan(Module& module, Request request);
  // What the proxy file gives the commands a scan runs.
  std::vector<std::string> command_environment();
  void scan_finished(const std::shared_ptr<LoadedPlugin>& plugin, const Request& request, const ScanOutcome& outcome);
  void count_scan(const std::string& name, const ScanOutcome& outcome, double seconds);
  // Starts the next waiting demand or a due interval scan if the module is idle.
  void pump(Module& module);
  void arm_interval(Module& module);
  void set_state(Module& module, ModuleState state);
  void set_demand_key(const Module& module, const char* value);
  void record_demand(const std::string& control_id, const std::string& module, const std::string& state,
                     const std::string& message);
  // Setting `name` of `module` (or agent-wide) through the registry; `fallback` replaces its default.
  int64_t setting(const std::string& module, const char* name, std::optional<int64_t> fallback = {});
  // UseSudo's prefix for the commands of a scan: SudoCommand's words, or none.
  std::vector<std::string> command_prefix();

  void upload_started(const std::string& module) override;
  void upload_ended(const std::string& module) override;

  boost::asio::io_context& io_;
  boost::asio::thread_pool& pool_;
  StateStore& store_;
  std::filesystem::path proxy_file_;
  LogManager& logs_;
  ControlIdGenerator control_ids_;
  std::map<std::string, Module, std::less<>> modules_;
  std::map<std::string, ScanCounts, std::less<>> scan_counts_;
  std::map<std::string, DemandRecord> demands_;
  std::deque<std::string> demand_order_;      // to bound demands_
  std::vector<std::string> crashed_modules_;  // their interrupted demand crashed the last worker: not replayed
  std::map<std::string, std::vector<Request>, std::less<>> held_;  // demands of modules being swapped
  ScanListener scan_listener_;
  DefaultsLookup defaults_lookup_;
  int64_t seen_data_version_ = -1;
  bool started_ = false;
  bool stopped_ = false;
  OutboxDelivery delivery_;
};

}  // namespace vigil
