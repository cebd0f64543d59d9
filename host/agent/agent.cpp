// The agent: start-up order, what it does for the link, and orderly shutdown
// (control requests are in control_requests.cpp).
#include "agent/agent.h"
#include "base/error_text.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <future>
#include <mutex>
#include <set>

#include "agent/idle_memory.h"
#include "agent/metrics_writer.h"
#include "agent/private_files.h"
#include "agent/privileges.h"
#include "agent/supervisor.h"
#include "base/file_safety.h"
#include "exec/own_package.h"
#include "link/platform_upload_target.h"
#include "plugin/plugin_call_marker.h"
#include "settings/catalog.h"
#include "settings/reader.h"
#include "store/config_table.h"
#include "store/key_hive.h"
#include "store/manifests.h"
#include "store/outbox.h"
#include "store/plugin_crashes.h"
#include "store/snapshots.h"
#include "version.h"

namespace vigil {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// With User configured and the worker root: hand the files over and become
// that account, keeping what the loaded modules need (agent/privileges.h).
Status become_configured_account(const Paths& paths, StateStore& store, const PluginRegistry& registry,
                                 spdlog::logger& log) {
  auto setting = [&](const char* key) {
    auto value = store.config().get(key);
    return value.ok() ? value.value() : std::nullopt;
  };
  auto account = agent_account(setting(kUserKey), setting(kGroupKey));
  if (!account.ok()) return Error{account.error()};
  if (!account.value()) return Status::Ok();
  if (::geteuid() != 0) {
    log.warn("{}={} ignored: vigild does not run as root", kUserKey, account.value()->user);
    return Status::Ok();
  }
  std::vector<std::string> modules;
  for (const auto& plugin : registry.loaded()) modules.push_back(plugin->module());
  auto priority = setting("ProcessPriority");
  bool raise_priority = priority && !priority->empty() && priority->front() == '-';
  auto capabilities = capabilities_needed(modules, raise_priority);
  if (Status handed = hand_over_files(paths, *account.value()); !handed.ok()) return handed;
  if (Status dropped = drop_privileges(*account.value(), capabilities); !dropped.ok()) return dropped;
  log.info("running as {} (uid {}, gid {}) with {}", account.value()->user, account.value()->uid, account.value()->gid,
           fmt::join(capabilities, ", "));
  return Status::Ok();
}

}  // namespace

namespace {
constexpr size_t kMaxHandlersAtExit = 100'000;
}  // namespace

Agent::Agent(AgentOptions options)
    : options_(std::move(options)), stop_signals_(io_), scan_pool_(options_.scan_threads) {
  install_stop_signals();
}

