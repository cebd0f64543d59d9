// vigilctl stop: stops vigild and returns once the process is gone (also used by uninstall).
#include <chrono>
#include <iostream>
#include <thread>

#include "control_socket/control_client.h"
#include "vigilctl/commands/commands.h"

namespace vigil::ctl {

int stop_daemon(const Paths& paths) {
  // The daemon may close the socket before its reply arrives; the instance
  // lock being released is the proof that the process is gone.
  auto response = call_daemon(paths.control_socket(), {{"command", "stop"}});
  if (!response.ok() && !instance_lock_held(paths)) return fail(response.error());
  for (int waited = 0; waited < 300; ++waited) {
    if (!instance_lock_held(paths)) {
      std::cout << "vigild stopped\n";
      return kOk;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return fail("vigild did not stop within 15 s");
}

Runner define_stop(CLI::App&) {
  return stop_daemon;
}

}  // namespace vigil::ctl
