// vigilctl demand: starts an on-demand scan; with --wait follows it to the
// end, across a restart of the worker.
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "control_socket/control_client.h"
#include "vigilctl/commands/commands.h"

namespace vigil::ctl {

using nlohmann::json;

namespace {

struct DemandOptions {
  std::string type;
  int cpu_throttle = 0;
  bool wait = false;
};

int run_demand(const Paths& paths, const std::string& type, int cpu_throttle, bool wait) {
  auto response = request(paths, {{"command", "demand"}, {"module", type}, {"cpu_throttle", cpu_throttle}});
  if (!response) return kRuntimeError;
  std::string control_id = (*response)["control_id"];
  std::cout << "ControlId: " << control_id << std::endl;
  if (!wait) return kOk;
  bool terminal = ::isatty(STDOUT_FILENO) != 0;
  std::string last_state;
  auto unreachable_since = std::chrono::steady_clock::now();
  bool reachable = true, restarted = false;
  for (;;) {
    auto status = call_daemon(paths.control_socket(), {{"command", "demand_status"}, {"control_id", control_id}});
    if (!status.ok() && !instance_lock_held(paths)) return fail(status.error());  // vigild is gone
    if (!status.ok()) {
      // The worker died (perhaps in this very scan): the supervisor starts another, which knows how the demand ended.
      if (reachable) unreachable_since = std::chrono::steady_clock::now();
      reachable = false;
      restarted = true;
      if (std::chrono::steady_clock::now() - unreachable_since > std::chrono::seconds(60)) return fail(status.error());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    reachable = true;
    if (!status.value().value("ok", false)) {
      return fail("ControlId " + control_id + ": " + status.value().value("error", "vigild refused the request") +
                  (restarted ? " (the worker restarted meanwhile, see vigild.log)" : ""));
    }
    const json& demand = status.value()["demand"];
    std::string state = demand["state"];
    if (terminal && demand.contains("progress")) {
      uint64_t done = demand["progress"]["done"];
      uint64_t total = demand["progress"]["total"];
      std::cout << "\r" << state << (total > 0 ? " " + std::to_string(done) + "/" + std::to_string(total) : "")
                << "          " << std::flush;
    } else if (state != last_state) {
      std::cout << state << std::endl;
    }
    last_state = state;
    if (state == "completed" || state == "failed") {
      if (terminal) std::cout << "\n";
      if (state == "failed")
        return fail("ControlId " + control_id + " failed: " + demand["message"].get<std::string>());
      std::cout << "completed: " << demand["message"].get<std::string>() << "\n";
      return kOk;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

Runner define_demand(CLI::App& command) {
  auto options = std::make_shared<DemandOptions>();
  command.add_option("--type,-t", options->type, "Module type: inv, vm, pc, udc, sca, ...")->required();
  command.add_option("--cpu-throttle", options->cpu_throttle, "0 = no throttling, 1-1000 = per mille of one core")
      ->check(CLI::Range(0, 1000));
  command.add_flag("--wait", options->wait, "Wait for the scan to finish, showing progress on a terminal");
  return
      [options](const Paths& paths) { return run_demand(paths, options->type, options->cpu_throttle, options->wait); };
}

}  // namespace vigil::ctl
