// vigilctl: the operator tool. Talks to vigild over the control socket and,
// for read-only commands, reads the state store directly when vigild is down.
// Exit codes: 0 ok, 1 runtime error, 2 usage error.
#include <CLI/CLI.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "base/paths.h"
#include "control/control_client.h"
#include "control/reports.h"
#include "ctl/output.h"
#include "store/state_store.h"
#include "version.h"

namespace {

using nlohmann::json;
constexpr int kOk = 0;
constexpr int kRuntimeError = 1;
constexpr int kUsageError = 2;

int fail(const std::string& message) {
  std::cerr << "vigilctl: " << message << "\n";
  return kRuntimeError;
}

// Sends a request; prints the daemon's error and returns nullopt on failure.
std::optional<json> request(const vigil::Paths& paths, const json& body) {
  auto response = vigil::call_daemon(paths.control_socket(), body);
  if (!response.ok()) {
    fail(response.error());
    return std::nullopt;
  }
  if (!response.value().value("ok", false)) {
    fail(response.value().value("error", "vigild refused the request"));
    return std::nullopt;
  }
  return response.value();
}

// Opens the state store for offline reads, saying so on stderr.
std::unique_ptr<vigil::StateStore> open_offline(const vigil::Paths& paths) {
  if (!std::filesystem::exists(paths.state_db())) {
    fail("vigild is not running and there is no state store at " + paths.state_db().string());
    return nullptr;
  }
  auto store = vigil::StateStore::open(paths.state_db());
  if (!store.ok()) {
    fail(store.error());
    return nullptr;
  }
  std::cerr << "vigilctl: vigild is not running; read from the state store\n";
  return std::move(store.value());
}

void print_json(const json& value) {
  std::cout << value.dump(2) << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vigilctl - operate the Vigil agent"};
  app.require_subcommand(1);
  std::optional<std::string> root;
  app.add_option("--root", root, "Relocate every path under DIR (also $VIGIL_ROOT)")->type_name("DIR");
  app.set_version_flag("--version", std::string("vigilctl ") + vigil::kVigilVersion);

  bool as_json = false;
  auto* plugins = app.add_subcommand("plugins", "List plugins: loaded ones and refusals with their reason");
  plugins->add_flag("--json", as_json, "Print JSON");
  std::string module;
  auto* reload = plugins->add_subcommand("reload", "Reload MODULE, or load new plugin files when none is given");
  reload->add_option("module", module, "Module to reload");
  auto* unload = plugins->add_subcommand("unload", "Unload MODULE (its running scan is cancelled)");
  unload->add_option("module", module, "Module to unload")->required();

  auto* status = app.add_subcommand("status", "Show the daemon, agent id and module states");
  status->add_flag("--json", as_json, "Print JSON");

  std::optional<std::string> table;
  auto* results = app.add_subcommand("results", "Show the rows of a module's latest snapshot");
  results->add_option("--module,-m", module, "Module type, e.g. inv")->required();
  results->add_option("--table,-t", table, "Only this table");
  results->add_flag("--json", as_json, "Print JSON");

  std::string manifest_file;
  std::optional<std::string> manifest_type;
  std::optional<int> cpu_limit;
  auto* scan = app.add_subcommand("scan", "Run a module's scan now with a manifest file and store the snapshot");
  scan->add_option("--module,-m", module, "Module type, e.g. inv")->required();
  scan->add_option("--manifest", manifest_file, "Manifest file")->required()->check(CLI::ExistingFile);
  scan->add_option("--type", manifest_type, "Manifest type (when the module handles several)");
  scan->add_option("--cpu-limit", cpu_limit, "CPU limit in percent of one core")->check(CLI::Range(1, 100));
  scan->add_flag("--json", as_json, "Print JSON");

  auto* stop = app.add_subcommand("stop", "Stop vigild");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? kOk : kUsageError;
  }
  vigil::Paths paths = vigil::Paths::resolve(root);

  if (plugins->parsed()) {
    json body = {{"command", "plugins"}};
    if (reload->parsed()) body = {{"command", "reload"}};
    if (unload->parsed()) body = {{"command", "unload"}};
    if (!module.empty()) body["module"] = module;
    auto response = request(paths, body);
    if (!response) return kRuntimeError;
    if (unload->parsed() || (reload->parsed() && !module.empty())) {
      std::cout << (unload->parsed() ? "unloaded " : "reloaded ") << module << "\n";
      return kOk;
    }
    if (as_json) {
      print_json((*response)["plugins"]);
    } else {
      vigil::print_plugins(std::cout, (*response)["plugins"]);
    }
    return kOk;
  }

  if (status->parsed()) {
    json report;
    if (vigil::daemon_running(paths.control_socket())) {
      auto response = request(paths, {{"command", "status"}});
      if (!response) return kRuntimeError;
      report = std::move(*response);
      report.erase("ok");
    } else {
      auto store = open_offline(paths);
      report = {{"daemon", {{"running", false}}}, {"agent_id", store ? vigil::agent_id(*store) : ""}};
    }
    if (as_json) {
      print_json(report);
    } else {
      vigil::print_status(std::cout, report);
    }
    return kOk;
  }

  if (results->parsed()) {
    json report;
    if (vigil::daemon_running(paths.control_socket())) {
      json body = {{"command", "results"}, {"module", module}};
      if (table) body["table"] = *table;
      auto response = request(paths, body);
      if (!response) return kRuntimeError;
      report = (*response)["results"];
    } else {
      auto store = open_offline(paths);
      if (!store) return kRuntimeError;
      auto offline = vigil::results_report(*store, module, table);
      if (!offline.ok()) return fail(offline.error());
      report = offline.value();
    }
    if (as_json) {
      print_json(report);
    } else {
      vigil::print_results(std::cout, report);
    }
    return kOk;
  }

  if (scan->parsed()) {
    std::ifstream file(manifest_file, std::ios::binary);
    std::ostringstream manifest;
    manifest << file.rdbuf();
    if (!file) return fail("cannot read manifest " + manifest_file);
    json body = {{"command", "scan"}, {"module", module}, {"manifest", manifest.str()}};
    if (manifest_type) body["manifest_type"] = *manifest_type;
    if (cpu_limit) body["cpu_limit"] = *cpu_limit;
    auto response = request(paths, body);
    if (!response) return kRuntimeError;
    if (as_json) {
      print_json(*response);
    } else {
      std::cout << "scan of " << module << " complete: " << (*response)["row_count"] << " rows in snapshot #"
                << (*response)["snapshot_id"] << "\n";
    }
    return kOk;
  }

  if (stop->parsed()) {
    // The daemon may close the socket before its reply arrives; the instance
    // lock being released is the proof that the process is gone.
    auto response = vigil::call_daemon(paths.control_socket(), {{"command", "stop"}});
    if (!response.ok() && !vigil::instance_lock_held(paths)) return fail(response.error());
    for (int waited = 0; waited < 300; ++waited) {
      if (!vigil::instance_lock_held(paths)) {
        std::cout << "vigild stopped\n";
        return kOk;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return fail("vigild did not stop within 15 s");
  }
  return kUsageError;
}
