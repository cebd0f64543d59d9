// Scan scheduling: triggers, rules, the key hive, and outbox delivery.
#include "sched/scheduler.h"

#include "proxy/proxy_settings.h"
#include "settings/reader.h"
#include "store/config_table.h"
#include "store/key_hive.h"
#include "store/manifests.h"
#include "store/outbox.h"
#include "store/snapshots.h"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <sstream>

namespace vigil {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr size_t kDemandsRemembered = 256;
constexpr std::chrono::seconds kFailedScanRetry{300};

int64_t unix_seconds(std::chrono::system_clock::time_point when) {
  return std::chrono::duration_cast<std::chrono::seconds>(when.time_since_epoch()).count();
}

}  // namespace

const char* state_name(ModuleState state) {
  switch (state) {
    case ModuleState::kDisabled: return "disabled";
    case ModuleState::kIdle: return "idle";
    case ModuleState::kCollecting: return "collecting";
    case ModuleState::kDeltaPending: return "delta pending";
    case ModuleState::kUploading: return "uploading";
  }
  return "unknown";
}

const char* trigger_name(Trigger trigger) {
  switch (trigger) {
    case Trigger::kInterval: return "interval";
    case Trigger::kOnDemand: return "on-demand";
    case Trigger::kOnStartup: return "on-startup";
  }
  return "unknown";
}

int hive_cpu_limit(const std::optional<std::string>& value) {
  if (!value || value->empty() || value->size() > 3) return 100;
  int limit = 0;
  for (char c : *value) {
    if (c < '0' || c > '9') return 100;
    limit = limit * 10 + (c - '0');
  }
  return limit >= 2 && limit <= 100 ? limit : 100;
}

Result<int> cpu_limit_from_throttle(int throttle) {
  if (throttle < 0 || throttle > 1000) {
    return Error{"cputhrottle must be 0 (no throttling) to 1000 (per mille of one core), got " +
                 std::to_string(throttle)};
  }
  if (throttle == 0) return 100;
  return std::max(1, (throttle + 9) / 10);
}

Scheduler::Scheduler(asio::io_context& io, asio::thread_pool& pool, StateStore& store, LogManager& logs,
                     std::unique_ptr<UploadTarget> target, std::filesystem::path proxy_file)
    : io_(io),
      pool_(pool),
      store_(store),
      proxy_file_(std::move(proxy_file)),
      logs_(logs),
      delivery_(io, pool, store, logs, std::move(target), *this) {}

Scheduler::~Scheduler() {
  stop();
}

void Scheduler::start(const std::vector<std::shared_ptr<LoadedPlugin>>& plugins) {
  auto data_version = store_.data_version();
  if (data_version.ok()) seen_data_version_ = data_version.value();
  if (auto dropped = store_.snapshots().drop_staging(); dropped.ok() && dropped.value() > 0) {
    logs_.daemon()->info("{} unfinished scan(s) of the last run dropped", dropped.value());
  }
  for (const auto& plugin : plugins) activate(plugin);
  for (auto& [name, module] : modules_) {
    // A demand interrupted by a crash or stop (2) runs again, as does one written while we were down (1);
    // not one whose own scan crashed the last worker: it would crash this one too.
    if (!module.key_path.empty() && std::count(crashed_modules_.begin(), crashed_modules_.end(), name) > 0) {
      logs_.daemon()->warn("the demand of module '{}' that crashed the last worker is not run again", name);
      set_demand_key(module, "0");
    } else if (!module.key_path.empty()) {
      auto pending = store_.hive().get(module.key_path, "ScanOnDemand");
      if (pending.ok() && pending.value() && (*pending.value() == "1" || *pending.value() == "2")) {
        submit(module, {Trigger::kOnDemand, demand_cpu_limit(module), control_ids_.next(), "key hive"});
        continue;
      }
    }
    scan_at_start(module, true);
  }
  for (auto& [name, module] : modules_) pump(module);
  started_ = true;
  delivery_.kick();
}

void Scheduler::fail_crashed_demand(const std::string& module, const std::string& control_id,
                                    const std::string& message) {
  record_demand(control_id, module, "failed", message);
  crashed_modules_.push_back(module);
}

void Scheduler::stop() {
  stopped_ = true;
  for (auto& [name, module] : modules_) {
    if (module.interval_timer) module.interval_timer->cancel();
  }
  delivery_.stop();
}

