// The agent: start-up order, request handling and orderly shutdown.
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

#include "agent/idle_memory.h"
#include "agent/supervisor.h"
#include "budget/cgroup_support.h"
#include "control/reports.h"
#include "link/platform_upload_target.h"
#include "version.h"

namespace vigil {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

json failure(const std::string& message) {
  return {{"ok", false}, {"error", message}};
}

const char* kind_name(int32_t kind) {
  return kind == VIGIL_MODULE_SCAN ? "scan" : "real-time";
}

}  // namespace

Agent::Agent(AgentOptions options)
    : options_(std::move(options)), signals_(io_, SIGINT, SIGTERM), scan_pool_(options_.scan_threads) {}

Agent::~Agent() {
  scan_pool_.join();
  // Run what the scans posted back (replies, last plugin references) while the
  // store and logs still exist, then unload the plugins on this thread.
  io_.restart();
  io_.poll();
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
  std::error_code error;
  for (const auto& dir : {paths.data_dir, paths.run_dir, paths.config_dir}) {
    std::filesystem::create_directories(dir, error);
    if (error) return Error{"cannot create " + dir.string() + ": " + error.message()};
  }

  // One daemon per root: the lock dies with the process, so it is never stale.
  if (options_.supervisor_fd < 0) {
    auto lock = lock_instance(paths);
    if (!lock.ok()) return Error{lock.error()};
    lock_fd_ = lock.value();
  }

  auto store = StateStore::open(paths.state_db());
  if (!store.ok()) return Error{store.error()};
  store_ = std::move(store.value());

  // Logging configuration from the store; a bad value falls back to the default and says so.
  int level = LogManager::kDefaultLevel;
  LogDestination destination = LogDestination::kFile;
  std::vector<std::string> config_problems;
  for (const char* key : {"Logs/TraceLevel", "LogLevel"}) {
    auto value = store_->config(key);
    if (!value.ok() || !value.value()) continue;
    auto parsed = parse_log_level(*value.value());
    if (parsed.ok()) {
      level = parsed.value();
      break;
    }
    config_problems.push_back(std::string(key) + ": " + parsed.error());
  }
  if (auto value = store_->config("LogDestType"); value.ok() && value.value()) {
    auto parsed = parse_log_destination(*value.value());
    if (parsed.ok()) {
      destination = parsed.value();
    } else {
      config_problems.push_back(parsed.error());
    }
  }
  int64_t memory_limit = kDefaultWorkerMemoryLimit;
  if (auto value = store_->config(kWorkerMemoryLimitKey); value.ok() && value.value()) {
    auto parsed = parse_memory_size(*value.value());
    if (parsed.ok()) {
      memory_limit = parsed.value();
    } else {
      config_problems.push_back(std::string(kWorkerMemoryLimitKey) + ": " + parsed.error());
    }
  }
  logs_ = std::make_unique<LogManager>(paths.log_dir, level, destination, options_.log_to_stderr);
  auto log = logs_->daemon();
  log->info("vigild {} starting (pid {}, root {}, ABI {}.{})", kVigilVersion, ::getpid(), paths.root.string(),
            VIGIL_ABI_VERSION_MAJOR, VIGIL_ABI_VERSION_MINOR);
  for (const auto& problem : config_problems) log->warn("configuration ignored: {}", problem);
  record_previous_crash();
  report_to_supervisor(fmt::format("{} {}", kMemoryLimitReport, memory_limit));
  if (memory_limit == 0) {
    log->info("{}: none", kWorkerMemoryLimitKey);
  } else {
    log->info(
        "{}: {} ({})", kWorkerMemoryLimitKey, memory_size_text(memory_limit),
        options_.supervisor_fd >= 0 ? "the supervisor restarts the worker past it" : "not enforced: no supervisor");
  }

  events_ = std::make_unique<EventBatcher>(io_, *store_, *logs_, [this] {
    if (scheduler_) scheduler_->outbox_changed();
  });
  registry_ = std::make_unique<PluginRegistry>(
      PluginServices{store_.get(), logs_.get(), plugin_marker_dir(paths), kQuarantineAfterCrashes, events_.get()});
  auto plugin_dir = options_.plugin_dir.value_or(paths.plugin_dir);
  size_t loaded = registry_->load_directory(plugin_dir);
  log->info("{} plugin(s) loaded from {}", loaded, plugin_dir.string());

  if (auto uninstalled = store_->config("Uninstalled"); uninstalled.ok() && uninstalled.value()) {
    return Error{"this agent was uninstalled by its platform (" + *uninstalled.value() +
                 "); run vigilctl provision to provision it again"};
  }
  // Deltas go to the platform once one is configured, to a local directory until then.
  link_ = std::make_unique<PlatformLink>(paths, *store_, *logs_, *this);
  auto upload_dir = store_->config("UploadDirectory");
  auto target = std::make_unique<PlatformUploadTarget>(*link_, upload_dir.ok() && upload_dir.value()
                                                                   ? std::filesystem::path(*upload_dir.value())
                                                                   : paths.data_dir / "uploaded");
  auto max_entries = store_->config("OutboxMaxEntries");
  auto max_bytes = store_->config("OutboxMaxBytes");
  try {
    store_->set_outbox_limits(max_entries.ok() && max_entries.value() ? std::stoll(*max_entries.value()) : 10000,
                              max_bytes.ok() && max_bytes.value() ? std::stoll(*max_bytes.value()) : 256LL << 20);
  } catch (const std::exception&) {
    log->warn("configuration ignored: OutboxMaxEntries/OutboxMaxBytes must be integers");
  }
  scheduler_ =
      std::make_unique<Scheduler>(io_, scan_pool_, *store_, *logs_, std::move(target), paths.config_dir / "proxy");
  hive_watcher_ = std::make_unique<HiveWatcher>(io_, paths.state_db(), [this] { scheduler_->hive_changed(); });
  if (Status watching = hive_watcher_->start(); !watching.ok()) return watching;
  std::vector<std::shared_ptr<LoadedPlugin>> active;
  auto activated = activated_modules(*store_);
  for (const auto& plugin : registry_->loaded()) {
    if (!activated || std::count(activated->begin(), activated->end(), plugin->module()) > 0) active.push_back(plugin);
  }
  scheduler_->start(active);
  link_->start();

  control_ = std::make_unique<ControlServer>(
      io_, paths.control_socket(), [this](const json& request, ControlServer::Reply reply) { handle(request, reply); });
  if (Status started = control_->start(); !started.ok()) return started;

  signals_.async_wait([this](boost::system::error_code error, int signal) {
    if (error) return;
    logs_->daemon()->info("signal {} received, stopping", signal);
    shutdown();
  });
  started_at_ = unix_now();
  log->info("ready: control socket {}", paths.control_socket().string());
  if (options_.ready_fd >= 0) {
    const char ready[] = "READY=1\n";
    [[maybe_unused]] ssize_t written = ::write(options_.ready_fd, ready, sizeof(ready) - 1);
    ::close(options_.ready_fd);
  }
  return Status::Ok();
}

