// vigilctl status: the daemon, the agent id, the modules' states, their scans'
// progress and how their last scans ended; the agent id from the state store
// when vigild is down, and why while its worker is being restarted.
#include <iostream>

#include "control_socket/control_client.h"
#include "control_socket/reports.h"
#include "vigilctl/commands/commands.h"
#include "vigilctl/output.h"

namespace vigil::ctl {

using nlohmann::json;

Runner define_status(CLI::App& command) {
  auto as_json = std::make_shared<bool>(false);
  add_json_flag(command, *as_json);
  return [as_json](const Paths& paths) {
    json report;
    if (daemon_running(paths.control_socket())) {
      auto response = request(paths, {{"command", "status"}});
      if (!response) return kRuntimeError;
      report = std::move(*response);
      report.erase("ok");
    } else {
      auto store = open_offline(paths);
      report = {{"daemon", {{"running", false}}}, {"agent_id", store ? agent_id(*store) : ""}};
      if (auto restart = restarting(paths)) report["daemon"]["restarting"] = *restart;
    }
    if (*as_json) {
      print_json(report);
    } else {
      print_status(std::cout, report);
    }
    return kOk;
  };
}

}  // namespace vigil::ctl
