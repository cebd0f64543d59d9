// vigilctl plugins [reload|unload|release]: what vigild loaded, and changing it at run time.
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
  if (!options.module.empty()) body["module"] = options.module;
  return body;
}

int run_plugins(const Paths& paths, const PluginsOptions& options) {
  auto response = request(paths, request_body(options));
  if (!response) return kRuntimeError;
  const std::string& module = options.module;
  if (response->contains("restarting")) {
    // The old code could not be unloaded: the new one runs in a new worker.
    std::cout << "reloading " << (module.empty() ? "plugins" : module)
              << " by restarting the worker: " << (*response)["restarting"].get<std::string>() << "\n";
    if (!wait_for_new_worker(paths, (*response).value("worker_pid", int64_t{0})))
      return fail("no new worker answered within 30 s (see vigild.log)");
    std::cout << "reloaded " << (module.empty() ? "plugins" : module) << " (new worker)\n";
    return kOk;
  }
  if (response->contains("warning")) std::cerr << "vigilctl: " << (*response)["warning"].get<std::string>() << "\n";
  bool unloaded = options.unload->parsed(), released = options.release->parsed();
  if (unloaded || released || (options.reload->parsed() && !module.empty())) {
    std::cout << (unloaded ? "unloaded " : released ? "released " : "reloaded ") << module << "\n";
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
  command.add_flag("--json", options->as_json, "Print JSON");
  options->reload = command.add_subcommand("reload", "Reload MODULE, or load new plugin files when none is given");
  options->reload->add_option("module", options->module, "Module to reload");
  options->unload = command.add_subcommand("unload", "Unload MODULE (its running scan is cancelled)");
  options->unload->add_option("module", options->module, "Module to unload")->required();
  options->release = command.add_subcommand("release", "Release a quarantined MODULE and load it again");
  options->release->add_option("module", options->module, "Quarantined module")->required();
  return [options](const Paths& paths) { return run_plugins(paths, *options); };
}

}  // namespace vigil::ctl
