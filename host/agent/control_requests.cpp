// The control socket's requests: one table maps each request's "command" to
// the Agent member that answers it. Handlers run on the agent's thread.
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

#include "agent/agent.h"
#include "budget/cgroup_support.h"
#include "control_socket/control_protocol.h"
#include "control_socket/reports.h"
#include "settings/reader.h"
#include "store/key_hive.h"
#include "store/manifests.h"
#include "store/plugin_crashes.h"
#include "version.h"

namespace vigil {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

json failure(const std::string& message) {
  return {{"ok", false}, {"error", message}};
}

const char* kind_name(int32_t kind) {
  return kind == VIGIL_MODULE_SCAN ? "scan" : "real-time";
}

}  // namespace

// What the module reports for operators (ABI 1.6), as status shows it.
json conditions_of(const LoadedPlugin& plugin) {
  static constexpr const char* kSeverity[] = {"clear", "info", "warning", "critical"};
  json conditions = json::array();
  const vigil_plugin_host& host = plugin.context();
  std::lock_guard lock(host.conditions_mutex);
  for (const auto& [code, condition] : host.conditions) {
    conditions.push_back({{"code", code},
                          {"severity", kSeverity[condition.severity]},
                          {"description", condition.description},
                          {"fix", condition.fix}});
  }
  return conditions;
}

std::span<const Agent::ControlRequest> Agent::control_requests() {
  static constexpr ControlRequest kRequests[] = {
      {"plugins", &Agent::on_plugins},
      {"status", &Agent::on_status},
      {"results", &Agent::on_results},
      {"manifest_set", &Agent::on_manifest_set},
      {"manifest_remove", &Agent::on_manifest_remove},
      {"demand", &Agent::on_demand},
      {"demand_status", &Agent::on_demand_status},
      {"unload", &Agent::on_unload},
      {"reload", &Agent::on_reload},
      {"release", &Agent::on_release},
      {"link_changed", &Agent::on_link_changed},
      {"stop", &Agent::on_stop},
      {"config_changed", &Agent::config_changed},
      {"leave", &Agent::on_leave},
      {"plugin_upgrade", &Agent::on_plugin_upgrade},
      {"plugin_rollback", &Agent::on_plugin_rollback},
      {"plugin_history", &Agent::on_plugin_history},
      {"protection_unlock", &Agent::on_protection_unlock},
  };
  return kRequests;
}

void Agent::handle(const json& request, const ControlServer::Reply& reply) {
  std::string command = request.value("command", "");
  logs_->daemon()->debug("control request: {}", command);
  if (stopping_) {
    reply(failure("vigild is stopping"));
    return;
  }
  auto requests = control_requests();
  auto found =
      std::find_if(requests.begin(), requests.end(), [&](const ControlRequest& row) { return row.command == command; });
  if (found == requests.end()) {
    reply(failure("unknown command '" + command + "'"));
    return;
  }
  try {
    (this->*found->handler)(request, reply);
  } catch (const json::exception& error) {
    reply(failure("malformed '" + command + "' request: " + error.what()));
  }
}

void Agent::on_plugins(const json& /*request*/, const ControlServer::Reply& reply) {
  reply({{"ok", true}, {"plugins", plugins_report()}});
}

void Agent::on_status(const json& /*request*/, const ControlServer::Reply& reply) {
  reply(status_report());
}

void Agent::on_results(const json& request, const ControlServer::Reply& reply) {
  std::optional<std::string> table;
  if (request.contains("table")) table = request.at("table").get<std::string>();
  const std::string module = request.at("module").get<std::string>();
  bool known = registry_->find(module) != nullptr;
  for (const PluginRecord& record : registry_->records()) known |= record.module == module;
  if (!known) {
    // A module whose plugin is gone keeps its results; one never seen here has none to show.
    auto latest = store_->snapshots().latest(module);
    if (latest.ok() && !latest.value()) {
      reply(failure("no module '" + module + "' here (vigilctl plugins lists the modules)"));
      return;
    }
  }
  auto report = results_report(*store_, module, table, request.value("limit", int64_t{1000}),
                               request.value("offset", int64_t{0}));
  reply(report.ok() ? json{{"ok", true}, {"results", report.value()}} : failure(report.error()));
}

void Agent::on_demand_status(const json& request, const ControlServer::Reply& reply) {
  json status = scheduler_->demand_status(request.at("control_id").get<std::string>());
  reply(status.is_null() ? failure("unknown ControlId " + request.at("control_id").get<std::string>())
                         : json{{"ok", true}, {"demand", status}});
}

void Agent::on_unload(const json& request, const ControlServer::Reply& reply) {
  if (!request.contains("module")) {
    reply(failure("unload needs a module"));
    return;
  }
  unload(request.at("module").get<std::string>(), reply, false);
}

