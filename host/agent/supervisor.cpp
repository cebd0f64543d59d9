// The supervisor process: start the worker, watch it, attribute its death,
// back off, restart.
#include "agent/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

#include "agent/file_guard.h"
#include "agent/service_manager.h"
#include "base/error_text.h"
#include "base/restart_note.h"
#include "plugin/plugin_call_marker.h"

namespace vigil {
namespace {

volatile sig_atomic_t g_stop_signal = 0;
volatile pid_t g_worker = -1;
// Self-protection, as the worker last reported it.
volatile sig_atomic_t g_protected = 0;
volatile sig_atomic_t g_unlocked_until = 0;  // CLOCK_MONOTONIC seconds
// A stop signal refused by the handler, for the main loop to report.
volatile sig_atomic_t g_refused_pid = 0;
volatile sig_atomic_t g_refused_signal = 0;

long monotonic_seconds() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);  // async-signal-safe
  return now.tv_sec;
}

bool locked() {
  return g_protected != 0 && monotonic_seconds() >= g_unlocked_until;
}

void forward_stop(int signal) {
  g_stop_signal = signal;
  if (g_worker > 0) ::kill(g_worker, SIGTERM);
}

void on_stop_signal(int signal, siginfo_t* info, void*) {
  if (locked()) {
    g_refused_pid = info->si_pid;
    g_refused_signal = signal;
    return;
  }
  forward_stop(signal);
}

std::string process_name(pid_t pid) {
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name.empty() ? "gone" : name;
}

// systemd stopping everything (shutdown, reboot): a protected agent stops too.
bool system_shutting_down() {
  FILE* state = ::popen("timeout 2 systemctl is-system-running 2>/dev/null", "r");
  if (state == nullptr) return false;
  char line[64] = {};
  bool stopping = std::fgets(line, sizeof(line), state) != nullptr && std::string_view(line).starts_with("stopping");
  ::pclose(state);
  return stopping;
}

void settle_refused_stop() {
  pid_t sender = g_refused_pid;
  int signal = g_refused_signal;
  if (sender == 0 && signal == 0) return;
  g_refused_pid = 0;
  g_refused_signal = 0;
  if (sender == 1 && system_shutting_down()) {
    std::cerr << "vigild: the system is shutting down: stopping although self-protection is on\n";
    forward_stop(signal);
    return;
  }
  std::cerr << "vigild: signal " << signal << " from pid " << sender << " (" << process_name(sender)
            << ") refused: self-protection is on (vigilctl stop --sp-key KEY stops the agent)\n";
}

// What the supervisor knows of self-protection, and its file guard.
struct Protection {
  explicit Protection(const Paths& paths) : guard(paths.data_dir / "protected") {}
  FileGuard guard;
  std::vector<std::filesystem::path> files, reported;

  void log(const std::vector<std::string>& lines) {
    for (const std::string& line : lines) std::cerr << "vigild: " << line << "\n";
  }
  void turned(bool on) {
    g_protected = on ? 1 : 0;
    ::prctl(PR_SET_DUMPABLE, on ? 0 : 1);
    if (on) {
      files = reported;
      std::error_code error;
      files.push_back(std::filesystem::read_symlink("/proc/self/exe", error));
      if (locked()) log(guard.start(files));
    } else {
      guard.stop(true);
    }
    reported.clear();
  }
  void unlocked(int seconds) {
    g_unlocked_until = static_cast<sig_atomic_t>(monotonic_seconds() + seconds);
    guard.stop(true);  // what changes now is allowed; the files are the reference again afterwards
  }
  // Called often: the guard comes back when an unlock ran out.
  void tick() {
    settle_refused_stop();
    if (locked() && !guard.running()) log(guard.start(files));
  }
};

int64_t unix_milliseconds() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}
int64_t unix_seconds() {
  return unix_milliseconds() / 1000;
}

std::string describe(int wait_status) {
  if (WIFSIGNALED(wait_status)) return "killed by signal " + std::to_string(WTERMSIG(wait_status));
  return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
}