void Scheduler::activate(std::shared_ptr<LoadedPlugin> plugin) {
  std::string name = plugin->module();
  if (plugin->kind() != VIGIL_MODULE_SCAN) return;  // real-time modules are not scheduled
  if (modules_.count(name) > 0) return;
  Module& module = modules_[name];
  module.plugin = std::move(plugin);
  module.state = ModuleState::kIdle;
  module.since = std::chrono::system_clock::now();
  module.interval_timer = std::make_unique<asio::steady_timer>(io_);
  if (defaults_lookup_) {
    module.defaults = defaults_lookup_(name);
    for (const Manifest& manifest : module.defaults.manifests) {
      logs_.daemon()->info("module '{}': default manifest '{}' version {}", name, manifest.manifest_type,
                           manifest.version);
    }
  }
  const std::string& key = module.plugin->context().on_demand_key;
  if (!key.empty()) {
    module.key_path = std::string(kHiveRoot) + "/" + key;
    bool created = false;
    for (const char* value_name : {"CpuLimit", "ScanOnDemand", "ScanOnStartup"}) {
      auto made = store_.hive().create(module.key_path, value_name, value_name[0] == 'C' ? "100" : "0");
      created |= made.ok() && made.value();
    }
    if (created) logs_.daemon()->info("key hive: created {} for module '{}'", module.key_path, name);
  }
  auto pending = store_.outbox().has_pending_delta(name);
  if (pending.ok() && pending.value()) set_state(module, ModuleState::kDeltaPending);
  if (started_ && !stopped_) {  // after start(): a reload or a new activation
    if (auto held = held_.extract(name)) {
      for (Request& request : held.mapped()) submit(module, std::move(request), false);
    }
    scan_at_start(module, false);
    pump(module);
  }
}

void Scheduler::scan_at_start(Module& module, bool agent_start) {
  std::string source;
  if (agent_start && !module.key_path.empty()) {
    auto on_startup = store_.hive().get(module.key_path, "ScanOnStartup");
    if (on_startup.ok() && on_startup.value() && *on_startup.value() == "1") source = "ScanOnStartup";
  }
  // A plugin that asked (ABI 1.3) scans at every load, quietly skipped while it has nothing to scan.
  if (source.empty() && module.plugin->context().scan_on_start && can_scan(module).ok()) {
    source = agent_start ? "the plugin scans at every start" : "the plugin scans whenever it is loaded";
  }
  if (!source.empty()) submit(module, {Trigger::kOnStartup, demand_cpu_limit(module), control_ids_.next(), source});
}

int Scheduler::demand_cpu_limit(Module& module) {
  if (module.key_path.empty()) return 100;
  auto limit = store_.hive().get(module.key_path, "CpuLimit");
  return vigil::hive_cpu_limit(limit.ok() ? limit.value() : std::nullopt);
}

void Scheduler::deactivate(const std::string& name) {
  auto found = modules_.find(name);
  if (found == modules_.end()) return;
  if (found->second.interval_timer) found->second.interval_timer->cancel();
  for (const Request& request : found->second.waiting) {
    record_demand(request.control_id, name, "failed", "module deactivated");
  }
  modules_.erase(found);
  logs_.daemon()->info("module '{}' deactivated", name);
}

void Scheduler::hold(const std::string& name) {
  auto found = modules_.find(name);
  if (found == modules_.end()) return;
  std::vector<Request>& held = held_[name];
  if (found->second.running && found->second.running->trigger != Trigger::kInterval) {
    held.push_back(*found->second.running);
  }
  for (const Request& request : found->second.waiting) {
    if (request.trigger != Trigger::kInterval) held.push_back(request);
  }
  for (const Request& request : held) {
    record_demand(request.control_id, name, "waiting", "held while the module's plugin is swapped");
  }
  if (found->second.interval_timer) found->second.interval_timer->cancel();
  modules_.erase(found);
  logs_.daemon()->info("module '{}' held for a plugin swap ({} demand(s) wait)", name, held.size());
}

Scheduler::Module* Scheduler::find(const std::string& name) {
  auto found = modules_.find(name);
  return found == modules_.end() ? nullptr : &found->second;
}

Result<ManifestsInForce> Scheduler::in_force(const Module& module) const {
  return manifests_in_force(store_.manifests(), module.defaults, module.plugin->module());
}

