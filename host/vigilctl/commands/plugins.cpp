// vigilctl plugins [reload|unload|release|upgrade|rollback|history]: what vigild loaded, changing it at run
// time, and swapping a module to a signed new version or back.
#include <chrono>
#include <iostream>
#include <thread>

#include "control_socket/control_client.h"
#include "vigilctl/commands/commands.h"
#include "vigilctl/output.h"

namespace vigil::ctl {

using nlohmann::json;

namespace {

struct PluginsOptions {
  bool as_json = false;
  std::string module;
  CLI::App* reload = nullptr;
  CLI::App* unload = nullptr;
  CLI::App* release = nullptr;
  CLI::App* upgrade = nullptr;
  CLI::App* rollback = nullptr;
  CLI::App* history = nullptr;
};

// After the worker stopped to be replaced, waits (up to 30 s) until a new
// worker answers on the control socket; false if none did.
bool wait_for_new_worker(const Paths& paths, int64_t old_pid) {
  for (int waited = 0; waited < 300; ++waited) {
    auto status = call_daemon(paths.control_socket(), {{"command", "status"}});
    if (status.ok() && status.value().value("ok", false) && status.value()["daemon"].value("pid", old_pid) != old_pid)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

json request_body(const PluginsOptions& options) {
  json body = {{"command", "plugins"}};
  if (options.reload->parsed()) body = {{"command", "reload"}};
  if (options.unload->parsed()) body = {{"command", "unload"}};
  if (options.release->parsed()) body = {{"command", "release"}};
  if (options.upgrade->parsed()) body = {{"command", "plugin_upgrade"}};
  if (options.rollback->parsed()) body = {{"command", "plugin_rollback"}};
  if (options.history->parsed()) body = {{"command", "plugin_history"}};
  if (!options.module.empty()) body["module"] = options.module;
  return body;
}

// What reload, unload and release did: {"action", "module", "worker_restarted"} (and "plugins", the list after
// it, when vigild gives it).
json change_report(const PluginsOptions& options, bool worker_restarted) {
  return {{"action", options.unload->parsed()    ? "unloaded"
                     : options.release->parsed() ? "released"
                                                 : "reloaded"},
          {"module", options.module.empty() ? json(nullptr) : json(options.module)},
          {"worker_restarted", worker_restarted}};
}

int run_plugins(const Paths& paths, const PluginsOptions& options) {
  auto response = request(paths, request_body(options));
  if (!response) return kRuntimeError;
  response->erase("ok");
  const std::string& module = options.module;
  const std::string what = module.empty() ? "plugins" : module;
  if (response->contains("restarting")) {
    // The old code could not be unloaded: the new one runs in a new worker.
    if (!options.as_json) {
      std::cout << "reloading " << what << " by restarting the worker: " << (*response)["restarting"].get<std::string>()
                << "\n";
    }
    if (!wait_for_new_worker(paths, (*response).value("worker_pid", int64_t{0})))
      return fail("no new worker answered within 30 s (see vigild.log)");
    if (options.as_json) {
      print_json(change_report(options, true));
    } else {
      std::cout << "reloaded " << what << " (new worker)\n";
    }
    return kOk;
  }
  if (options.history->parsed()) {
    if (options.as_json) {
      print_json((*response)["history"]);
    } else if ((*response)["history"].empty()) {
      std::cout << "no upgrades of " << module << " yet\n";
    } else {
      print_plugin_history(std::cout, (*response)["history"]);
    }
    return kOk;
  }
  if (options.upgrade->parsed() || options.rollback->parsed()) {
    if (options.as_json) {
      print_json(*response);
      return kOk;
    }
    std::cout << module << ": now runs " << (*response).value("version", std::string("its previous version"))
              << " (slot " << (*response).value("slot", std::string("?")) << ")";
    if (response->contains("swap_ms")) std::cout << ", swapped in " << (*response)["swap_ms"] << " ms";
    if (response->contains("probation_seconds")) {
      std::cout << "; on probation for " << (*response)["probation_seconds"]
                << " s (vigilctl status shows it; a failure reverts it)";
    }
    std::cout << "\n";
    return kOk;
  }
  if (response->contains("warning")) std::cerr << "vigilctl: " << (*response)["warning"].get<std::string>() << "\n";
  if (options.unload->parsed() || options.release->parsed() || options.reload->parsed()) {
    json change = change_report(options, false);
    if (response->contains("plugins")) change["plugins"] = (*response)["plugins"];
    if (options.as_json) {
      print_json(change);
    } else if (!module.empty()) {
      std::cout << change["action"].get<std::string>() << " " << module << "\n";
    } else {
      print_plugins(std::cout, (*response)["plugins"]);
    }
    return kOk;
  }
  if (options.as_json) {
    print_json((*response)["plugins"]);
  } else {
    print_plugins(std::cout, (*response)["plugins"]);
  }
  return kOk;
}

}  // namespace

Runner define_plugins(CLI::App& command) {
  auto options = std::make_shared<PluginsOptions>();
  add_json_flag(command, options->as_json);
  options->reload = command.add_subcommand("reload", "Reload MODULE, or load new plugin files when none is given");
  options->reload->add_option("module", options->module, "Module to reload");
  options->unload = command.add_subcommand("unload", "Unload MODULE (its running scan is cancelled)");
  options->unload->add_option("module", options->module, "Module to unload")->required();
  options->release = command.add_subcommand("release", "Release a quarantined MODULE and load it again");
  options->release->add_option("module", options->module, "Quarantined module")->required();
  options->upgrade = command.add_subcommand(
      "upgrade", "Swap MODULE to its staged new version now (on probation; reverted on failure)");
  options->upgrade->add_option("module", options->module, "Module to upgrade")->required();
  options->rollback = command.add_subcommand(
      "rollback", "Swap MODULE back to its previous version; the current one is never swapped to again");
  options->rollback->add_option("module", options->module, "Module to roll back")->required();
  options->history = command.add_subcommand("history", "MODULE's plugin upgrades: swaps, reverts, rollbacks");
  options->history->add_option("module", options->module, "Module")->required();
  for (CLI::App* sub :
       {options->reload, options->unload, options->release, options->upgrade, options->rollback, options->history}) {
    add_json_flag(*sub, options->as_json);
  }
  return [options](const Paths& paths) { return run_plugins(paths, *options); };
}

}  // namespace vigil::ctl