// The modules whose code was running, each with what it was doing (the marker's text).
std::vector<std::pair<std::string, std::string>> marked_modules(const Paths& paths) {
  std::vector<std::pair<std::string, std::string>> modules;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(plugin_marker_dir(paths), error)) {
    std::ifstream marker(entry.path());
    std::string activity;
    std::getline(marker, activity);
    modules.emplace_back(entry.path().filename().string(), activity);
  }
  return modules;
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : separator) + item;
  return text;
}

// VmRSS of `pid` in bytes, or nullopt once the process is gone.
std::optional<int64_t> resident_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return std::nullopt;
}

// What the supervisor learns while a worker runs.
struct Watch {
  int wait_status = 0;
  std::string memory_reason;     // set when the supervisor killed it for its memory
  bool charged = false;          // it recorded the previous crash's charges
  bool killed_as_asked = false;  // past its kill-after: the restart it asked for
};

class WorkerWatcher {
 public:
  WorkerWatcher(const SupervisorOptions& options, Protection& protection, pid_t pid, int report_fd)
      : options_(options),
        protection_(protection),
        pid_(pid),
        pidfd_(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))),
        report_fd_(report_fd) {}
  ~WorkerWatcher() {
    if (pidfd_ >= 0) ::close(pidfd_);
  }
  WorkerWatcher(const WorkerWatcher&) = delete;
  WorkerWatcher& operator=(const WorkerWatcher&) = delete;

  // Returns once the worker is gone. Its pidfd (Linux 5.3) wakes us when it
  // ends, the report pipe when it writes; a memory bound, or a kernel without
  // pidfd, adds a timer.
  Watch wait() {
    for (;;) {
      // poll skips a negative fd
      pollfd fds[] = {{pidfd_, POLLIN, 0}, {report_fd_, POLLIN, 0}, {protection_.guard.fd(), POLLIN, 0}};
      bool timed = limit_ > 0 || pidfd_ < 0 || kill_at_ || g_protected != 0;
      if (::poll(fds, 3, timed ? static_cast<int>(options_.memory_poll.count()) : -1) > 0) {
        if (fds[1].revents != 0) read_reports();
        if (fds[2].revents != 0) protection_.log(protection_.guard.handle_changes());
      }
      protection_.tick();
      pid_t done = ::waitpid(pid_, &watch_.wait_status, WNOHANG);
      if (done == pid_ || (done < 0 && errno != EINTR)) return watch_;
      if (limit_ > 0 && watch_.memory_reason.empty()) check_memory();
      if (kill_at_ && std::chrono::steady_clock::now() >= *kill_at_ && !watch_.killed_as_asked) {
        watch_.killed_as_asked = true;
        ::kill(pid_, SIGKILL);
      }
    }
  }

 private:
  void read_reports() {
    char chunk[256];
    ssize_t got = ::read(report_fd_, chunk, sizeof(chunk));
    if (got <= 0) {
      if (got < 0 && errno == EINTR) return;
      report_fd_ = -1;  // closed: nothing more to read
      return;
    }
    pending_.append(chunk, static_cast<size_t>(got));
    for (size_t end; (end = pending_.find('\n')) != std::string::npos; pending_.erase(0, end + 1)) {
      std::string_view line(pending_.data(), end);
      if (line == kChargedReport) {
        watch_.charged = true;
      } else if (line == kReadyReport) {
        remove_restart_note(options_.paths);  // the control socket answers again
        tell_service_manager("READY=1\nSTATUS=agent running");
      } else if (line.rfind(kKillAfterReport, 0) == 0) {
        std::string seconds(line.substr(kKillAfterReport.size()));
        kill_at_ = std::chrono::steady_clock::now() + std::chrono::seconds(std::atoi(seconds.c_str()));
      } else if (line.starts_with(kProtectFileReport)) {
        protection_.reported.emplace_back(line.substr(kProtectFileReport.size()));
      } else if (line == kProtectionOnReport || line == kProtectionOffReport) {
        protection_.turned(line == kProtectionOnReport);
      } else if (line.starts_with(kUnlockReport)) {
        protection_.unlocked(std::atoi(std::string(line.substr(kUnlockReport.size())).c_str()));
      } else if (line.rfind(kMemoryLimitReport, 0) == 0) {
        auto limit = parse_memory_size(line.substr(kMemoryLimitReport.size()));
        limit_ = limit.ok() ? limit.value() : 0;
      }
    }
  }

  void check_memory() {
    auto rss = resident_bytes(pid_);
    if (!rss || *rss <= limit_) return;
    constexpr int64_t kMiB = 1 << 20;
    watch_.memory_reason = "worker passed " + std::string(kWorkerMemoryLimitKey) + " " + memory_size_text(limit_) +
                           " (rss " + std::to_string((*rss + kMiB - 1) / kMiB) + " MiB)";
    ::kill(pid_, SIGKILL);
  }

  const SupervisorOptions& options_;
  Protection& protection_;
  pid_t pid_;
  int pidfd_;
  int report_fd_;
  std::optional<std::chrono::steady_clock::time_point> kill_at_;
  int64_t limit_ = 0;
  std::string pending_;
  Watch watch_;
};