Status Scheduler::can_scan(Module& module) {
  auto manifests = in_force(module);
  if (!manifests.ok()) return Error{manifests.error()};
  if (manifests.value().manifests.empty()) {
    return Error{"module '" + module.plugin->module() + "' has no manifest (" + manifests.value().missing + ")"};
  }
  return Status::Ok();
}

Result<std::string> Scheduler::demand(const std::string& name, int cpu_limit, const std::string& source,
                                      bool start_now) {
  Module* module = find(name);
  if (module == nullptr) {
    return Error{"module '" + name + "' is not activated (no scan-based plugin for it is loaded)"};
  }
  if (Status ready = can_scan(*module); !ready.ok()) return Error{ready.error()};
  if (module->state == ModuleState::kCollecting && module->running->trigger != Trigger::kInterval) {
    return Error{"module '" + name + "' is already collecting (ControlId " + module->running->control_id + ")"};
  }
  for (const Request& waiting : module->waiting) {
    if (waiting.trigger != Trigger::kInterval) {
      return Error{"module '" + name + "' already has an on-demand scan waiting (ControlId " + waiting.control_id +
                   ")"};
    }
  }
  Request request{Trigger::kOnDemand, cpu_limit, control_ids_.next(), source};
  std::string control_id = request.control_id;
  submit(*module, std::move(request), start_now);
  return control_id;
}

void Scheduler::start_waiting(const std::string& name) {
  if (Module* module = find(name)) pump(*module);
}

void Scheduler::submit(Module& module, Request request, bool start_now) {
  auto log = logs_.daemon();
  const std::string& name = module.plugin->module();
  log->info("OnDemand request: ControlId={} module={} trigger={} source={} cpu_limit={}%", request.control_id, name,
            trigger_name(request.trigger), request.source, request.cpu_limit);
  if (Status ready = can_scan(module); !ready.ok()) {
    log->error("ControlId {} refused: {}", request.control_id, ready.error());
    record_demand(request.control_id, name, "failed", ready.error());
    set_demand_key(module, "0");
    return;
  }
  record_demand(request.control_id, name, "waiting", "");
  if (module.state == ModuleState::kCollecting) {
    log->info("Interval scan of module '{}' is in progress; ControlId {} will be delayed until it ends", name,
              request.control_id);
  } else if (module.state == ModuleState::kDeltaPending || module.state == ModuleState::kUploading) {
    std::string held = delivery_.held_reason(name);
    log->info("Module '{}' has a delta pending upload{}; ControlId {} waits until it is uploaded", name,
              held.empty() ? "" : " (" + held + ")", request.control_id);
  }
  set_demand_key(module, "1");
  module.waiting.push_back(std::move(request));
  if (start_now) pump(module);
}

void Scheduler::pump(Module& module) {
  if (stopped_ || module.state != ModuleState::kIdle) return;
  if (!module.waiting.empty()) {
    Request request = std::move(module.waiting.front());
    module.waiting.pop_front();
    start_scan(module, std::move(request));
    return;
  }
  if (module.next_interval && std::chrono::system_clock::now() >= *module.next_interval && can_scan(module).ok()) {
    int limit =
        static_cast<int>(setting(module.plugin->module(), "CpuLimit", module.plugin->context().default_cpu_limit));
    start_scan(module, {Trigger::kInterval, limit, "", "interval"});
    return;
  }
  arm_interval(module);
}

void Scheduler::arm_interval(Module& module) {
  const std::string& name = module.plugin->module();
  auto now = std::chrono::system_clock::now();
  if (!can_scan(module).ok()) {
    // No interval scan is planned, nor shown, for a module with nothing to
    // scan: a manifest that arrives (manifests_changed) plans one.
    module.next_interval.reset();
    return;
  }
  if (!module.next_interval) {
    int64_t interval = setting(name, "ScanInterval");
    auto last = store_.snapshots().last_scan_completed(name);
    // Never scanned: the first interval scan is due as soon as there is a manifest.
    module.next_interval = last.ok() && last.value()
                               ? std::chrono::system_clock::time_point(std::chrono::seconds(*last.value() + interval))
                               : now;
  }
  auto due = *module.next_interval;
  module.interval_timer->expires_after(
      std::max(std::chrono::steady_clock::duration::zero(),
               std::chrono::duration_cast<std::chrono::steady_clock::duration>(due - now)));
  module.interval_timer->async_wait([this, name](boost::system::error_code error) {
    if (error) return;
    if (Module* module = find(name)) pump(*module);
  });
}