// With a module: unloads it and loads its file again. Without: loads the
// plugin files that are new in the plugin directory.
void Agent::on_reload(const json& request, const ControlServer::Reply& reply) {
  if (request.contains("module")) {
    unload(request.at("module").get<std::string>(), reply, true);
    return;
  }
  if (!lingering_code_.empty()) {
    restart_worker(lingering_code_, reply);
    return;
  }
  size_t loaded = registry_->load_directory(options_.plugin_dir.value_or(options_.paths.plugin_dir));
  reconcile_activation();
  reply({{"ok", true}, {"loaded", loaded}, {"plugins", plugins_report()}});
}

void Agent::on_release(const json& request, const ControlServer::Reply& reply) {
  std::string module = request.at("module").get<std::string>();
  auto forgotten = store_->plugin_crashes().forget(module);
  if (!forgotten.ok() || !forgotten.value()) {
    reply(failure(forgotten.ok() ? "module '" + module + "' is not quarantined" : forgotten.error()));
    return;
  }
  logs_->daemon()->info("module '{}' released from quarantine", module);
  registry_->load_directory(options_.plugin_dir.value_or(options_.paths.plugin_dir));
  if (auto plugin = registry_->find(module); plugin && !plugin->context().on_demand_key.empty()) {
    // The demand that crashed it left its key at "running" (2): it starts afresh.
    std::string path = std::string(kHiveRoot) + "/" + plugin->context().on_demand_key;
    if (auto pending = store_->hive().get(path, "ScanOnDemand"); pending.ok() && pending.value()) {
      if (Status reset = store_->hive().set(path, "ScanOnDemand", "0"); !reset.ok()) {
        logs_->daemon()->error("key hive: {}", reset.error());
      }
    }
  }
  reconcile_activation();
  reply({{"ok", true}, {"plugins", plugins_report()}});
}

void Agent::on_link_changed(const json& /*request*/, const ControlServer::Reply& reply) {
  link_->wake();
  reply({{"ok", true}});
}

void Agent::on_stop(const json& request, const ControlServer::Reply& reply) {
  if (Status unlocked = unlock_protection(request); !unlocked) {
    reply(failure(unlocked.error()));
    return;
  }
  reply({{"ok", true}});
  asio::post(io_, [this] { shutdown(); });
}

void Agent::on_leave(const json& request, const ControlServer::Reply& reply) {
  if (Status unlocked = unlock_protection(request); !unlocked) {
    reply(failure(unlocked.error()));
    return;
  }
  if (!link_->configured()) {
    reply({{"ok", true}, {"told", false}, {"why", "no platform is configured"}});
    return;
  }
  link_->leave([reply](const Status& told) {
    reply(told.ok() ? json{{"ok", true}, {"told", true}} : json{{"ok", true}, {"told", false}, {"why", told.error()}});
  });
}

json Agent::plugins_report() const {
  json list = json::array();
  settings::Reader config(store_->config());
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
                    // In force (a profile's or a local value, else the plugin's own), and the plugin's own.
                    {"cpu_limit", config.integer("CpuLimit", record.module, record.cpu_limit)},
                    {"default_cpu_limit", record.cpu_limit},
                    {"scan_interval", config.integer("ScanInterval", record.module)},
                    {"manifest_types", record.manifest_types}});
      // What the module scans while no one gave it a manifest.
      DefaultManifests defaults = default_manifests(record.module);
      json shipped = json::array();
      for (size_t i = 0; i < defaults.manifests.size(); ++i) {
        shipped.push_back({{"type", defaults.manifests[i].manifest_type},
                           {"version", defaults.manifests[i].version},
                           {"file", defaults.files[i].string()}});
      }
      entry["default_manifests"] = std::move(shipped);
      if (!defaults.missing.empty()) entry["no_default_manifest"] = defaults.missing;
    } else {
      entry["reason"] = record.reason;
      if (record.quarantined) entry.update({{"module", record.module}, {"quarantined", true}});
    }
    list.push_back(std::move(entry));
  }
  return list;
}

