// Plugin swaps: a verified new version of one module's plugin replaces the
// running one without restarting the agent, is watched on probation, and is
// reverted by this code (never by the plugin) when it fails. Every step is
// written to the store before the action it announces, so a worker that dies
// at any point is settled at the next start (docs/design/self-patch.md §5).
#include <fmt/format.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdlib>

#include "agent/agent.h"
#include "agent/supervisor.h"
#include "link/desired_state.h"
#include "plugin/plugin_call_marker.h"
#include "settings/reader.h"
#include "store/config_table.h"
#include "vigil/crypto/digest.h"
#include "vigil/time_windows/time_windows.h"

namespace vigil {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

// How long a reverted version's scan may take to end before its worker is
// replaced, and how long that worker then has to exit before it is killed
// (short: its shutdown waits for the stuck scan first, so it cannot end cleanly).
constexpr std::chrono::seconds kStuckScanGrace{10};
constexpr std::chrono::seconds kStuckWorkerExit{2};

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A history line; the times and the bad file are set by the caller where known.
UpgradeRecord upgrade_record(const std::string& module, const std::string& from, const std::string& to,
                             const std::string& outcome, const std::string& reason) {
  UpgradeRecord record;
  record.at = unix_now();
  record.module = module;
  record.from_version = from;
  record.to_version = to;
  record.outcome = outcome;
  record.reason = reason;
  return record;
}

json failure(const std::string& message) {
  return {{"ok", false}, {"error", message}};
}

// "factory", or the slot's version.
std::string version_in(const PluginSlotState& slots, const std::string& slot) {
  return slot == "factory" || slot.empty() ? "factory" : slots.file(slot).version;
}

// The module's activity when the last worker died ("init", "scan …"), from the supervisor.
std::string crash_activity(const std::string& module) {
  const char* list = std::getenv(kCrashActivityVariable);
  for (std::string_view rest = list == nullptr ? "" : list; !rest.empty();) {
    size_t comma = std::min(rest.find(','), rest.size());
    std::string_view entry = rest.substr(0, comma);
    if (entry.size() > module.size() && entry.starts_with(module) && entry[module.size()] == '=') {
      return std::string(entry.substr(module.size() + 1));
    }
    rest.remove_prefix(std::min(comma + 1, rest.size()));
  }
  return {};
}

}  // namespace

std::set<std::string> Agent::settle_plugin_slots() {
  std::set<std::string> charged_to_version;
  auto log = logs_->daemon();
  Result<std::vector<PluginSlotState>> rows = store_->plugin_slots().all();
  if (!rows) {
    log->error("plugin slots unreadable, the factory plugins run: {}", rows.error());
    return charged_to_version;
  }
  const char* death = std::getenv(kPreviousCrashVariable);
  for (PluginSlotState slots : *rows) {
    const std::string& module = slots.module;
    UpgradeRecord record = upgrade_record(module, "", "", "", "");
    auto settle = [&](const std::string& outcome, const std::string& reason, bool bad) {
      record.from_version = version_in(slots, slots.previous);
      record.to_version = version_in(slots, slots.active);
      record.outcome = outcome;
      record.reason = reason;
      if (bad && slots.active != "factory") record.bad_sha256 = slots.file(slots.active).sha256;
      log->error("plugin {} {}: {} {}", module, record.to_version, outcome, reason);
    };
    // A package upgrade replaced the factory file: the package's version runs, the slots stay for later.
    if (slots.active != "factory" && !slots.factory_file.empty()) {
      Result<std::string> sha256 = crypto::hash_file(slots.factory_file, "sha256");
      if (!sha256 || *sha256 != slots.factory_sha256) {
        record =
            upgrade_record(module, version_in(slots, slots.active), "factory", "replaced by package",
                           fmt::format("{} was {} by a package; it runs instead of slot {}",
                                       slots.factory_file.string(), sha256 ? "replaced" : "removed", slots.active));
        log->warn("plugin {}: {}", module, record.reason);
        slots.active = "factory";
        slots.previous.clear();
        slots.state = "stable";
        slots.factory_file = sha256 ? slots.factory_file : std::filesystem::path();
        if (Status saved = store_->plugin_slots().put(slots, &record); !saved) log->error("{}", saved.error());
        continue;
      }
    }
    if (slots.state == "probing" && death != nullptr) {
      settle("reverted", fmt::format("the worker died ({}) while it was on probation", death), true);
    } else if (slots.state == "swapping" && death != nullptr && crash_activity(module) == kActivityInit) {
      settle("reverted", fmt::format("the worker died ({}) in its init", death), true);
    } else if (slots.state == "swapping") {
      // Killed or powered off mid-swap, not the new version's fault: the old one runs, the swap is offered again.
      ++slots.attempts;
      bool give_up = slots.attempts >= 3;
      settle(
          give_up ? "refused" : "interrupted",
          fmt::format("the swap was interrupted{} ({} of 3)", death ? fmt::format(" ({})", death) : "", slots.attempts),
          give_up);
    } else {
      continue;  // stable, staged, or on probation after a clean stop (resumed after start)
    }
    if (!record.bad_sha256.empty() || record.outcome == "interrupted") charged_to_version.insert(module);
    bool back_to_staged = record.outcome == "interrupted";
    slots.active = slots.previous.empty() ? "factory" : slots.previous;
    slots.previous.clear();
    slots.state = back_to_staged ? "staged" : "stable";
    slots.probe_deadline = 0;
    if (!back_to_staged) slots.attempts = 0;
    if (Status saved = store_->plugin_slots().put(slots, &record); !saved) log->error("{}", saved.error());
  }
  return charged_to_version;
}

