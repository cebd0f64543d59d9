// Starting a command inside a cgroup: clone3(CLONE_INTO_CGROUP) places the
// child before it runs a single instruction of the command, so nothing it
// forks can start outside (moving it in after posix_spawn would race its
// first fork).
#pragma once

#include <sys/types.h>

#include "vigil/result/result.h"

namespace vigil::budget {

struct SpawnPlan {
  const char* program = nullptr;  // absolute path
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

// Runs `plan` as the leader of a new process group, stdin from /dev/null,
// default signal dispositions and an empty signal mask, in the cgroup whose
// directory is open as `cgroup_fd`. The pid, or why it could not start.
Result<pid_t> spawn_in_cgroup(const SpawnPlan& plan, int cgroup_fd);

// Whether a process can be started in that cgroup at all (seccomp may refuse
// clone3, the cgroup may refuse us): starts one that exits at once.
Status can_start_in(int cgroup_fd);

}  // namespace vigil::budget
