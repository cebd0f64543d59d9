// Command execution for scans with timeout, cancellation and budgets (CPU, memory, processes).
#include "exec/command_runner.h"
#include "base/error_text.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>
#include <thread>

#include "budget/command_cgroup.h"
#include "budget/spawn.h"
#include "exec/cpu_throttle.h"

namespace vigil {
namespace {

// Runs `action` when the scope ends, by return or by exception.
template <typename Action>
struct OnExit {
  Action action;
  ~OnExit() { action(); }
};
template <typename Action>
OnExit(Action) -> OnExit<Action>;

using Clock = std::chrono::steady_clock;

// A process's CPU time is only visible in clock ticks (10 ms), so commands are
// measured over longer windows than scan threads to keep the error small.
constexpr std::chrono::seconds kCommandWindow{1};
// Summing a process group means reading every /proc/<pid>/stat: not too often.
constexpr std::chrono::milliseconds kGroupSample{100};

// CPU time (user + system) of process group `group` so far: its members', and
// what they reaped of their children's (the leader reaps its own).
std::chrono::nanoseconds group_cpu(pid_t group) {
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  long long total = 0;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return {};
  while (dirent* entry = ::readdir(proc)) {
    if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
    int fd = ::open(("/proc/" + std::string(entry->d_name) + "/stat").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;  // gone meanwhile
    char text[1024];
    ssize_t n = ::read(fd, text, sizeof(text) - 1);
    ::close(fd);
    if (n <= 0) continue;
    text[n] = '\0';
    const char* close = std::strrchr(text, ')');
    long long pgrp = 0;
    long long times[4] = {};  // utime stime cutime cstime
    // After the command name: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime …
    if (close == nullptr || std::sscanf(close + 2, "%*c %*d %lld %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld %lld %lld",
                                        &pgrp, &times[0], &times[1], &times[2], &times[3]) != 5) {
      continue;
    }
    if (pgrp == group) total += times[0] + times[1] + times[2] + times[3];
  }
  ::closedir(proc);
  return std::chrono::nanoseconds(total * 1000000000LL / ticks);
}

// Finds `name` in `path` (colon-separated), or returns it when it is absolute.
std::string resolve(const std::string& name, const std::string& path) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : std::string();
  std::istringstream dirs(path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

class Pipe {
 public:
  Pipe() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) fds_[0] = fds_[1] = -1;
  }
  ~Pipe() {
    close_read();
    close_write();
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  bool ok() const { return fds_[0] >= 0; }
  int read_end() const { return fds_[0]; }
  int write_end() const { return fds_[1]; }
  void close_read() { close_fd(fds_[0]); }
  void close_write() { close_fd(fds_[1]); }

 private:
  static void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  int fds_[2] = {-1, -1};
};

// Starts `program` with posix_spawn as the leader of a process group of its
// own, so that stopping and killing the group reaches its children. 0 or an errno.
int spawn_in_group(pid_t* pid, const std::string& program, char* const* argv, char* const* envp, int out, int err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out, 1);
  posix_spawn_file_actions_adddup2(&actions, err, 2);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setpgroup(&attributes, 0);
  sigset_t default_signals;
  sigfillset(&default_signals);
  posix_spawnattr_setsigdefault(&attributes, &default_signals);
  sigset_t no_signals;
  sigemptyset(&no_signals);
  posix_spawnattr_setsigmask(&attributes, &no_signals);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  int spawned = posix_spawn(pid, program.c_str(), &actions, &attributes, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  return spawned;
}

}  // namespace

const std::vector<std::string>& standard_path_directories() {
  static const std::vector<std::string> kDirectories = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
                                                        "/usr/bin",        "/sbin",          "/bin"};
  return kDirectories;
}

std::string sanitized_path(const std::vector<std::string>& candidates) {
  std::string path;
  std::vector<std::string> kept;
  for (const std::string& dir : candidates) {
    if (dir.empty() || dir.front() != '/') continue;  // relative: whatever the working directory holds
    if (std::find(kept.begin(), kept.end(), dir) != kept.end()) continue;
    struct stat info {};
    if (::stat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) continue;
    if ((info.st_mode & S_IWOTH) != 0) continue;  // anyone could plant a binary there
    kept.push_back(dir);
    path += (path.empty() ? "" : ":") + dir;
  }
  return path;
}

CommandOutcome run_command(const CommandRequest& request) {
  CommandOutcome outcome;
  if (request.argv.empty() || request.argv[0].empty()) {
    outcome.status = Error{"run_command: empty command", ErrorCode::kInvalidArgument};
    return outcome;
  }
  std::string path = sanitized_path(request.search_path.empty() ? standard_path_directories() : request.search_path);
  std::string program = resolve(request.argv[0], path);
  if (program.empty()) {
    outcome.status = Error{"command '" + request.argv[0] + "' not found (PATH=" + path + ")", ErrorCode::kNotFound};
    return outcome;
  }
  // UseSudo: the prefix runs the command, named by the absolute path found here (sudo's own PATH plays no part).
  std::vector<std::string> args = request.argv;
  if (!request.prefix.empty()) {
    args[0] = program;
    std::string runner = resolve(request.prefix[0], path);
    if (runner.empty()) {
      outcome.status =
          Error{"SudoCommand '" + request.prefix[0] + "' not found (PATH=" + path + ")", ErrorCode::kNotFound};
      return outcome;
    }
    args.insert(args.begin(), request.prefix.begin(), request.prefix.end());
    program = runner;
  }

  Pipe out;
  Pipe err;
  if (!out.ok() || !err.ok()) {
    outcome.status = Error{std::string("pipe: ") + error_text(errno)};
    return outcome;
  }
  std::vector<std::string> environment = {"PATH=" + path, "LANG=C", "LC_ALL=C", "HOME=/"};
  for (const std::string& entry : request.environment) {
    if (!entry.starts_with("PATH=")) environment.push_back(entry);  // the sanitised PATH only
  }
  std::vector<char*> env;
  for (auto& entry : environment) env.push_back(entry.data());
  env.push_back(nullptr);
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const budget::Support& support = request.budget != nullptr ? *request.budget : budget::machine_support();
  std::unique_ptr<budget::CommandCgroup> cgroup;
  if (support.mode == budget::Mode::kCgroup) {
    auto created = budget::CommandCgroup::create(support, request.module,
                                                 {request.cpu_limit, request.memory_max_bytes, request.pids_max});
    if (created.ok()) {
      cgroup = std::move(created.value());
    } else if (request.on_error_line) {
      request.on_error_line("no cgroup for this command (" + created.error() +
                            "); its process group is paused instead");
    }
  }
  pid_t pid = -1;
  std::string start_error;
  if (cgroup) {
    auto spawned = budget::spawn_in_cgroup({program.c_str(), argv.data(), env.data(), out.write_end(), err.write_end()},
                                           cgroup->fd());
    if (spawned.ok()) {
      pid = spawned.value();
    } else {
      start_error = spawned.error();
    }
  } else if (int error = spawn_in_group(&pid, program, argv.data(), env.data(), out.write_end(), err.write_end());
             error != 0) {
    start_error = error_text(error);
  }
  out.close_write();
  err.close_write();
  if (!start_error.empty()) {
    outcome.status = Error{"cannot start " + program + ": " + start_error};
    return outcome;
  }

  // The kernel holds the CPU limit (cpu.max), or the command is paused once it
  // has used its share of a window: its cgroup frozen, or its group stopped.
  bool pace = request.cpu_limit < 100 && !(cgroup && cgroup->cpu_by_kernel());
  auto used_cpu = [&] { return cgroup ? cgroup->cpu_used() : group_cpu(pid); };
  auto pause = [&](bool paused) {
    if (cgroup) {
      cgroup->freeze(paused);
    } else {
      ::kill(-pid, paused ? SIGSTOP : SIGCONT);
    }
  };
  auto sample_every = cgroup ? Clock::duration::zero() : Clock::duration(kGroupSample);
  auto kill_all = [&] {
    if (cgroup) {
      cgroup->kill();
      return;
    }
    ::kill(-pid, SIGKILL);
    ::kill(-pid, SIGCONT);
  };

  bool reaped = false;
  // A callback that throws (on_output, on_error_line) must not leave the
  // command running, paused, or unreaped.
  OnExit reap_on_throw{[&] {
    if (reaped) return;
    kill_all();
    int ignored = 0;
    ::waitpid(pid, &ignored, 0);
  }};

  auto started = Clock::now();
  auto deadline = started + request.timeout;
  auto window_start = started;
  auto window_cpu = pace ? used_cpu() : std::chrono::nanoseconds(0);
  auto next_sample = started;
  std::string error_line;
  bool out_open = true;
  bool err_open = true;
  bool exited = false;
  int wait_status = 0;
  std::array<char, 16384> buffer{};

  while (!exited || out_open || err_open) {
    if (request.cancelled != nullptr && request.cancelled->load()) {
      kill_all();
      outcome.status = Error{"command " + program + " killed: the scan was cancelled", ErrorCode::kCancelled};
      break;
    }
    if (Clock::now() >= deadline) {
      kill_all();
      char seconds[32];
      std::snprintf(seconds, sizeof(seconds), "%.3g", std::chrono::duration<double>(request.timeout).count());
      outcome.status = Error{"command " + program + " killed after " + seconds + " s (" + request.timeout_setting + ")",
                             ErrorCode::kTimedOut};
      break;
    }
    // A process group is gone with its leader; a cgroup may still hold its children.
    if (pace && (cgroup || !exited) && Clock::now() >= next_sample) {
      auto now = Clock::now();
      next_sample = now + sample_every;
      auto rest = CpuThrottle::rest_needed(used_cpu() - window_cpu, now - window_start, request.cpu_limit);
      if (rest > std::chrono::milliseconds(1)) {
        pause(true);
        auto wake = std::min(now + rest, deadline);
        while (Clock::now() < wake && (request.cancelled == nullptr || !request.cancelled->load())) {
          std::this_thread::sleep_for(std::min<Clock::duration>(std::chrono::milliseconds(10), wake - Clock::now()));
        }
        pause(false);
      }
      if (Clock::now() - window_start >= kCommandWindow) {
        window_start = Clock::now();
        window_cpu = used_cpu();
      }
    }
    pollfd fds[2] = {{out_open ? out.read_end() : -1, POLLIN, 0}, {err_open ? err.read_end() : -1, POLLIN, 0}};
    // Once both pipes closed only the exit is left to see: look again soon.
    ::poll(fds, 2, out_open || err_open ? 10 : 1);
    for (int index = 0; index < 2; ++index) {
      if (fds[index].fd < 0 || (fds[index].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t n = ::read(fds[index].fd, buffer.data(), buffer.size());
      if (n <= 0) {
        (index == 0 ? out_open : err_open) = false;
        continue;
      }
      std::string_view chunk(buffer.data(), static_cast<size_t>(n));
      if (index == 0) {
        if (request.on_output) request.on_output(chunk);
        continue;
      }
      error_line += chunk;
      for (auto newline = error_line.find('\n'); newline != std::string::npos; newline = error_line.find('\n')) {
        if (request.on_error_line) request.on_error_line(std::string_view(error_line).substr(0, newline));
        error_line.erase(0, newline + 1);
      }
    }
    if (!exited && ::waitpid(pid, &wait_status, WNOHANG) == pid) exited = true;
  }
  if (!exited) ::waitpid(pid, &wait_status, 0);
  reaped = true;
  if (!error_line.empty() && request.on_error_line) request.on_error_line(error_line);
  if (cgroup) {
    // What the command left running goes with its cgroup.
    std::vector<std::string> notes = cgroup->limits_reached();
    if (auto removed = cgroup->remove(); !removed.ok()) notes.push_back(removed.error());
    if (request.on_error_line) {
      for (const std::string& note : notes) request.on_error_line(note);
    }
  }
  if (outcome.status.ok()) {
    outcome.exit_code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
  }
  return outcome;
}

}  // namespace vigil