Agent::~Agent() {
  scan_pool_.join();
  // Run what the scans posted back (replies, last plugin references) while the
  // store and logs still exist, then unload the plugins on this thread.
  io_.restart();
  // Bounded: a handler that keeps re-arming itself must not keep the worker
  // from exiting (once seen under load: the control socket's accept re-armed
  // on its closed acceptor; fixed there, and logged here should another).
  size_t ran = 0;
  while (ran < kMaxHandlersAtExit && io_.poll_one() > 0) ++ran;
  if (ran == kMaxHandlersAtExit && logs_) {
    logs_->daemon()->error("shutdown: handlers still ready after {}; exiting without them", ran);
  }
  link_stopping_ = true;
  if (link_) link_->stop();
  hive_watcher_.reset();
  registry_.reset();                  // plugins stop emitting events here
  if (events_) events_->flush_all();  // nothing emitted is lost at shutdown
  scheduler_.reset();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Status Agent::start() {
  const Paths& paths = options_.paths;
  std::string unsafe_override = configure_unsafe_file_override(paths);
  PrivateFilesReport private_files;
  make_state_private(paths, private_files);
  if (!private_files.problems.empty()) return Error{private_files.problems.front()};
  trust_agent_account(paths);

  // One daemon per root: the lock dies with the process, so it is never stale.
  if (options_.supervisor_fd < 0) {
    auto lock = lock_instance(paths);
    if (!lock.ok()) return Error{lock.error()};
    lock_fd_ = lock.value();
  }

  auto store = StateStore::open(paths.state_db());
  if (!store.ok()) return Error{store.error()};
  store_ = std::move(store.value());

  // Logging configuration from the store, through the settings registry: a
  // bad value falls back to the default and says so (once the log exists).
  std::vector<std::string> config_problems;
  settings::Reader config(store_->config(),
                          [&config_problems](const std::string& problem) { config_problems.push_back(problem); });
  int level = static_cast<int>(config.integer("Logs/TraceLevel", "", config.integer("LogLevel")));
  // The registry checked the value: it parses.
  LogDestination destination = parse_log_destination(config.text("LogDestType").value_or("file")).value();
  int64_t memory_limit = config.integer(kWorkerMemoryLimitKey);
  // LogFileDir is an absolute path, relocated under the root like every other.
  std::filesystem::path log_dir = paths.log_dir;
  if (auto dir = store_->config().get("LogFileDir"); dir.ok() && dir.value()) {
    log_dir = paths.root / std::filesystem::path(config.text("LogFileDir").value_or("")).relative_path();
  }
  if (destination == LogDestination::kFile) {
    auto log_group = store_->config().get(kLogGroupKey);
    make_logs_private(log_dir, log_group.ok() ? log_group.value() : std::nullopt, private_files);
  }
  logs_ = std::make_unique<LogManager>(log_dir, level, destination, options_.log_to_stderr);
  auto log = logs_->daemon();
  log->info("vigild {} starting (pid {}, root {}, ABI {}.{})", kVigilVersion, ::getpid(), paths.root.string(),
            VIGIL_ABI_VERSION_MAJOR, VIGIL_ABI_VERSION_MINOR);
  if (!unsafe_override.empty()) log->critical("{}", unsafe_override);
  for (const auto& change : private_files.changes) log->warn("{} (files of the agent are private)", change);
  for (const auto& problem : private_files.problems) log->warn("{}", problem);
  for (const auto& problem : config_problems) log->warn("configuration ignored: {}", problem);
  record_previous_crash(settle_plugin_slots());
  report_to_supervisor(fmt::format("{} {}", kMemoryLimitReport, memory_limit));
  if (memory_limit == 0) {
    log->info("{}: none", kWorkerMemoryLimitKey);
  } else {
    log->info(
        "{}: {} ({})", kWorkerMemoryLimitKey, memory_size_text(memory_limit),
        options_.supervisor_fd >= 0 ? "the supervisor restarts the worker past it" : "not enforced: no supervisor");
  }

  events_ = std::make_unique<EventBatcher>(io_, store_->outbox(), *logs_, [this] {
    if (scheduler_) scheduler_->outbox_changed();
  });
  registry_ = std::make_unique<PluginRegistry>(PluginServices{store_.get(), logs_.get(), plugin_marker_dir(paths),
                                                              kQuarantineAfterCrashes, events_.get(),
                                                              paths.data_dir / "plugin-images"});
  auto plugin_dir = options_.plugin_dir.value_or(paths.plugin_dir);
  size_t loaded = registry_->load_directory(plugin_dir, factory_files_replaced());
  load_plugin_slots();
  log->info("{} plugin(s) loaded from {}", loaded, plugin_dir.string());

  if (auto uninstalled = store_->config().get("Uninstalled"); uninstalled.ok() && uninstalled.value()) {
    return Error{"this agent was uninstalled by its platform (" + *uninstalled.value() +
                 "); run vigilctl provision to provision it again"};
  }
  if (Status became = become_configured_account(paths, *store_, *registry_, *log); !became.ok()) return became;
  // Deltas go to the platform once one is configured, to a local directory until then.
  link_ = std::make_unique<PlatformLink>(paths, *store_, *logs_, *this);
  auto upload_dir = store_->config().get("UploadDirectory");
  auto target = std::make_unique<PlatformUploadTarget>(*link_, upload_dir.ok() && upload_dir.value()
                                                                   ? std::filesystem::path(*upload_dir.value())
                                                                   : paths.data_dir / "uploaded");
  apply_outbox_limits();
  scheduler_ =
      std::make_unique<Scheduler>(io_, scan_pool_, *store_, *logs_, std::move(target), paths.config_dir / "proxy");
  // Default manifests are read from the plugin directory, for the OS the agent runs on.
  os_name_ = os_release_name(paths.root);
  log->info("operating system: {} (picks the plugins' default manifests)", os_name_);
  scheduler_->set_defaults_lookup([this](const std::string& module) { return default_manifests(module); });
  hive_watcher_ = std::make_unique<HiveWatcher>(io_, paths.state_db(), [this] { scheduler_->hive_changed(); });
  if (Status watching = hive_watcher_->start(); !watching.ok()) return watching;
  std::vector<std::shared_ptr<LoadedPlugin>> active;
  auto activated = activated_modules(*store_);
  for (const auto& plugin : registry_->loaded()) {
    if (!activated || std::count(activated->begin(), activated->end(), plugin->module()) > 0) active.push_back(plugin);
  }
  // A demand whose scan crashed the last worker fails now rather than crash this one too.
  for (const auto& demand : crashed_demands_)
    scheduler_->fail_crashed_demand(demand.module, demand.control_id, demand.message);
  scheduler_->set_scan_listener(
      [this](const std::string& module, const std::string& control_id, const Status& outcome) {
        probe_scan_ended(module, outcome);
        link_->scan_ended(module, control_id, outcome);
      });
  scheduler_->start(active);
  link_->start();
  resume_plugin_swaps();

  control_ = std::make_unique<ControlServer>(
      io_, paths.control_socket(), [this](const json& request, ControlServer::Reply reply) { handle(request, reply); });
  if (Status started = control_->start(); !started.ok()) return started;

  read_stop_signal();
  apply_self_protection();
  started_at_ = unix_now();
  metrics_ = std::make_unique<MetricsWriter>(
      io_, scan_pool_, store_->config(), paths, *logs_,
      MetricsWriter::Sources{[this] { return status_report(); },
                             [this] {
                               std::map<std::string, int64_t> crashes;
                               for (const PluginRecord& record : registry_->records()) {
                                 if (record.module.empty()) continue;
                                 if (auto count = store_->plugin_crashes().count(record.module); count.ok()) {
                                   crashes[record.module] = count.value();
                                 }
                               }
                               return crashes;
                             }});
  metrics_->start();
  log->info("ready: control socket {}", paths.control_socket().string());
  report_to_supervisor(std::string(kReadyReport));
  if (options_.ready_fd >= 0) {
    const char ready[] = "READY=1\n";
    [[maybe_unused]] ssize_t written = ::write(options_.ready_fd, ready, sizeof(ready) - 1);
    ::close(options_.ready_fd);
  }
  return Status::Ok();
}

void Agent::record_previous_crash(const std::set<std::string>& not_charged) {
  const char* how = std::getenv(kPreviousCrashVariable);
  if (how == nullptr) return;
  std::string summary = how;
  auto split = [](const char* list) {
    std::vector<std::string> items;
    for (std::string_view rest = list == nullptr ? "" : list; !rest.empty();) {
      size_t comma = std::min(rest.find(','), rest.size());
      if (comma > 0) items.emplace_back(rest.substr(0, comma));
      rest.remove_prefix(std::min(comma + 1, rest.size()));
    }
    return items;
  };
  std::vector<std::string> modules = split(std::getenv(kCrashedModulesVariable));
  // "worker killed by signal 11" -> "worker crashed (signal 11)"; a memory bound says itself.
  std::string crash = how;
  if (constexpr std::string_view killed = "worker killed by "; crash.rfind(killed, 0) == 0) {
    crash = "worker crashed (" + crash.substr(killed.size()) + ")";
  }
  summary += modules.empty() ? " outside any plugin" : " while running module";
  for (const std::string& module : modules) {
    if (not_charged.count(module)) {
      summary += fmt::format(" '{}' (charged to the plugin version it was swapping to)", module);
      continue;
    }
    auto crashes = store_->plugin_crashes().record(module, how, unix_now());
    summary += crashes.ok() ? fmt::format(" '{}' (crash {} of {} before quarantine)", module, crashes.value(),
                                          kQuarantineAfterCrashes)
                            : fmt::format(" '{}' (crash not recorded: {})", module, crashes.error());
  }
  for (const std::string& entry : split(std::getenv(kCrashActivityVariable))) {
    size_t equals = entry.find('=');
    if (equals == std::string::npos) continue;
    std::string module = entry.substr(0, equals), activity = entry.substr(equals + 1);
    std::string what = fmt::format("{} in module {} during {}", crash, module, activity);
    // The module's own log says it too: that is where its author looks.
    logs_->module(module)->error("{}{}", what, activity == kActivityUnload ? " (not charged to the module)" : "");
    if (activity == kActivityUnload) summary += fmt::format("; module '{}' was being unloaded (not charged)", module);
    constexpr std::string_view scan = "scan ControlId ";
    if (activity.rfind(scan, 0) == 0) crashed_demands_.push_back({module, activity.substr(scan.size()), what});
  }
  logs_->daemon()->error("restarted by the supervisor: {}", summary);
  report_to_supervisor(std::string(kChargedReport));
  // Plugins' commands inherit the environment: the crash is not theirs to see.
  ::unsetenv(kPreviousCrashVariable);
  ::unsetenv(kCrashedModulesVariable);
  ::unsetenv(kCrashActivityVariable);
}

void Agent::report_to_supervisor(const std::string& line) {
  if (options_.supervisor_fd < 0) return;
  std::string text = line + "\n";
  // A line this short is written whole; the supervisor outlives us, so the pipe is open.
  [[maybe_unused]] ssize_t written = ::write(options_.supervisor_fd, text.data(), text.size());
}

Status Agent::run(bool* started) {
  if (Status ready = start(); !ready.ok()) return ready;
  if (started != nullptr) *started = true;
  ReleasedMemory released = release_start_up_memory();
  logs_->daemon()->info("start-up memory released: rss {} KiB, {} KiB before", released.resident_after >> 10,
                        released.resident_before >> 10);
  io_.run();
  logs_->daemon()->info("vigild stopped");
  return Status::Ok();
}

void Agent::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  control_->stop();
  boost::system::error_code ignored;
  stop_signals_.cancel(ignored);
  link_stopping_ = true;
  link_->stop();
  scheduler_->stop();
  if (metrics_) metrics_->stop();
  hive_watcher_->stop();
  // Scans see the cancel at their next checkpoint; the destructor waits for them.
  for (const auto& plugin : registry_->loaded()) plugin->cancel_scans();
  io_.stop();
}