void Agent::record_previous_crash() {
  const char* how = std::getenv(kPreviousCrashVariable);
  if (how == nullptr) return;
  std::string summary = how;
  std::vector<std::string> modules;
  if (const char* list = std::getenv(kCrashedModulesVariable); list != nullptr) {
    for (std::string_view rest = list; !rest.empty();) {
      size_t comma = std::min(rest.find(','), rest.size());
      if (comma > 0) modules.emplace_back(rest.substr(0, comma));
      rest.remove_prefix(std::min(comma + 1, rest.size()));
    }
  }
  summary += modules.empty() ? " outside any plugin" : " while running module";
  for (const std::string& module : modules) {
    auto crashes = store_->record_plugin_crash(module, how, unix_now());
    summary += crashes.ok() ? fmt::format(" '{}' (crash {} of {} before quarantine)", module, crashes.value(),
                                          kQuarantineAfterCrashes)
                            : fmt::format(" '{}' (crash not recorded: {})", module, crashes.error());
  }
  logs_->daemon()->error("restarted by the supervisor: {}", summary);
  report_to_supervisor(std::string(kChargedReport));
  // Plugins' commands inherit the environment: the crash is not theirs to see.
  ::unsetenv(kPreviousCrashVariable);
  ::unsetenv(kCrashedModulesVariable);
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
  signals_.cancel();
  link_stopping_ = true;
  link_->stop();
  scheduler_->stop();
  hive_watcher_->stop();
  // Scans see the cancel at their next checkpoint; the destructor waits for them.
  for (const auto& plugin : registry_->loaded()) plugin->cancel_scans();
  io_.stop();
}

