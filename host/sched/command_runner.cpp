// Command execution for scans with timeout, cancellation and a CPU limit.
#include "sched/command_runner.h"
#include "base/error_text.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "sched/cpu_throttle.h"

namespace vigil {
namespace {

using Clock = std::chrono::steady_clock;

// A child's CPU time is only visible in clock ticks (10 ms), so commands are
// measured over longer windows than scan threads to keep the error small.
constexpr std::chrono::seconds kCommandWindow{1};

// CPU time (user + system) of a process so far.
std::chrono::nanoseconds process_cpu(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream fields(text.substr(close + 2));
  std::string skip;
  for (int i = 0; i < 11; ++i) fields >> skip;  // state .. cmajflt
  long long user = 0;
  long long system = 0;
  fields >> user >> system;
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  return std::chrono::nanoseconds((user + system) * 1000000000LL / ticks);
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

}  // namespace

const std::vector<std::string>& standard_path_directories() {
  static const std::vector<std::string> kDirectories = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
                                                        "/usr/bin",        "/sbin",          "/bin"};
  return kDirectories;
}

std::string sanitized_path(const std::vector<std::string>& candidates) {
  std::string path;
  for (const std::string& dir : candidates) {
    struct stat info {};
    if (::stat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) continue;
    if ((info.st_mode & S_IWOTH) != 0) continue;  // anyone could plant a binary there
    path += (path.empty() ? "" : ":") + dir;
  }
  return path;
}

CommandOutcome run_command(const CommandRequest& request) {
  CommandOutcome outcome;
  if (request.argv.empty() || request.argv[0].empty()) {
    outcome.status = VIGIL_E_INVALID_ARG;
    outcome.error = "run_command: empty command";
    return outcome;
  }
  std::string path = sanitized_path(standard_path_directories());
  std::string program = resolve(request.argv[0], path);
  if (program.empty()) {
    outcome.status = VIGIL_E_NOT_FOUND;
    outcome.error = "command '" + request.argv[0] + "' not found (PATH=" + path + ")";
    return outcome;
  }

  Pipe out;
  Pipe err;
  if (!out.ok() || !err.ok()) {
    outcome.error = std::string("pipe: ") + error_text(errno);
    return outcome;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.write_end(), 1);
  posix_spawn_file_actions_adddup2(&actions, err.write_end(), 2);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setpgroup(&attributes, 0);  // its own group: pause and kill reach its children too
  sigset_t default_signals;
  sigfillset(&default_signals);
  posix_spawnattr_setsigdefault(&attributes, &default_signals);
  sigset_t no_signals;
  sigemptyset(&no_signals);
  posix_spawnattr_setsigmask(&attributes, &no_signals);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> environment = {"PATH=" + path, "LANG=C", "LC_ALL=C", "HOME=/"};
  environment.insert(environment.end(), request.environment.begin(), request.environment.end());
  std::vector<char*> env;
  for (auto& entry : environment) env.push_back(entry.data());
  env.push_back(nullptr);
  std::vector<std::string> args = request.argv;
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  pid_t pid = -1;
  int spawned = posix_spawn(&pid, program.c_str(), &actions, &attributes, argv.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  out.close_write();
  err.close_write();
  if (spawned != 0) {
    outcome.error = "cannot start " + program + ": " + error_text(spawned);
    return outcome;
  }

  auto started = Clock::now();
  auto deadline = started + request.timeout;
  auto window_start = started;
  auto window_cpu = process_cpu(pid);
  std::string error_line;
  bool out_open = true;
  bool err_open = true;
  bool exited = false;
  int wait_status = 0;
  std::array<char, 16384> buffer{};
  auto kill_group = [&] {
    ::kill(-pid, SIGKILL);
    ::kill(-pid, SIGCONT);
  };

  while (!exited || out_open || err_open) {
    if (request.cancelled != nullptr && request.cancelled->load()) {
      kill_group();
      outcome.status = VIGIL_E_CANCELLED;
      outcome.error = "command " + program + " killed: the scan was cancelled";
      break;
    }
    if (Clock::now() >= deadline) {
      kill_group();
      outcome.status = VIGIL_E_TIMEOUT;
      char seconds[32];
      std::snprintf(seconds, sizeof(seconds), "%.3g", std::chrono::duration<double>(request.timeout).count());
      outcome.error = "command " + program + " killed after " + seconds + " s (" + request.timeout_setting + ")";
      break;
    }
    // Hold the command to the scan's CPU limit, window by window.
    if (request.cpu_limit < 100 && !exited) {
      auto now = Clock::now();
      auto rest = CpuThrottle::rest_needed(process_cpu(pid) - window_cpu, now - window_start, request.cpu_limit);
      if (rest > std::chrono::milliseconds(1)) {
        ::kill(-pid, SIGSTOP);
        auto wake = std::min(now + rest, deadline);
        while (Clock::now() < wake && (request.cancelled == nullptr || !request.cancelled->load())) {
          std::this_thread::sleep_for(std::min<Clock::duration>(std::chrono::milliseconds(10), wake - Clock::now()));
        }
        ::kill(-pid, SIGCONT);
      }
      if (Clock::now() - window_start >= kCommandWindow) {
        window_start = Clock::now();
        window_cpu = process_cpu(pid);
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
  if (!error_line.empty() && request.on_error_line) request.on_error_line(error_line);
  if (outcome.error.empty()) {
    outcome.status = VIGIL_OK;
    outcome.exit_code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
  }
  return outcome;
}

}  // namespace vigil