void Agent::reconcile_activation() {
  auto activated = activated_modules(*store_);
  auto log = logs_->daemon();
  for (const auto& plugin : registry_->loaded()) {
    const std::string& module = plugin->module();
    bool wanted = !activated || std::count(activated->begin(), activated->end(), module) > 0;
    if (wanted && !scheduler_->is_active(module)) {
      scheduler_->activate(plugin);
      log->info("module '{}' activated", module);
    } else if (!wanted && scheduler_->is_active(module)) {
      scheduler_->deactivate(module);
      if (!plugin->context().on_demand_key.empty()) {
        std::string path = std::string(kHiveRoot) + "/" + plugin->context().on_demand_key;
        if (auto removed = store_->hive().remove(path); removed.ok()) {
          log->info("key hive: removed {} of deactivated module '{}'", path, module);
        } else {
          log->error("key hive: {} not removed: {}", path, removed.error());
        }
      }
    }
  }
  if (activated) {
    for (const auto& module : *activated) {
      if (!registry_->find(module))
        log->warn("module '{}' is activated by the platform but no plugin provides it", module);
    }
  }
}

bool Agent::on_agent_thread(const std::function<void()>& work) {
  // `work` refers to the caller's locals: once the caller gave up (the agent is
  // stopping), it must not run. The mutex makes "run" and "give up" exclusive.
  struct Call {
    std::mutex mutex;
    bool abandoned = false;
    std::promise<void> done;
  };
  auto call = std::make_shared<Call>();
  auto finished = call->done.get_future();
  asio::post(io_, [work, call] {
    std::lock_guard lock(call->mutex);
    if (call->abandoned) return;
    work();
    call->done.set_value();
  });
  while (finished.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
    if (!link_stopping_) continue;
    std::lock_guard lock(call->mutex);
    if (finished.wait_for(std::chrono::seconds(0)) == std::future_status::ready) return true;
    call->abandoned = true;
    return false;
  }
  return true;
}

