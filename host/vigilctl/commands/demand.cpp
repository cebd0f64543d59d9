// vigilctl demand: starts an on-demand scan; with --wait follows it to the
// end, across a restart of the worker.
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "control_socket/control_client.h"
#include "vigilctl/commands/commands.h"
#include "vigilctl/output.h"

namespace vigil::ctl {

using nlohmann::json;

namespace {

struct DemandOptions {
  std::string type;
  int cpu_throttle = 0;
  bool wait = false;
  bool as_json = false;
};

// How the demand `control_id` ended ({"control_id", "module", "state",
// "message", "progress"}), its states or progress shown on the way when
// `show_progress`; nullopt (the reason printed) when vigild cannot say.
std::optional<json> wait_for_end(const Paths& paths, const std::string& control_id, bool show_progress) {
  bool terminal = show_progress && ::isatty(STDOUT_FILENO) != 0;
  std::string last_state;
  auto unreachable_since = std::chrono::steady_clock::now();
  bool reachable = true, restarted = false;
  for (;;) {
    auto status = call_daemon(paths.control_socket(), {{"command", "demand_status"}, {"control_id", control_id}});
    if (!status.ok() && !instance_lock_held(paths)) {  // vigild is gone
      fail(status.error());
      return std::nullopt;
    }
    if (!status.ok()) {
      // The worker died (perhaps in this very scan): the supervisor starts another, which knows how the demand ended.
      if (reachable) unreachable_since = std::chrono::steady_clock::now();
      reachable = false;
      restarted = true;
      if (std::chrono::steady_clock::now() - unreachable_since > std::chrono::seconds(60)) {
        fail(status.error());
        return std::nullopt;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    reachable = true;
    if (!status.value().value("ok", false)) {
      fail("ControlId " + control_id + ": " + status.value().value("error", "vigild refused the request") +
           (restarted ? " (the worker restarted meanwhile, see vigild.log)" : ""));
      return std::nullopt;
    }
    json demand = status.value()["demand"];
    std::string state = demand["state"];
    if (terminal) {
      std::string progress = progress_text(demand.value("progress", json()));
      std::cout << "\r" << state << (progress.empty() ? "" : ": " + progress) << "          " << std::flush;
    } else if (show_progress && state != last_state) {
      std::cout << state << std::endl;
    }
    last_state = state;
    if (state == "completed" || state == "failed") {
      if (terminal) std::cout << "\n";
      return demand;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

int run_demand(const Paths& paths, const DemandOptions& options) {
  auto response =
      request(paths, {{"command", "demand"}, {"module", options.type}, {"cpu_throttle", options.cpu_throttle}});
  if (!response) return kRuntimeError;
  std::string control_id = (*response)["control_id"];
  if (!options.wait) {
    if (options.as_json) {
      print_json({{"control_id", control_id}});
    } else {
      std::cout << "ControlId: " << control_id << std::endl;
    }
    return kOk;
  }
  if (!options.as_json) std::cout << "ControlId: " << control_id << std::endl;
  auto demand = wait_for_end(paths, control_id, !options.as_json);
  if (!demand) return kRuntimeError;
  std::string message = (*demand)["message"];
  if (options.as_json) print_json(*demand);
  if ((*demand)["state"] == "failed") return fail("ControlId " + control_id + " failed: " + message);
  if (!options.as_json) std::cout << "completed: " << message << "\n";
  return kOk;
}

}  // namespace

Runner define_demand(CLI::App& command) {
  auto options = std::make_shared<DemandOptions>();
  command.add_option("--type,-t", options->type, "Module type: inv, vm, pc, udc, sca, ...")->required();
  command.add_option("--cpu-throttle", options->cpu_throttle, "0 = no throttling, 1-1000 = per mille of one core")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  command.add_flag("--wait", options->wait,
                   "Wait for the scan to finish, showing its progress on a terminal (exit 1 when it failed)");
  add_json_flag(command, options->as_json);
  return [options](const Paths& paths) { return run_demand(paths, *options); };
}

}  // namespace vigil::ctl