std::set<std::filesystem::path> Agent::factory_files_replaced() {
  std::set<std::filesystem::path> files;
  if (Result<std::vector<PluginSlotState>> rows = store_->plugin_slots().all(); rows) {
    for (const PluginSlotState& slots : *rows) {
      if (slots.active != "factory" && !slots.factory_file.empty()) files.insert(slots.factory_file);
    }
  }
  return files;
}

Result<std::string> Agent::load_slot(const PluginSlotState& slots) {
  if (slots.active == "factory") return registry_->load_file(slots.factory_file);
  const SlotFile& file = slots.file(slots.active);
  ExpectedPlugin expected{file.sha256, slots.module, file.version};
  return registry_->load_file(plugin_slot_file(options_.paths.data_dir, slots.module, slots.active), &expected);
}

void Agent::load_plugin_slots() {
  Result<std::vector<PluginSlotState>> rows = store_->plugin_slots().all();
  if (!rows) return;
  for (PluginSlotState slots : *rows) {
    if (slots.active == "factory" || slots.factory_file.empty()) continue;
    Result<std::string> loaded = load_slot(slots);
    if (loaded) continue;
    // Changed on disk, or no longer loadable: never run it; the package's file runs instead.
    const SlotFile& file = slots.file(slots.active);
    UpgradeRecord record = upgrade_record(slots.module, file.version, "factory", "refused", loaded.error());
    record.bad_sha256 = file.sha256;
    slots.active = "factory";
    slots.previous.clear();
    slots.state = "stable";
    slots.probe_deadline = 0;
    if (Status saved = store_->plugin_slots().put(slots, &record); !saved) logs_->daemon()->error("{}", saved.error());
    logs_->daemon()->error("plugin {} {} refused, its factory plugin runs instead: {}", slots.module, file.version,
                           loaded.error());
    (void)registry_->load_file(slots.factory_file);
  }
}

void Agent::resume_plugin_swaps() {
  Result<std::vector<PluginSlotState>> rows = store_->plugin_slots().all();
  if (!rows) return;
  for (const PluginSlotState& slots : *rows) {
    // Stopped cleanly on probation (or restarted to unload code that stayed mapped): a fresh window.
    if (slots.state == "probing" && registry_->find(slots.module)) {
      begin_probe(slots.module, version_in(slots, slots.previous), -1);
      return;
    }
  }
  offer_staged_upgrades();
}

