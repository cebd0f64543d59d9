// vigilctl stop: stops vigild and returns once the process is gone (also used by uninstall).
#include <chrono>
#include <iostream>
#include <thread>

#include "control_socket/control_client.h"
#include "vigilctl/commands/commands.h"

namespace vigil::ctl {

int stop_daemon(const Paths& paths, const std::string& sp_key) {
  // The daemon may close the socket before its reply arrives; the instance
  // lock being released is the proof that the process is gone.
  nlohmann::json stop = {{"command", "stop"}};
  if (!sp_key.empty()) stop["sp_key"] = sp_key;
  auto response = call_daemon(paths.control_socket(), stop);
  if (!response.ok() && !instance_lock_held(paths)) return fail(response.error());
  if (response.ok() && !response.value().value("ok", false)) {
    return fail(response.value().value("error", std::string("vigild refused to stop")));
  }
  for (int waited = 0; waited < 300; ++waited) {
    if (!instance_lock_held(paths)) return kOk;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return fail("vigild did not stop within 15 s");
}

Runner define_stop(CLI::App& command) {
  auto key = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  add_sp_key_option(command, *key);
  add_json_flag(command, *as_json);
  return [key, as_json](const Paths& paths) {
    if (int stopped = stop_daemon(paths, sp_key_text(*key)); stopped != kOk) return stopped;
    if (*as_json) {
      print_json({{"stopped", true}});
    } else {
      std::cout << "vigild stopped\n";
    }
    return kOk;
  };
}

}  // namespace vigil::ctl