json Agent::event_counts() {
  json counts = json::object();
  for (const auto& [module, count] : events_->counts()) {
    counts[module] = {{"received", count.received}, {"written", count.written}, {"lost", count.lost}};
  }
  return counts;
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
    if (json conditions = conditions_of(*plugin); !conditions.empty()) module["conditions"] = std::move(conditions);
    modules.push_back(std::move(module));
  }
  // A quarantined module stays in sight, with why, until it is released.
  for (const PluginRecord& record : registry_->records()) {
    if (!record.quarantined) continue;
    auto last = last_snapshot_report(*store_, record.module);
    modules.push_back({{"module", record.module},
                       {"state", "quarantined"},
                       {"reason", record.reason},
                       {"last_snapshot", last.ok() ? last.value() : json(nullptr)}});
  }
  return {{"ok", true},
          {"daemon",
           {{"running", true},
            {"pid", ::getpid()},
            {"version", kVigilVersion},
            {"started_at", started_at_},
            {"log_level", logs_->level()}}},
          {"agent_id", agent_id(*store_)},
          {"modules", modules},
          {"outbox", scheduler_->outbox_status()},
          {"scans", scheduler_->scan_counts()},
          {"events", event_counts()},
          {"command_budget",
           {{"mode", budget::mode_name(budget::machine_support().mode)},
            {"detail", budget::machine_support().description}}},
          {"self_protection", protection_report()},
          {"platform", link_->status()}};
}

void Agent::on_manifest_set(const json& request, const ControlServer::Reply& reply) {
  std::string module = request.at("module").get<std::string>();
  std::string body = request.at("body").get<std::string>();
  if (request.contains("part")) {
    // In parts: each under the line bound; the last one stores the whole.
    int64_t part = request.at("part").get<int64_t>(), parts = request.at("parts").get<int64_t>();
    std::string id = request.at("upload").get<std::string>();
    if (part == 0) manifest_upload_ = ManifestUpload{id, "", 0};
    if (!manifest_upload_ || manifest_upload_->id != id || manifest_upload_->next_part != part || part >= parts) {
      reply(failure("manifest upload " + id + ": part " + std::to_string(part) + " of " + std::to_string(parts) +
                    " out of order, or replaced by another upload; send the manifest again"));
      return;
    }
    if (manifest_upload_->body.size() + body.size() > kMaxManifestBytes) {
      manifest_upload_.reset();
      reply(failure("manifest upload " + id + ": larger than " + std::to_string(kMaxManifestBytes >> 20) + " MiB"));
      return;
    }
    manifest_upload_->body += body;
    if (++manifest_upload_->next_part < parts) {
      reply({{"ok", true}, {"received", part}});
      return;
    }
    body = std::move(manifest_upload_->body);
    manifest_upload_.reset();
  }
  auto plugin = registry_->find(module);
  std::vector<std::string> types;
  if (plugin) {
    types = plugin->manifest_types();
  } else if (registry_->quarantined(module)) {
    // The fix may be a manifest: it can be staged before the release. The
    // module's types are those of its stored manifests, or the one asked for.
    if (auto stored = store_->manifests().of_module(module); stored.ok()) {
      for (const auto& manifest : stored.value()) types.push_back(manifest.manifest_type);
    }
    if (request.contains("manifest_type")) types = {request.at("manifest_type").get<std::string>()};
    if (types.empty()) {
      reply(failure("module '" + module + "' is quarantined and has no manifest yet: give its manifest type"));
      return;
    }
  } else {
    reply(failure("no loaded module '" + module + "' (see vigilctl plugins)"));
    return;
  }
  // Without a type: the module's only one, else the one named like the module (vm of vm and vm-advisories).
  bool named_like_module = std::find(types.begin(), types.end(), module) != types.end();
  std::string type = request.value("manifest_type", types.size() == 1   ? types.front()
                                                    : named_like_module ? module
                                                                        : std::string());
  if (std::find(types.begin(), types.end(), type) == types.end()) {
    reply(failure("module '" + module + "' does not handle manifest type '" + type +
                  "'; it handles: " + fmt::format("{}", fmt::join(types, ", "))));
    return;
  }
  Manifest manifest{module, type, request.value("version", "local"), std::move(body), "local"};
  if (Status stored = store_->manifests().put(manifest); !stored.ok()) {
    reply(failure(stored.error()));
    return;
  }
  logs_->daemon()->info("manifest stored: module '{}', type '{}', version '{}'", module, type, manifest.version);
  scheduler_->manifests_changed(module);
  reply({{"ok", true}, {"module", module}, {"manifest_type", type}, {"version", manifest.version}});
}