void Agent::offer_staged_upgrades() {
  if (probe_ || !swapping_.empty() || stopping_) return;
  settings::Reader config(store_->config(), [](const std::string&) {});
  bool automatic = config.boolean("AutoUpgrade");
  Result<std::vector<PluginSlotState>> rows = store_->plugin_slots().all();
  if (!rows) return;
  if (automatic) {
    // Outside the upgrade window, asked again each minute; a window that does not parse allows no automatic swap.
    Result<std::optional<std::string>> window_text = store_->config().get("UpgradeWindow");
    std::string text = window_text && *window_text ? **window_text : "";
    Result<TimeWindows> window = TimeWindows::parse(text);
    if (!window) {
      logs_->daemon()->error("UpgradeWindow '{}' is not valid ({}): no automatic plugin swap until it is", text,
                             window.error());
      return;
    }
    if (!window->empty() && !window->contains(TimeWindows::minute_of_day(std::chrono::system_clock::now()))) {
      upgrade_window_timer_ = std::make_unique<asio::steady_timer>(io_, std::chrono::minutes(1));
      upgrade_window_timer_->async_wait([this](boost::system::error_code error) {
        if (!error) offer_staged_upgrades();
      });
      return;
    }
  }
  for (const PluginSlotState& slots : *rows) {
    if (slots.state != "staged" || !registry_->find(slots.module)) continue;
    const std::string staged = slots.inactive();
    Result<std::optional<std::string>> pin = store_->config().get(slots.module + ".PluginPin");
    if (pin && *pin && **pin != slots.file(staged).version) continue;  // staged before the pin: not what it wants
    if (!automatic) {
      logs_->daemon()->info("plugin {} {} is staged; AutoUpgrade is off: vigilctl plugins upgrade {} swaps to it",
                            slots.module, slots.file(staged).version, slots.module);
      continue;
    }
    swap_plugin(slots.module, staged, false, [this, module = slots.module](const json& outcome) {
      if (!outcome.value("ok", false)) {
        logs_->daemon()->error("automatic upgrade of {}: {}", module, outcome.value("error", std::string()));
      }
    });
    return;  // one module at a time: the next when this one's probation ends
  }
}