// In the child: becomes the worker, or exits kWorkerRefusedToStart if it cannot.
[[noreturn]] void exec_worker(const SupervisorOptions& options, pid_t supervisor, int report_fd, int ready_fd) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the supervisor (kept across exec)
  if (::getppid() != supervisor) ::_exit(1);
  ::fcntl(report_fd, F_SETFD, 0);  // the one pipe end the worker keeps across exec
  ::setenv(kSupervisorFdVariable, std::to_string(report_fd).c_str(), 1);
  std::vector<std::string> args = {options.worker.string()};
  args.insert(args.end(), options.worker_args.begin(), options.worker_args.end());
  if (ready_fd >= 0) {
    args.push_back("--ready-fd");
    args.push_back(std::to_string(ready_fd));
  }
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  std::cerr << "vigild: cannot run " << options.worker.string() << ": " << error_text(errno) << "\n";
  ::_exit(kWorkerRefusedToStart);
}

}  // namespace

std::filesystem::path plugin_marker_dir(const Paths& paths) {
  return paths.run_dir / "in-plugin";
}

std::filesystem::path worker_executable() {
  std::error_code error;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  std::filesystem::path beside = self.parent_path() / "vigild-worker";
  if (error || std::filesystem::exists(beside, error)) return beside;
  return self.parent_path().parent_path() / "lib/vigil/vigild-worker";
}

Result<int> lock_instance(const Paths& paths) {
  std::error_code error;
  std::filesystem::create_directories(paths.run_dir, error);
  if (error) return Error{"cannot create " + paths.run_dir.string() + ": " + error.message()};
  auto lock_path = paths.instance_lock();
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Error{"cannot open " + lock_path.string() + ": " + error_text(errno)};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Error{"another vigild is already running for " + paths.root.string() + " (" + lock_path.string() +
                 " is locked)"};
  }
  return fd;
}