void Agent::on_manifest_remove(const json& request, const ControlServer::Reply& reply) {
  std::string module = request.at("module").get<std::string>();
  std::string type = request.value("manifest_type", "");
  auto stored = store_->manifests().of_module(module);
  if (!stored.ok()) {
    reply(failure(stored.error()));
    return;
  }
  if (stored.value().empty()) {
    reply(failure("module '" + module + "' has no stored manifest to remove (its default, if any, is in force)"));
    return;
  }
  auto removed = store_->manifests().remove(module, type);
  if (!removed.ok()) {
    reply(failure(removed.error()));
    return;
  }
  if (removed.value() == 0) {
    reply(failure("module '" + module + "' has no manifest of type '" + type + "'"));
    return;
  }
  logs_->daemon()->info("manifest removed: module '{}'{}", module, type.empty() ? "" : ", type '" + type + "'");
  scheduler_->manifests_changed(module);  // its default, if it has one, is scanned at once
  // What is in force now, for the reply: another stored manifest, the default, or nothing and why.
  json answer = {{"ok", true}, {"module", module}, {"removed", removed.value()}, {"in_force", nullptr}};
  if (auto now = manifests_in_force(store_->manifests(), default_manifests(module), module); now.ok()) {
    if (now.value().manifests.empty()) {
      answer["no_manifest"] = now.value().missing;
    } else {
      answer["in_force"] = {{"source", now.value().manifests.front().source},
                            {"version", now.value().manifests.front().version}};
    }
  }
  reply(answer);
}

DefaultManifests Agent::default_manifests(const std::string& module) const {
  return find_default_manifests(options_.plugin_dir.value_or(options_.paths.plugin_dir), module, os_name_);
}

Status Agent::why_not_scannable(const std::string& module) {
  if (scheduler_->is_active(module)) return {};
  std::shared_ptr<LoadedPlugin> plugin = registry_->find(module);
  if (!plugin) {
    for (const PluginRecord& record : registry_->records()) {
      if (record.module == module && record.quarantined) {
        return Error{"module '" + module + "' is quarantined: " + record.reason + " (vigilctl plugins release " +
                     module + ")"};
      }
    }
    return Error{"module '" + module + "' is not activated: no plugin for it is loaded (vigilctl plugins lists them)"};
  }
  if (plugin->kind() != VIGIL_MODULE_SCAN) {
    return Error{"module '" + module + "' is not activated for scans: it watches in real time and has no scans"};
  }
  return Error{"module '" + module + "' is not activated: its plugin is loaded, but the platform has not activated " +
               "it for this agent (vigil-platform admin activate --module " + module + ")"};
}

void Agent::on_demand(const json& request, const ControlServer::Reply& reply) {
  auto cpu_limit = cpu_limit_from_throttle(request.value("cpu_throttle", 0));
  if (!cpu_limit.ok()) {
    reply(failure(cpu_limit.error()));
    return;
  }
  std::string module = request.at("module").get<std::string>();
  if (Status why = why_not_scannable(module); !why) {
    reply(failure(why.error()));
    return;
  }
  auto control_id =
      scheduler_->demand(module, cpu_limit.value(), request.value("source", std::string("vigilctl")), false);
  reply(control_id.ok() ? json{{"ok", true}, {"control_id", control_id.value()}} : failure(control_id.error()));
  // Posted after the reply: the requester learns the ControlId even if the scan crashes the worker at once.
  asio::post(io_, [this, module] {
    if (!stopping_) scheduler_->start_waiting(module);
  });
}

void Agent::restart_worker(const std::string& reason, const ControlServer::Reply& reply) {
  auto log = logs_->daemon();
  if (options_.supervisor_fd < 0) {
    log->error("{}; restart vigild to run the new code (no supervisor to restart the worker)", reason);
    reply(failure(reason + "; restart vigild to run the new code (running without a supervisor)"));
    return;
  }
  log->warn("{}: restarting the worker to run the new code", reason);
  restart_reason_ = reason;
  reply({{"ok", true}, {"restarting", reason}, {"worker_pid", ::getpid()}});
  // A moment later, so the reply is surely out; the supervisor starts a new worker once this one exits.
  auto delay = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(200));
  delay->async_wait([this, delay](boost::system::error_code) { shutdown(); });
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
      std::string module = plugin->module();
      Status gone = plugin->unload();  // on_destroy / on_shutdown, dlclose, and the check that the code is gone
      plugin.reset();
      if (gone.ok()) {
        logs_->daemon()->info("plugin unloaded: {}", file.string());
      } else {
        // Loading the file again now would run the old code, or mix old and new.
        lingering_code_ = fmt::format("module '{}': {}", module, gone.error());
        logs_->daemon()->warn("plugin unloaded: {}, but {}", file.string(), lingering_code_);
      }
      if (!load_again) {
        json done = {{"ok", true}};
        if (!gone.ok()) done["warning"] = lingering_code_ + "; loading it again restarts the worker";
        reply(done);
        return;
      }
      if (!gone.ok()) {
        restart_worker(lingering_code_, reply);
        return;
      }
      auto loaded = registry_->load_file(file);
      if (loaded.ok()) reconcile_activation();
      reply(loaded.ok() ? json{{"ok", true}, {"module", loaded.value()}} : failure(loaded.error()));
    });
  });
}

}  // namespace vigil