std::vector<std::string> Scheduler::command_environment() {
  if (proxy_file_.empty()) return {};
  auto file = proxy::read_proxy_file(proxy_file_);
  if (!file.ok()) {
    logs_.daemon()->warn("commands run without a proxy: {}", file.error());
    return {};
  }
  return proxy::command_environment(file.value());
}

void Scheduler::start_scan(Module& module, Request request) {
  std::vector<Manifest> manifests;
  if (auto found = in_force(module); found.ok()) manifests = std::move(found.value().manifests);
  module.interval_timer->cancel();
  module.running = request;
  module.progress = std::make_shared<ScanProgress>();
  set_state(module, ModuleState::kCollecting);
  if (request.trigger != Trigger::kInterval) {
    set_demand_key(module, "2");
    record_demand(request.control_id, module.plugin->module(), "running", "");
    demands_[request.control_id].progress = module.progress;
  }
  ScanRequest scan{std::move(manifests),
                   request.cpu_limit,
                   static_cast<int>(setting("", "ProcessPriority")),
                   std::chrono::seconds(setting("", "CmdMaxTimeOut")),
                   trigger_name(request.trigger),
                   request.control_id,
                   module.progress,
                   command_environment(),
                   static_cast<size_t>(setting("", "OutboxChunkBytes")),
                   setting(module.plugin->module(), "CmdMemoryMax"),
                   setting(module.plugin->module(), "CmdPidsMax"),
                   command_prefix()};
  asio::post(pool_, [this, plugin = module.plugin, scan = std::move(scan), request]() mutable {
    auto began = std::chrono::steady_clock::now();
    ScanOutcome outcome = run_scan(plugin, scan, store_);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    // Back on the control thread, where the last plugin reference may be dropped.
    asio::post(io_, [this, plugin = std::move(plugin), request, outcome, seconds]() mutable {
      count_scan(plugin->module(), outcome, seconds);
      scan_finished(plugin, request, outcome);
    });
  });
}

void Scheduler::scan_finished(const std::shared_ptr<LoadedPlugin>& plugin, const Request& request,
                              const ScanOutcome& outcome) {
  const std::string& name = plugin->module();
  Module* module = find(name);
  // Deactivated meanwhile, or activated again with another plugin (a swap): not this scan's module.
  if (module == nullptr || !module->running || module->plugin != plugin) return;
  auto log = logs_.daemon();
  module->running.reset();
  bool ok = outcome.status.ok();
  if (ok) {
    // Any completed scan restarts the interval: on-demand and on-startup ones included.
    (void)store_.snapshots().set_last_scan_completed(name, outcome.finished_at);
    module->next_interval.reset();
  } else if (request.trigger == Trigger::kInterval) {
    // A failed interval scan is retried sooner than a whole interval, but not in a loop.
    module->next_interval = std::chrono::system_clock::now() + kFailedScanRetry;
  }
  if (module->manifest_changed) {
    // A manifest came during this scan: the next one reads it, now.
    module->manifest_changed = false;
    module->next_interval = std::chrono::system_clock::now();
  }
  std::string label = request.trigger == Trigger::kInterval ? "interval scan" : "ControlId " + request.control_id;
  if (ok) {
    std::string summary = std::to_string(outcome.row_count) + " rows, delta +" + std::to_string(outcome.added) + " -" +
                          std::to_string(outcome.removed) + " ~" + std::to_string(outcome.changed);
    log->info("{} of module '{}' completed: {}{}", label, name, summary,
              outcome.sequence ? ", queued as sequence " + std::to_string(*outcome.sequence) : ", nothing to upload");
    if (request.trigger != Trigger::kInterval) record_demand(request.control_id, name, "completed", summary);
  } else {
    log->error("{} of module '{}' failed: {}", label, name, outcome.status.error());
    if (request.trigger != Trigger::kInterval)
      record_demand(request.control_id, name, "failed", outcome.status.error());
  }
  if (request.trigger != Trigger::kInterval) set_demand_key(*module, module->waiting.empty() ? "0" : "1");
  auto pending = store_.outbox().has_pending_delta(name);
  set_state(*module, pending.ok() && pending.value() ? ModuleState::kDeltaPending : ModuleState::kIdle);
  if (module->state == ModuleState::kDeltaPending && delivery_.uploading(name)) {
    set_state(*module, ModuleState::kUploading);
  }
  pump(*module);
  delivery_.kick();
  if (scan_listener_) scan_listener_(name, request.control_id, outcome.status);
}

