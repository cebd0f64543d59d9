// vigilctl checkin: a check-in now rather than at the next interval.
#include <iostream>

#include "vigilctl/commands/commands.h"

namespace vigil::ctl {

Runner define_checkin(CLI::App&) {
  return [](const Paths& paths) {
    if (!request(paths, {{"command", "link_changed"}})) return kRuntimeError;
    std::cout << "check-in requested\n";
    return kOk;
  };
}

}  // namespace vigil::ctl