std::vector<v1::ModuleStatus> Agent::module_statuses() {
  std::vector<v1::ModuleStatus> statuses;
  on_agent_thread([&] {
    for (const auto& plugin : registry_->loaded()) {
      v1::ModuleStatus status;
      status.set_module(plugin->module());
      status.set_plugin_version(plugin->version());
      bool active = scheduler_->is_active(plugin->module());
      if (plugin->kind() != VIGIL_MODULE_SCAN) {
        status.set_state("real-time");
      } else {
        status.set_state(active ? scheduler_->module_status(plugin->module()).value("state", "idle") : "disabled");
      }
      if (auto manifests = store_->manifests().of_module(plugin->module()); manifests.ok()) {
        for (const auto& manifest : manifests.value()) {
          v1::ManifestVersion* version = status.add_manifests();
          version->set_module(manifest.module);
          version->set_manifest_type(manifest.manifest_type);
          version->set_version(manifest.version);
        }
      }
      if (auto last = store_->snapshots().last_scan_completed(plugin->module()); last.ok() && last.value()) {
        status.set_last_scan_completed(*last.value());
      }
      if (json counts = scheduler_->scan_counts().value(plugin->module(), json::object());
          counts.contains("last_result")) {
        status.set_last_scan_result(counts.value("last_result", ""));
        status.set_last_scan_error(counts.value("last_error", ""));
        status.set_last_scan_ended(counts.value("last_ended", int64_t{0}));
      }
      for (const json& condition : conditions_of(*plugin)) {
        v1::ModuleCondition* reported = status.add_conditions();
        reported->set_code(condition.value("code", ""));
        reported->set_text(condition.value("description", ""));
      }
      settings::Reader reader(store_->config());
      status.set_cpu_limit_percent(
          static_cast<uint32_t>(reader.integer("CpuLimit", plugin->module(), plugin->context().default_cpu_limit)));
      status.set_scan_interval_seconds(static_cast<uint32_t>(reader.integer("ScanInterval", plugin->module())));
      // The platform learns each swap's outcome: a version reverted here is one it should not roll out.
      if (auto slots = store_->plugin_slots().get(plugin->module()); slots && *slots) {
        status.set_plugin_slot((*slots)->active);
        status.set_plugin_slot_state((*slots)->state);
      }
      if (auto history = store_->plugin_slots().history(plugin->module(), 1); history && !history->empty()) {
        const UpgradeRecord& record = history->front();
        v1::PluginUpgrade* last = status.mutable_last_upgrade();
        last->set_at(record.at);
        last->set_from_version(record.from_version);
        last->set_to_version(record.to_version);
        last->set_outcome(record.outcome);
        last->set_reason(record.reason);
      }
      statuses.push_back(std::move(status));
    }
  });
  return statuses;
}