void Agent::handle(const json& request, const ControlServer::Reply& reply) {
  std::string command = request.value("command", "");
  logs_->daemon()->debug("control request: {}", command);
  if (stopping_) {
    reply(failure("vigild is stopping"));
    return;
  }
  try {
    if (command == "plugins") {
      reply({{"ok", true}, {"plugins", plugins_report()}});
    } else if (command == "status") {
      reply(status_report());
    } else if (command == "results") {
      std::optional<std::string> table;
      if (request.contains("table")) table = request.at("table").get<std::string>();
      auto report = results_report(*store_, request.at("module").get<std::string>(), table,
                                   request.value("limit", int64_t{1000}), request.value("offset", int64_t{0}));
      reply(report.ok() ? json{{"ok", true}, {"results", report.value()}} : failure(report.error()));
    } else if (command == "manifest_set") {
      set_manifest(request, reply);
    } else if (command == "demand") {
      demand(request, reply);
    } else if (command == "demand_status") {
      json status = scheduler_->demand_status(request.at("control_id").get<std::string>());
      reply(status.is_null() ? failure("unknown ControlId " + request.at("control_id").get<std::string>())
                             : json{{"ok", true}, {"demand", status}});
    } else if (command == "unload" || command == "reload") {
      if (request.contains("module")) {
        unload(request.at("module").get<std::string>(), reply, command == "reload");
      } else if (command == "reload") {
        size_t loaded = registry_->load_directory(options_.plugin_dir.value_or(options_.paths.plugin_dir));
        reconcile_activation();
        reply({{"ok", true}, {"loaded", loaded}, {"plugins", plugins_report()}});
      } else {
        reply(failure("unload needs a module"));
      }
    } else if (command == "release") {
      std::string module = request.at("module").get<std::string>();
      auto forgotten = store_->forget_plugin_crashes(module);
      if (!forgotten.ok() || !forgotten.value()) {
        reply(failure(forgotten.ok() ? "module '" + module + "' is not quarantined" : forgotten.error()));
        return;
      }
      logs_->daemon()->info("module '{}' released from quarantine", module);
      registry_->load_directory(options_.plugin_dir.value_or(options_.paths.plugin_dir));
      reconcile_activation();
      reply({{"ok", true}, {"plugins", plugins_report()}});
    } else if (command == "link_changed") {
      link_->wake();
      reply({{"ok", true}});
    } else if (command == "stop") {
      reply({{"ok", true}});
      asio::post(io_, [this] { shutdown(); });
    } else {
      reply(failure("unknown command '" + command + "'"));
    }
  } catch (const json::exception& error) {
    reply(failure("malformed '" + command + "' request: " + error.what()));
  }
}

json Agent::plugins_report() const {
  json list = json::array();
  for (const PluginRecord& record : registry_->records()) {
    json entry = {{"file", record.file.string()}, {"state", record.loaded ? "loaded" : "refused"}};
    if (record.loaded) {
      entry.update({{"module", record.module},
                    {"name", record.display_name},
                    {"version", record.version},
                    {"abi_version", std::to_string(VIGIL_ABI_MAJOR(record.abi_version)) + "." +
                                        std::to_string(VIGIL_ABI_MINOR(record.abi_version))},
                    {"kind", kind_name(record.kind)},
                    {"key_name", record.key_name},
                    {"cpu_limit", record.cpu_limit},
                    {"manifest_types", record.manifest_types}});
    } else {
      entry["reason"] = record.reason;
    }
    list.push_back(std::move(entry));
  }
  return list;
}

json Agent::status_report() {
  json modules = json::array();
  for (const auto& plugin : registry_->loaded()) {
    auto last = last_snapshot_report(*store_, plugin->module());
    json module = {{"module", plugin->module()},
                   {"name", plugin->display_name()},
                   {"kind", kind_name(plugin->kind())},
                   {"state", plugin->kind() == VIGIL_MODULE_SCAN ? "disabled" : "real-time"},
                   {"last_snapshot", last.ok() ? last.value() : json(nullptr)}};
    if (plugin->kind() == VIGIL_MODULE_SCAN) module.update(scheduler_->module_status(plugin->module()));
    modules.push_back(std::move(module));
  }
  return {{"ok", true},
          {"daemon", {{"running", true}, {"pid", ::getpid()}, {"version", kVigilVersion}, {"started_at", started_at_}}},
          {"agent_id", agent_id(*store_)},
          {"modules", modules},
          {"outbox", scheduler_->outbox_status()},
          {"command_budget",
           {{"mode", budget::mode_name(budget::machine_support().mode)},
            {"detail", budget::machine_support().description}}},
          {"platform", link_->status()}};
}

