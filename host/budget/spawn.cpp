// clone3 into a cgroup, then exec. Between the two the child is a copy of a
// multi-threaded process, so it only makes raw system calls: no allocation,
// no locks, nothing a sanitizer intercepts.
#include "budget/spawn.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "base/error_text.h"

namespace vigil::budget {
namespace {

[[noreturn]] void report_and_exit(int report_fd) {
  int error = errno;
  syscall(SYS_write, report_fd, &error, sizeof error);
  syscall(SYS_exit_group, 127);
  __builtin_unreachable();
}

// The child: `sources` become descriptors 0, 1 and 2 (all are >= 3, so none is
// overwritten before it is copied), then the command replaces it.
[[noreturn]] void become_command(const SpawnPlan& plan, const int (&sources)[3], int report_fd) {
  if (syscall(SYS_setpgid, 0, 0) != 0) report_and_exit(report_fd);
  for (int target = 0; target < 3; ++target) {
    if (syscall(SYS_dup3, sources[target], target, 0) < 0) report_and_exit(report_fd);
  }
  // A zeroed kernel sigaction is SIG_DFL with no flags: the command must not
  // inherit the agent's ignored signals (SIGPIPE). SIGKILL/SIGSTOP refuse; fine.
  unsigned long default_action[4] = {};
  for (int signal = 1; signal < NSIG; ++signal) {
    syscall(SYS_rt_sigaction, signal, default_action, nullptr, sizeof(uint64_t));
  }
  uint64_t no_signals = 0;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &no_signals, nullptr, sizeof no_signals);
  syscall(SYS_execve, plan.program, plan.argv, plan.envp);
  report_and_exit(report_fd);
}

// fork(2) semantics, the child starting in the cgroup open as `cgroup_fd`.
long clone_into(int cgroup_fd) {
  clone_args args{};
  args.flags = CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(cgroup_fd);
  return syscall(SYS_clone3, &args, sizeof args);
}

// A descriptor >= 3 that refers to `fd` (closed on exec), or -1.
int above_stdio(int fd) {
  return fd < 0 ? -1 : ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

}  // namespace

Status can_start_in(int cgroup_fd) {
  long pid = clone_into(cgroup_fd);
  if (pid == 0) syscall(SYS_exit_group, 0);
  if (pid < 0) return Error{std::string("clone3 into a cgroup: ") + error_text(errno)};
  ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
  return Status::Ok();
}

Result<pid_t> spawn_in_cgroup(const SpawnPlan& plan, int cgroup_fd) {
  int dev_null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int sources[3] = {above_stdio(dev_null), above_stdio(plan.stdout_fd), above_stdio(plan.stderr_fd)};
  if (dev_null >= 0) ::close(dev_null);
  int report[2] = {-1, -1};
  auto close_all = [&] {
    for (int fd : {sources[0], sources[1], sources[2], report[0], report[1]}) {
      if (fd >= 0) ::close(fd);
    }
  };
  if (sources[0] < 0 || sources[1] < 0 || sources[2] < 0 || ::pipe2(report, O_CLOEXEC) != 0) {
    int error = errno;
    close_all();
    return Error{std::string("cannot prepare descriptors: ") + error_text(error)};
  }

  long pid = clone_into(cgroup_fd);
  if (pid == 0) become_command(plan, sources, report[1]);
  int clone_error = errno;
  ::close(report[1]);
  report[1] = -1;
  if (pid < 0) {
    close_all();
    return Error{std::string("clone3 into the cgroup: ") + error_text(clone_error)};
  }
  // The report pipe closes on a successful exec; otherwise it carries errno.
  int exec_error = 0;
  ssize_t got = 0;
  do {
    got = ::read(report[0], &exec_error, sizeof exec_error);
  } while (got < 0 && errno == EINTR);
  close_all();
  if (got == static_cast<ssize_t>(sizeof exec_error)) {
    ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
    return Error{error_text(exec_error)};
  }
  return static_cast<pid_t>(pid);
}

}  // namespace vigil::budget