std::vector<std::string> Agent::ignored_settings() {
  std::vector<std::string> ignored;
  on_agent_thread([&] {
    auto catalog = settings::Catalog::load(store_->config());
    auto all = store_->config().all();
    if (!catalog.ok() || !all.ok()) {
      ignored.push_back("the configuration is unreadable: " + (catalog.ok() ? all.error() : catalog.error()));
      return;
    }
    std::set<std::string> loaded;
    for (const auto& plugin : registry_->loaded()) loaded.insert(plugin->module());
    for (const auto& [key, value] : all.value()) {
      auto resolved = catalog.value().resolve(key);
      if (resolved.ok() && resolved.value().setting != nullptr &&
          resolved.value().setting->access == settings::Access::kInternal) {
        continue;  // the agent's own bookkeeping
      }
      if (auto valid = catalog.value().validate(key, value); !valid.ok()) {
        ignored.push_back(key + "=" + value + ": " + valid.error());
      } else if (resolved.ok() && !resolved.value().module.empty() && loaded.count(resolved.value().module) == 0) {
        ignored.push_back(key + "=" + value + ": no plugin for module '" + resolved.value().module + "' is loaded");
      }
    }
  });
  return ignored;
}

void Agent::desired_state_applied(const std::vector<std::string>& manifests_changed) {
  on_agent_thread([&] {
    apply_log_level();
    apply_self_protection();
    reconcile_activation();
    scheduler_->profile_changed();
    for (const auto& module : manifests_changed) scheduler_->manifests_changed(module);
    offer_staged_upgrades();  // AutoUpgrade may have come on
  });
}

Result<std::string> Agent::scan_now(const std::string& module, int cpu_throttle) {
  Result<std::string> outcome = Error{"the agent is stopping"};
  on_agent_thread([&] {
    auto limit = cpu_limit_from_throttle(cpu_throttle);
    if (Status why = why_not_scannable(module); !why) {
      outcome = Error{why.error()};
      return;
    }
    outcome =
        limit.ok() ? scheduler_->demand(module, limit.value(), "platform") : Result<std::string>(Error{limit.error()});
  });
  return outcome;
}

void Agent::uninstall_requested() {
  if (Status saved = store_->config().set("Uninstalled", std::to_string(unix_now())); !saved.ok()) {
    logs_->daemon()->error("uninstall not recorded: {}", saved.error());
  }
  // The last check-in reports the command done; then the agent goes.
  link_->leave([this](const Status&) { asio::post(io_, [this] { leave_after_uninstall_command(); }); });
}

void Agent::leave_after_uninstall_command() {
  auto log = logs_->daemon();
  log->warn("uninstalled by the platform: stopping; vigild will not start again until provisioned");
  // Installed as a package, the package goes too (identity and state stay, as with dpkg --remove).
  std::error_code ignored;
  if (std::filesystem::weakly_canonical(options_.paths.root, ignored) == "/") {
    if (auto removal = own_package_removal(false)) {
      std::string failed = start_detached(*removal);
      if (failed.empty()) {
        log->warn("removing the package: {}", fmt::join(*removal, " "));
      } else {
        log->error("the package stays installed: {}", failed);
      }
    }
  }
  shutdown();
}

void Agent::uploads_possible() {
  asio::post(io_, [this] {
    if (scheduler_ && !stopping_) scheduler_->uploads_possible();
  });
}

}  // namespace vigil