int run_supervisor(const SupervisorOptions& options) {
  auto lock = lock_instance(options.paths);  // O_CLOEXEC: the supervisor holds it for both
  if (!lock.ok()) {
    std::cerr << "vigild: " << lock.error() << "\n";
    return 1;
  }
  // Marks left by a vigild that was killed with its worker: no death of ours to charge them with.
  std::error_code stale;
  std::filesystem::remove_all(plugin_marker_dir(options.paths), stale);
  remove_restart_note(options.paths);  // a killed supervisor's
  // Nor does ours outlive this supervisor, whichever way it returns.
  struct NoteRemover {
    const Paths& paths;
    ~NoteRemover() { remove_restart_note(paths); }
  } note_remover{options.paths};
  struct sigaction action {};
  action.sa_sigaction = on_stop_signal;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);

  int ready_fd = options.ready_fd;
  auto backoff = options.first_backoff;
  pid_t supervisor = ::getpid();
  std::vector<std::string> uncharged;  // modules charged with a death that no worker recorded yet
  Protection protection(options.paths);
  for (;;) {
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) {
      std::cerr << "vigild: pipe failed: " << error_text(errno) << "\n";
      return 1;
    }
    auto started = std::chrono::steady_clock::now();
    pid_t pid = ::fork();
    if (pid < 0) {
      std::cerr << "vigild: fork failed: " << error_text(errno) << "\n";
      return 1;
    }
    if (pid == 0) exec_worker(options, supervisor, report[1], ready_fd);
    ::close(report[1]);
    g_worker = pid;
    if (ready_fd >= 0) {
      ::close(ready_fd);  // only the first worker reports readiness
      ready_fd = -1;
    }
    if (g_stop_signal != 0) ::kill(pid, SIGTERM);
    Watch watch = WorkerWatcher(options, protection, pid, report[0]).wait();
    ::close(report[0]);
    g_worker = -1;
    if (watch.charged) uncharged.clear();
    int status = watch.wait_status;
    if (g_stop_signal != 0 || (WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
      tell_service_manager("STOPPING=1");
      return 0;
    }
    // The same status from vigild: systemd does not restart it (RestartPreventExitStatus=3).
    if (WIFEXITED(status) && WEXITSTATUS(status) == kWorkerRefusedToStart) return kWorkerRefusedToStart;
    if (watch.killed_as_asked || (WIFEXITED(status) && WEXITSTATUS(status) == kWorkerRestartRequested)) {
      std::cerr << "vigild: worker stopped to be restarted"
                << (watch.killed_as_asked ? " (killed: it did not exit in time)" : "")
                << " (see vigild.log); restarting\n";
      write_restart_note(options.paths, {"worker stopped to be restarted", unix_seconds(), unix_milliseconds()});
      std::error_code ignored;
      std::filesystem::remove_all(plugin_marker_dir(options.paths), ignored);  // the hung call is nobody's crash
      if (uncharged.empty()) {
        // The last crash is recorded: the new worker must not charge it again.
        ::unsetenv(kPreviousCrashVariable);
        ::unsetenv(kCrashedModulesVariable);
        ::unsetenv(kCrashActivityVariable);
      }
      continue;
    }

    std::string how = watch.memory_reason.empty() ? "worker " + describe(status) : watch.memory_reason;
    // A worker that ran for a good while earns a fresh backoff.
    if (std::chrono::steady_clock::now() - started > std::chrono::minutes(5)) backoff = options.first_backoff;
    write_restart_note(options.paths, {how, unix_seconds(), unix_milliseconds() + backoff.count()});
    std::vector<std::string> modules, activities, described;
    for (const auto& [module, activity] : marked_modules(options.paths)) {
      // A crash while a module is unloaded is reported, not charged.
      if (activity != kActivityUnload) modules.push_back(module);
      activities.push_back(module + "=" + activity);
      described.push_back("'" + module + "' (" + activity + ")");
    }
    std::error_code error;
    std::filesystem::remove_all(plugin_marker_dir(options.paths), error);
    std::cerr << "vigild: " << how
              << (described.empty() ? " outside any plugin" : " while running module " + join(described, ", "))
              << "; restarting in " << backoff.count() << " ms\n";
    tell_service_manager("STATUS=restarting the agent process: " + how);
    uncharged.insert(uncharged.end(), modules.begin(), modules.end());
    ::setenv(kPreviousCrashVariable, how.c_str(), 1);
    ::setenv(kCrashedModulesVariable, join(uncharged, ",").c_str(), 1);
    ::setenv(kCrashActivityVariable, join(activities, ",").c_str(), 1);
    auto wake = std::chrono::steady_clock::now() + backoff;
    while (std::chrono::steady_clock::now() < wake && g_stop_signal == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (g_stop_signal != 0) return 0;
    backoff = std::min(backoff * 2, options.max_backoff);
  }
}

}  // namespace vigil