void Scheduler::count_scan(const std::string& name, const ScanOutcome& outcome, double seconds) {
  ScanCounts& counts = scan_counts_[name];
  if (outcome.status.ok()) {
    ++counts.completed;
    counts.last_rows = outcome.row_count;
    counts.last_added = static_cast<int64_t>(outcome.added);
    counts.last_removed = static_cast<int64_t>(outcome.removed);
    counts.last_changed = static_cast<int64_t>(outcome.changed);
  } else if (outcome.status.code() == ErrorCode::kCancelled) {
    ++counts.cancelled;
  } else {
    ++counts.failed;
  }
  counts.seconds_total += seconds;
  counts.last_seconds = seconds;
  counts.last_result = outcome.status.ok()                              ? "completed"
                       : outcome.status.code() == ErrorCode::kCancelled ? "cancelled"
                                                                        : "failed";
  counts.last_error = outcome.status.ok() ? std::string() : outcome.status.error();
  counts.last_ended = unix_seconds(std::chrono::system_clock::now());
}

nlohmann::json Scheduler::scan_counts() const {
  json all = json::object();
  for (const auto& [name, counts] : scan_counts_) {
    all[name] = {{"completed", counts.completed},
                 {"failed", counts.failed},
                 {"cancelled", counts.cancelled},
                 {"seconds_total", counts.seconds_total},
                 {"last_seconds", counts.last_seconds},
                 {"last_rows", counts.last_rows},
                 {"last_result", counts.last_result},
                 {"last_error", counts.last_error},
                 {"last_ended", counts.last_ended},
                 {"last_delta",
                  {{"added", counts.last_added}, {"removed", counts.last_removed}, {"changed", counts.last_changed}}}};
  }
  return all;
}

void Scheduler::manifests_changed(const std::string& name) {
  Module* module = find(name);
  if (module == nullptr) return;
  // A new manifest is scanned at once (docs/scheduling.md), as an interval
  // scan that restarts the interval; a scan running now is followed by one.
  if (module->state == ModuleState::kCollecting) {
    module->manifest_changed = true;
  } else {
    module->next_interval = std::chrono::system_clock::now();
  }
  pump(*module);
}

void Scheduler::profile_changed() {
  for (auto& [name, module] : modules_) {
    module.next_interval.reset();  // recomputed from the new interval
    if (module.state == ModuleState::kIdle) pump(module);
  }
  delivery_.kick();
}

void Scheduler::hive_changed() {
  auto version = store_.data_version();
  if (!version.ok() || version.value() == seen_data_version_) return;  // our own write
  seen_data_version_ = version.value();
  delivery_.kick();  // the blackout windows may have changed
  for (auto& [name, module] : modules_) {
    if (module.key_path.empty()) continue;
    auto value = store_.hive().get(module.key_path, "ScanOnDemand");
    if (!value.ok() || !value.value() || *value.value() != "1") continue;
    bool already = module.state == ModuleState::kCollecting && module.running->trigger != Trigger::kInterval;
    for (const Request& waiting : module.waiting) already |= waiting.trigger != Trigger::kInterval;
    if (already) continue;  // the running or waiting demand covers it
    submit(module, {Trigger::kOnDemand, demand_cpu_limit(module), control_ids_.next(), "key hive"});
  }
}

void Scheduler::set_state(Module& module, ModuleState state) {
  if (module.state == state) return;
  logs_.module(module.plugin->module())->debug("state: {} -> {}", state_name(module.state), state_name(state));
  module.state = state;
  module.since = std::chrono::system_clock::now();
}

void Scheduler::set_demand_key(const Module& module, const char* value) {
  if (module.key_path.empty()) return;
  if (Status written = store_.hive().set(module.key_path, "ScanOnDemand", value); !written.ok()) {
    logs_.daemon()->error("key hive: {}", written.error());
  }
  // Our own write is not news; only other writers move data_version for this connection.
  if (auto version = store_.data_version(); version.ok()) seen_data_version_ = version.value();
}