void Agent::swap_plugin(const std::string& module, const std::string& slot, bool rollback,
                        const ControlServer::Reply& reply) {
  if (probe_) {
    reply(failure(fmt::format("module '{}' is on probation after its swap; one swap at a time", probe_->module)));
    return;
  }
  if (!swapping_.empty()) {
    reply(failure(fmt::format("module '{}' is being swapped; one swap at a time", swapping_)));
    return;
  }
  std::shared_ptr<LoadedPlugin> old = registry_->find(module);
  if (!old) {
    reply(failure("no loaded module '" + module + "'"));
    return;
  }
  Result<std::optional<PluginSlotState>> stored = store_->plugin_slots().get(module);
  if (!stored) {
    reply(failure(stored.error()));
    return;
  }
  PluginSlotState slots = stored->value_or([&] {
    PluginSlotState fresh;
    fresh.module = module;
    return fresh;
  }());
  if (slot == slots.active) {
    reply(failure(fmt::format("module '{}' already runs slot {}", module, slot)));
    return;
  }
  if (slot != "factory") {
    const SlotFile& file = slots.file(slot);
    if (file.sha256.empty()) {
      reply(failure(fmt::format("slot {} of module '{}' holds no plugin", slot, module)));
      return;
    }
    if (Result<std::optional<std::string>> bad = store_->plugin_slots().bad_reason(module, file.sha256); !bad || *bad) {
      reply(failure(bad ? fmt::format("{} {} is not swapped to again: {}", module, file.version, **bad) : bad.error()));
      return;
    }
  }
  if (slots.active == "factory") {
    // The package's file, remembered so that a package upgrade replacing it is noticed.
    Result<std::string> sha256 = crypto::hash_file(old->file(), "sha256");
    if (!sha256) {
      reply(failure(fmt::format("{}: {}", old->file().string(), sha256.error())));
      return;
    }
    slots.factory_file = old->file();
    slots.factory_sha256 = *sha256;
  }
  const int64_t began = steady_ms();
  const std::string from_version = old->version();
  UpgradeRecord rolled_back =
      upgrade_record(module, from_version, version_in(slots, slot), "rolled back", "by the operator");
  if (slots.active != "factory") rolled_back.bad_sha256 = slots.file(slots.active).sha256;
  slots.previous = rollback ? "" : slots.active;
  slots.active = slot;
  slots.state = "swapping";
  slots.changed_at = unix_now();
  if (Status saved = store_->plugin_slots().put(slots, rollback ? &rolled_back : nullptr); !saved) {
    reply(failure("the swap is not recorded, nothing changed: " + saved.error()));
    return;
  }
  logs_->daemon()->info("plugin {}: swapping {} for {} (slot {}){}", module, from_version, version_in(slots, slot),
                        slot, rollback ? ", rolled back by the operator" : "");
  swapping_ = module;
  scheduler_->hold(module);
  registry_->detach(module);
  // The running scan ends at its checkpoint; then the old code goes, on this thread.
  asio::post(scan_pool_, [this, old = std::move(old), slots, from_version, began, reply]() mutable {
    old->wait_idle();
    asio::post(io_, [this, old = std::move(old), slots, from_version, began, reply]() mutable {
      const std::string module = slots.module;
      Status gone = old->unload();
      old.reset();
      swapping_.clear();
      settings::Reader config(store_->config(), [](const std::string&) {});
      slots.probe_deadline = unix_now() + config.integer("PluginProbeWindow");
      if (!gone) {
        // The old code stays mapped: the new version loads in a new worker, on probation there.
        lingering_code_ = fmt::format("module '{}': {}", module, gone.error());
        slots.state = "probing";
        if (Status saved = store_->plugin_slots().put(slots); !saved) logs_->daemon()->error("{}", saved.error());
        restart_worker(lingering_code_, reply);
        return;
      }
      Result<std::string> loaded = load_slot(slots);
      if (!loaded) {
        revert_plugin(module, loaded.error());
        reply(failure(fmt::format("{}; {} runs again", loaded.error(), from_version)));
        return;
      }
      slots.state = "probing";
      slots.attempts = 0;
      if (Status saved = store_->plugin_slots().put(slots); !saved) logs_->daemon()->error("{}", saved.error());
      reconcile_activation();
      int64_t swap_ms = steady_ms() - began;
      begin_probe(module, from_version, swap_ms);
      std::shared_ptr<LoadedPlugin> now_running = registry_->find(module);
      reply({{"ok", true},
             {"module", module},
             {"version", now_running ? now_running->version() : std::string()},
             {"slot", slots.active},
             {"swap_ms", swap_ms},
             {"probation_seconds", slots.probe_deadline - unix_now()}});
    });
  });
}

void Agent::begin_probe(const std::string& module, const std::string& from_version, int64_t swap_ms) {
  std::shared_ptr<LoadedPlugin> plugin = registry_->find(module);
  Result<std::optional<PluginSlotState>> stored = store_->plugin_slots().get(module);
  if (!plugin || !stored || !*stored) return;
  PluginSlotState slots = **stored;
  settings::Reader config(store_->config(), [](const std::string&) {});
  const int64_t window = config.integer("PluginProbeWindow");
  slots.probe_deadline = unix_now() + window;  // a probation a restart interrupted starts afresh
  if (Status saved = store_->plugin_slots().put(slots); !saved) logs_->daemon()->error("{}", saved.error());
  probe_.emplace();
  probe_->module = module;
  probe_->from_version = from_version;
  probe_->to_version = plugin->version();
  probe_->swap_ms = swap_ms;
  std::string scan_note = "its first scan must end OK";
  if (plugin->kind() != VIGIL_MODULE_SCAN || !scheduler_->is_active(module)) {
    probe_->scan_done = true;
    scan_note = "it runs no scans here";
  } else if (Result<std::string> demand =
                 scheduler_->demand(module, cpu_limit_from_throttle(0).value(), "probe of a new plugin version");
             !demand && demand.error().find("already") == std::string::npos) {
    probe_->scan_done = true;  // nothing to scan (no manifest): init and no death are the test
    scan_note = "no probe scan (" + demand.error() + ")";
  }
  probe_->window = std::make_unique<asio::steady_timer>(io_, std::chrono::seconds(window));
  probe_->window->async_wait([this](boost::system::error_code error) {
    if (!error) probe_window_ended();
  });
  logs_->daemon()->info("plugin {} {} on probation for {} s: {}; a worker death reverts to {}", module,
                        probe_->to_version, window, scan_note, from_version);
}

