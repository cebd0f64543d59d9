#include "agent/service_manager.h"

#include <systemd/sd-daemon.h>

namespace vigil {

void tell_service_manager(const std::string& state) {
  // A lost notification only delays systemd's view (it times out the start): nothing to recover here.
  [[maybe_unused]] int sent = ::sd_notify(0, state.c_str());
}

}  // namespace vigil
