// The supervisor process: fork, wait, attribute crashes, back off, restart.
#include "agent/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "base/error_text.h"
#include "store/state_store.h"

namespace vigil {
namespace {

volatile sig_atomic_t g_stop_signal = 0;
volatile pid_t g_worker = -1;

void forward_stop(int signal) {
  g_stop_signal = signal;
  if (g_worker > 0) ::kill(g_worker, SIGTERM);
}

std::string describe(int wait_status) {
  if (WIFSIGNALED(wait_status)) return "killed by signal " + std::to_string(WTERMSIG(wait_status));
  return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
}

// Charges the modules marked as running with the crash; returns a summary.
std::string attribute_crash(const SupervisorOptions& options, const std::string& how) {
  std::vector<std::string> modules;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(plugin_marker_dir(options.paths), error)) {
    modules.push_back(entry.path().filename().string());
  }
  std::filesystem::remove_all(plugin_marker_dir(options.paths), error);
  if (modules.empty()) return "worker " + how + " outside any plugin";
  std::string summary = "worker " + how + " while running module";
  // Opened only now and closed before the next fork: SQLite connections must not cross a fork.
  auto store = StateStore::open(options.paths.state_db());
  for (const std::string& module : modules) {
    int64_t crashes = 0;
    if (store.ok()) {
      auto counted = store.value()->record_plugin_crash(module, how, std::time(nullptr));
      crashes = counted.ok() ? counted.value() : 0;
    }
    summary += " '" + module + "' (crash " + std::to_string(crashes) + " of " +
               std::to_string(kQuarantineAfterCrashes) + " before quarantine)";
  }
  return summary;
}

}  // namespace

std::filesystem::path plugin_marker_dir(const Paths& paths) {
  return paths.run_dir / "in-plugin";
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

int run_supervisor(const SupervisorOptions& options, const std::function<int(int ready_fd)>& worker) {
  auto lock = lock_instance(options.paths);
  if (!lock.ok()) {
    std::cerr << "vigild: " << lock.error() << "\n";
    return 1;
  }
  struct sigaction action {};
  action.sa_handler = forward_stop;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);

  int ready_fd = options.ready_fd;
  auto backoff = options.first_backoff;
  pid_t supervisor = ::getpid();
  for (;;) {
    auto started = std::chrono::steady_clock::now();
    pid_t pid = ::fork();
    if (pid < 0) {
      std::cerr << "vigild: fork failed: " << error_text(errno) << "\n";
      return 1;
    }
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the supervisor
      if (::getppid() != supervisor) ::_exit(1);
      ::signal(SIGTERM, SIG_DFL);
      ::signal(SIGINT, SIG_DFL);
      ::close(lock.value());  // the supervisor holds the lock for both
      ::_exit(worker(ready_fd));
    }
    g_worker = pid;
    if (ready_fd >= 0) {
      ::close(ready_fd);  // only the first worker reports readiness
      ready_fd = -1;
    }
    if (g_stop_signal != 0) ::kill(pid, SIGTERM);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    g_worker = -1;
    if (g_stop_signal != 0 || (WIFEXITED(status) && WEXITSTATUS(status) == 0)) return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == kWorkerRefusedToStart) return 1;

    std::string summary = attribute_crash(options, describe(status));
    std::cerr << "vigild: " << summary << "; restarting in " << backoff.count() << " ms\n";
    ::setenv(kPreviousCrashVariable, summary.c_str(), 1);
    // A worker that ran for a good while earns a fresh backoff.
    if (std::chrono::steady_clock::now() - started > std::chrono::minutes(5)) backoff = options.first_backoff;
    auto wake = std::chrono::steady_clock::now() + backoff;
    while (std::chrono::steady_clock::now() < wake && g_stop_signal == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (g_stop_signal != 0) return 0;
    backoff = std::min(backoff * 2, options.max_backoff);
  }
}

}  // namespace vigil
