// vigild's idle memory with the six module plugins loaded (inventory, vm, pc,
// sca, udc, fim): PSS and RSS (from /proc/PID/smaps_rollup) of the supervisor
// and of its worker, a few seconds after READY=1, once start-up has settled.
// References in the same run: a plain `sleep` process (the floor of any
// process on this machine) and, when VIGIL_BENCH_BASELINE_VIGILD names
// another vigild build (e.g. one from before the supervisor/worker split),
// that vigild measured the same way.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"

extern char** environ;

namespace {

constexpr auto kSettle = std::chrono::seconds(5);

// A field of /proc/PID/smaps_rollup in KiB ("Pss", "Rss"), or -1.
long smaps_kib(pid_t pid, const std::string& field) {
  std::ifstream rollup("/proc/" + std::to_string(pid) + "/smaps_rollup");
  for (std::string line; std::getline(rollup, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

std::vector<pid_t> children(pid_t pid) {
  std::vector<pid_t> pids;
  std::ifstream list("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  for (pid_t child = 0; list >> child;) pids.push_back(child);
  return pids;
}

pid_t spawn(const std::vector<std::string>& args, int ready_write_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (ready_write_fd >= 0) posix_spawn_file_actions_adddup2(&actions, ready_write_fd, 3);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

void stop(pid_t pid) {
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

void BM_ReferenceSleepProcess(benchmark::State& state) {
  long pss = 0;
  long rss = 0;
  for (auto _ : state) {
    pid_t pid = spawn({"/bin/sleep", "60"}, -1);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    pss = smaps_kib(pid, "Pss");
    rss = smaps_kib(pid, "Rss");
    stop(pid);
  }
  state.counters["pss_KiB"] = static_cast<double>(pss);
  state.counters["rss_KiB"] = static_cast<double>(rss);
}
BENCHMARK(BM_ReferenceSleepProcess)->Iterations(1)->Unit(benchmark::kMillisecond);

// Starts `vigild` on a fresh root with the module plugins, waits for
// READY=1 and the settling time, and counts the supervisor and its worker.
void measure_idle(benchmark::State& state, const std::string& vigild) {
  long supervisor_pss = 0, worker_pss = 0, supervisor_rss = 0, worker_rss = 0;
  for (auto _ : state) {
    vigil::test::TempDir root;
    vigil::test::install_plugins(root.path(), {INVENTORY_PLUGIN_PATH, VM_PLUGIN_PATH, PC_PLUGIN_PATH, SCA_PLUGIN_PATH,
                                               UDC_PLUGIN_PATH, FIM_PLUGIN_PATH});
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) {
      state.SkipWithError("pipe failed");
      break;
    }
    pid_t pid = spawn({vigild, "--root", root.path().string(), "--ready-fd", "3"}, ready[1]);
    ::close(ready[1]);
    pollfd waiter{ready[0], POLLIN, 0};
    char text[16] = {};
    bool up = pid > 0 && ::poll(&waiter, 1, 20000) == 1 && ::read(ready[0], text, sizeof(text) - 1) > 0;
    ::close(ready[0]);
    if (!up) {
      if (pid > 0) stop(pid);
      state.SkipWithError("vigild did not become ready");
      break;
    }
    std::this_thread::sleep_for(kSettle);
    supervisor_pss = smaps_kib(pid, "Pss");
    supervisor_rss = smaps_kib(pid, "Rss");
    worker_pss = 0;
    worker_rss = 0;
    for (pid_t worker : children(pid)) {
      worker_pss += smaps_kib(worker, "Pss");
      worker_rss += smaps_kib(worker, "Rss");
    }
    stop(pid);
  }
  state.counters["supervisor_pss_KiB"] = static_cast<double>(supervisor_pss);
  state.counters["worker_pss_KiB"] = static_cast<double>(worker_pss);
  state.counters["total_pss_KiB"] = static_cast<double>(supervisor_pss + worker_pss);
  state.counters["supervisor_rss_KiB"] = static_cast<double>(supervisor_rss);
  state.counters["worker_rss_KiB"] = static_cast<double>(worker_rss);
}

void BM_VigildIdleSixModules(benchmark::State& state) {
  measure_idle(state, VIGILD_PATH);
}
BENCHMARK(BM_VigildIdleSixModules)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_BaselineVigildIdleSixModules(benchmark::State& state) {
  const char* baseline = std::getenv("VIGIL_BENCH_BASELINE_VIGILD");
  if (baseline == nullptr) {
    state.SkipWithError("set VIGIL_BENCH_BASELINE_VIGILD to another vigild to compare");
    for (auto _ : state) {
    }
    return;
  }
  measure_idle(state, baseline);
}
BENCHMARK(BM_BaselineVigildIdleSixModules)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
