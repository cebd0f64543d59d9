// vigilctl's up-front access check (see agent_access.h).
#include "vigilctl/agent_access.h"

#include <unistd.h>

#include <cerrno>

namespace vigil {

Status require_agent_access(const Paths& paths) {
  if (::geteuid() == 0) return Status::Ok();
  for (const auto& private_path : {paths.data_dir, paths.config_dir, paths.control_socket()}) {
    if (::access(private_path.c_str(), R_OK | W_OK) != 0 && errno == EACCES) {
      return Error{"vigilctl needs root (or the agent's user): " + private_path.string() +
                   " is private to the agent; run it with sudo"};
    }
  }
  return Status::Ok();
}

}  // namespace vigil