void Scheduler::record_demand(const std::string& control_id, const std::string& module, const std::string& state,
                              const std::string& message) {
  if (control_id.empty()) return;
  auto [entry, inserted] = demands_.try_emplace(control_id);
  if (inserted) {
    demand_order_.push_back(control_id);
    if (demand_order_.size() > kDemandsRemembered) {
      demands_.erase(demand_order_.front());
      demand_order_.pop_front();
    }
  }
  entry->second.module = module;
  entry->second.state = state;
  entry->second.message = message;
}

int64_t Scheduler::setting(const std::string& module, const char* name, std::optional<int64_t> fallback) {
  settings::Reader reader(store_.config(), [this](const std::string& problem) { logs_.warn_once(problem); });
  return reader.integer(name, module, fallback);
}

std::vector<std::string> Scheduler::command_prefix() {
  settings::Reader reader(store_.config(), [this](const std::string& problem) { logs_.warn_once(problem); });
  if (!reader.boolean("UseSudo")) return {};
  std::vector<std::string> words;
  std::istringstream split(reader.text("SudoCommand").value_or(""));
  for (std::string word; split >> word;) words.push_back(word);
  return words;
}

nlohmann::json Scheduler::module_status(const std::string& name) const {
  auto found = modules_.find(name);
  if (found == modules_.end()) return {{"state", state_name(ModuleState::kDisabled)}};
  const Module& module = found->second;
  json status = {{"state", state_name(module.state)},
                 {"state_since", unix_seconds(module.since)},
                 {"key_path", module.key_path},
                 {"waiting", json::array()},
                 {"next_interval_scan", module.next_interval ? json(unix_seconds(*module.next_interval)) : json()}};
  // The settings in force, as the next scan takes them (vigilctl config changes them live).
  settings::Reader reader(store_.config());
  status["settings"] = {{"cpu_limit", reader.integer("CpuLimit", name, module.plugin->context().default_cpu_limit)},
                        {"scan_interval", reader.integer("ScanInterval", name)}};
  if (module.running) {
    status["trigger"] = trigger_name(module.running->trigger);
    status["control_id"] = module.running->control_id;
    status["cpu_limit"] = module.running->cpu_limit;
    status["progress"] = {{"done", module.progress->done.load()}, {"total", module.progress->total.load()}};
  }
  for (const Request& request : module.waiting) status["waiting"].push_back(request.control_id);
  // Which manifests the next scan takes and who gave them (docs/scheduling.md, "Default manifests").
  if (auto manifests = in_force(module); manifests.ok()) {
    json list = json::array();
    for (const Manifest& manifest : manifests.value().manifests) {
      list.push_back({{"type", manifest.manifest_type}, {"version", manifest.version}, {"source", manifest.source}});
    }
    status["manifest_source"] = list.empty() ? json() : list[0]["source"];
    status["manifests"] = std::move(list);
    if (!manifests.value().missing.empty()) status["no_manifest"] = manifests.value().missing;
  }
  return status;
}

nlohmann::json Scheduler::demand_status(const std::string& control_id) const {
  auto found = demands_.find(control_id);
  if (found == demands_.end()) return nullptr;
  const DemandRecord& record = found->second;
  json status = {
      {"control_id", control_id}, {"module", record.module}, {"state", record.state}, {"message", record.message}};
  if (record.progress) {
    status["progress"] = {{"done", record.progress->done.load()}, {"total", record.progress->total.load()}};
  }
  return status;
}

nlohmann::json Scheduler::outbox_status() {
  return delivery_.status();
}

void Scheduler::upload_started(const std::string& name) {
  // A module still collecting keeps that state: its scan may have committed this
  // delta a moment before the control thread hears that the scan ended.
  Module* module = find(name);
  if (module != nullptr && module->state == ModuleState::kDeltaPending) set_state(*module, ModuleState::kUploading);
}

void Scheduler::upload_ended(const std::string& name) {
  // A module still collecting settles its state when its scan ends.
  Module* module = find(name);
  if (module == nullptr || module->state == ModuleState::kCollecting) return;
  auto pending = store_.outbox().has_pending_delta(name);
  set_state(*module, pending.ok() && pending.value() ? ModuleState::kDeltaPending : ModuleState::kIdle);
  pump(*module);
}

}  // namespace vigil