void Agent::probe_scan_ended(const std::string& module, const Status& outcome) {
  if (!probe_ || probe_->module != module || probe_->scan_done) return;
  if (outcome) {
    probe_->scan_done = true;
    logs_->daemon()->info("plugin {} {}: its first scan ended OK", module, probe_->to_version);
  } else if (outcome.code() != ErrorCode::kCancelled) {
    revert_plugin(module, "its first scan failed: " + outcome.error());
  }
}

void Agent::probe_window_ended() {
  if (!probe_) return;
  const std::string module = probe_->module;
  if (!probe_->scan_done) {
    json state = scheduler_->module_status(module);
    if (state.value("state", "") == "collecting") {
      revert_plugin(module, "its first scan did not end within the probation window");
      return;
    }
  }
  Result<std::optional<PluginSlotState>> stored = store_->plugin_slots().get(module);
  if (stored && *stored) {
    PluginSlotState slots = **stored;
    slots.state = "stable";
    slots.probe_deadline = 0;
    UpgradeRecord record =
        upgrade_record(module, probe_->from_version, probe_->to_version, "active",
                       probe_->scan_done ? "passed probation: init, first scan, no worker death"
                                         : "passed probation: init, no worker death (its first scan has not run yet)");
    record.swap_ms = probe_->swap_ms;
    if (slots.active != "factory") record.bytes_downloaded = slots.file(slots.active).downloaded;
    if (Status saved = store_->plugin_slots().put(slots, &record); !saved) logs_->daemon()->error("{}", saved.error());
    logs_->daemon()->info("plugin {} {} {}", module, probe_->to_version, record.reason);
  }
  probe_.reset();
  offer_staged_upgrades();
}

void Agent::revert_plugin(const std::string& module, const std::string& reason) {
  const int64_t began = steady_ms();
  Result<std::optional<PluginSlotState>> stored = store_->plugin_slots().get(module);
  if (!stored || !*stored) return;
  PluginSlotState slots = **stored;
  UpgradeRecord record =
      upgrade_record(module, version_in(slots, slots.previous), version_in(slots, slots.active), "reverted", reason);
  if (probe_ && probe_->module == module) {
    record.swap_ms = probe_->swap_ms;
    record.from_version = probe_->from_version;
  }
  if (slots.active != "factory") {
    record.bad_sha256 = slots.file(slots.active).sha256;
    record.bytes_downloaded = slots.file(slots.active).downloaded;
  }
  if (probe_ && probe_->module == module) probe_.reset();  // its timer's handler finds no probe
  slots.active = slots.previous.empty() ? "factory" : slots.previous;
  slots.previous.clear();
  slots.state = "stable";
  slots.probe_deadline = 0;
  // Written first: a worker that dies from here on starts with the previous version.
  if (Status saved = store_->plugin_slots().put(slots, &record); !saved) logs_->daemon()->error("{}", saved.error());
  logs_->daemon()->error("plugin {} {} reverted to {}: {}; {} is not swapped to again", module, record.to_version,
                         record.from_version, reason, record.to_version);
  auto run_previous = [this, slots, began]() mutable {
    Result<std::string> loaded = load_slot(slots);
    if (!loaded && slots.active != "factory") {
      slots.active = "factory";
      if (Status saved = store_->plugin_slots().put(slots); !saved) logs_->daemon()->error("{}", saved.error());
      loaded = load_slot(slots);
    }
    if (!loaded) {
      logs_->daemon()->error("plugin {}: no version runs after the revert: {}", slots.module, loaded.error());
      return;
    }
    reconcile_activation();
    (void)store_->plugin_slots().set_revert_ms(slots.module, steady_ms() - began);
    // Scanning again at once: the revert's purpose is a module that works.
    (void)scheduler_->demand(slots.module, cpu_limit_from_throttle(0).value(), "revert of a plugin version");
    offer_staged_upgrades();
  };
  std::shared_ptr<LoadedPlugin> failed = registry_->find(module);
  if (!failed) {
    run_previous();  // the new version never loaded
    return;
  }
  swapping_ = module;
  scheduler_->hold(module);
  registry_->detach(module);
  // A scan that never reaches a checkpoint cannot be cancelled: past the
  // grace, a new worker (the stuck one killed by the supervisor) runs the
  // previous version, which the store already names.
  auto grace = std::make_shared<asio::steady_timer>(io_, kStuckScanGrace);
  grace->async_wait([this, grace, module, version = record.to_version](boost::system::error_code error) {
    if (error || swapping_ != module) return;
    std::string reason = fmt::format("plugin {} {} does not end its scan (no checkpoint for {} s)", module, version,
                                     kStuckScanGrace.count());
    report_to_supervisor(fmt::format("{} {}", kKillAfterReport, kStuckWorkerExit.count()));
    restart_worker(reason, [](const json&) {});
  });
  asio::post(scan_pool_, [this, failed = std::move(failed), run_previous]() mutable {
    failed->wait_idle();
    asio::post(io_, [this, failed = std::move(failed), run_previous]() mutable {
      Status gone = failed->unload();
      const std::string module = failed->module();
      failed.reset();
      swapping_.clear();
      if (!gone) {
        lingering_code_ = fmt::format("module '{}': {}", module, gone.error());
        restart_worker(lingering_code_, [this](const json&) {});
        return;
      }
      run_previous();
    });
  });
}