void Agent::set_manifest(const json& request, const ControlServer::Reply& reply) {
  std::string module = request.at("module").get<std::string>();
  auto plugin = registry_->find(module);
  if (!plugin) {
    reply(failure("no loaded module '" + module + "' (see vigilctl plugins)"));
    return;
  }
  auto types = plugin->manifest_types();
  std::string type = request.value("manifest_type", types.size() == 1 ? types.front() : std::string());
  if (std::find(types.begin(), types.end(), type) == types.end()) {
    reply(failure("module '" + module + "' does not handle manifest type '" + type +
                  "'; it handles: " + fmt::format("{}", fmt::join(types, ", "))));
    return;
  }
  Manifest manifest{module, type, request.value("version", "local"), request.at("body").get<std::string>()};
  if (Status stored = store_->put_manifest(manifest); !stored.ok()) {
    reply(failure(stored.error()));
    return;
  }
  logs_->daemon()->info("manifest stored: module '{}', type '{}', version '{}'", module, type, manifest.version);
  scheduler_->manifests_changed(module);
  reply({{"ok", true}, {"module", module}, {"manifest_type", type}, {"version", manifest.version}});
}

void Agent::demand(const json& request, const ControlServer::Reply& reply) {
  auto cpu_limit = cpu_limit_from_throttle(request.value("cpu_throttle", 0));
  if (!cpu_limit.ok()) {
    reply(failure(cpu_limit.error()));
    return;
  }
  auto control_id = scheduler_->demand(request.at("module").get<std::string>(), cpu_limit.value(),
                                       request.value("source", std::string("vigilctl")));
  reply(control_id.ok() ? json{{"ok", true}, {"control_id", control_id.value()}} : failure(control_id.error()));
}

void Agent::unload(const std::string& module, const ControlServer::Reply& reply, bool load_again) {
  scheduler_->deactivate(module);
  auto plugin = registry_->detach(module);
  if (!plugin) {
    reply(failure("no loaded module '" + module + "'"));
    return;
  }
  asio::post(scan_pool_, [this, plugin = std::move(plugin), reply, load_again]() mutable {
    plugin->wait_idle();
    asio::post(io_, [this, plugin = std::move(plugin), reply, load_again]() mutable {
      auto file = plugin->file();
      plugin.reset();  // on_shutdown and dlclose happen here unless a scan reply still holds it
      logs_->daemon()->info("plugin unloaded: {}", file.string());
      if (!load_again) {
        reply({{"ok", true}});
        return;
      }
      auto loaded = registry_->load_file(file);
      if (loaded.ok()) reconcile_activation();
      reply(loaded.ok() ? json{{"ok", true}, {"module", loaded.value()}} : failure(loaded.error()));
    });
  });
}

}  // namespace vigil

namespace vigil {

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
        if (auto removed = store_->hive_delete(path); removed.ok()) {
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
      if (auto manifests = store_->manifests(plugin->module()); manifests.ok()) {
        for (const auto& manifest : manifests.value()) {
          v1::ManifestVersion* version = status.add_manifests();
          version->set_module(manifest.module);
          version->set_manifest_type(manifest.manifest_type);
          version->set_version(manifest.version);
        }
      }
      if (auto last = store_->last_scan_completed(plugin->module()); last.ok() && last.value()) {
        status.set_last_scan_completed(*last.value());
      }
      statuses.push_back(std::move(status));
    }
  });
  return statuses;
}

void Agent::desired_state_applied(const std::vector<std::string>& manifests_changed) {
  on_agent_thread([&] {
    if (auto level = store_->config("LogLevel"); level.ok() && level.value()) {
      if (auto parsed = parse_log_level(*level.value()); parsed.ok()) logs_->set_level(parsed.value());
    }
    reconcile_activation();
    scheduler_->profile_changed();
    for (const auto& module : manifests_changed) scheduler_->manifests_changed(module);
  });
}

Result<std::string> Agent::scan_now(const std::string& module, int cpu_throttle) {
  Result<std::string> outcome = Error{"the agent is stopping"};
  on_agent_thread([&] {
    auto limit = cpu_limit_from_throttle(cpu_throttle);
    outcome =
        limit.ok() ? scheduler_->demand(module, limit.value(), "platform") : Result<std::string>(Error{limit.error()});
  });
  return outcome;
}

void Agent::uninstall_requested() {
  if (Status saved = store_->set_config("Uninstalled", std::to_string(unix_now())); !saved.ok()) {
    logs_->daemon()->error("uninstall not recorded: {}", saved.error());
  }
  asio::post(io_, [this] {
    logs_->daemon()->warn("uninstalled by the platform: stopping; vigild will not start again until provisioned");
    shutdown();
  });
}

void Agent::uploads_possible() {
  asio::post(io_, [this] {
    if (scheduler_ && !stopping_) scheduler_->uploads_possible();
  });
}

}  // namespace vigil