void Agent::on_plugin_upgrade(const json& request, const ControlServer::Reply& reply) {
  const std::string module = request.value("module", "");
  Result<std::optional<PluginSlotState>> stored = store_->plugin_slots().get(module);
  if (!stored) {
    reply(failure(stored.error()));
  } else if (!*stored || (*stored)->state != "staged") {
    reply(failure(
        fmt::format("module '{}' has no new version staged{}", module, *stored ? " (" + (*stored)->state + ")" : "")));
  } else {
    swap_plugin(module, (*stored)->inactive(), false, reply);
  }
}

void Agent::on_plugin_rollback(const json& request, const ControlServer::Reply& reply) {
  const std::string module = request.value("module", "");
  Result<std::optional<PluginSlotState>> stored = store_->plugin_slots().get(module);
  if (!stored) {
    reply(failure(stored.error()));
    return;
  }
  if (!*stored || (*stored)->active == "factory" || (*stored)->previous.empty()) {
    reply(failure(fmt::format("module '{}' has no previous version to roll back to", module)));
    return;
  }
  if ((*stored)->state == "probing" && probe_ && probe_->module == module) {
    revert_plugin(module, "rolled back by the operator during its probation");
    reply({{"ok", true}, {"module", module}, {"slot", (*stored)->previous}});
    return;
  }
  swap_plugin(module, (*stored)->previous, true, reply);
}

void Agent::on_plugin_history(const json& request, const ControlServer::Reply& reply) {
  const std::string module = request.value("module", "");
  Result<std::vector<UpgradeRecord>> records = store_->plugin_slots().history(module);
  if (!records) {
    reply(failure(records.error()));
    return;
  }
  json history = json::array();
  for (const UpgradeRecord& record : *records) {
    history.push_back({{"at", record.at},
                       {"from", record.from_version},
                       {"to", record.to_version},
                       {"outcome", record.outcome},
                       {"reason", record.reason},
                       {"swap_ms", record.swap_ms},
                       {"revert_ms", record.revert_ms},
                       {"bytes_downloaded", record.bytes_downloaded}});
  }
  reply({{"ok", true}, {"module", module}, {"history", history}});
}

void Agent::plugin_staged(const std::string&) {
  asio::post(io_, [this] { offer_staged_upgrades(); });
}

}  // namespace vigil
