// vigild start-up: time from exec to "all plugins loaded and control socket
// ready" (READY=1 on --ready-fd), and idle RSS/PSS with the hello plugin
// loaded (supervisor and worker together). Reference in the same run: spawning and reaping /bin/true, the
// floor any process start pays.
#include <benchmark/benchmark.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "test_support.h"

extern char** environ;

namespace {

// A field of /proc/PID/smaps_rollup in KiB ("Pss", "Rss"), or -1.
long smaps_kib(pid_t pid, const std::string& field) {
  std::ifstream rollup("/proc/" + std::to_string(pid) + "/smaps_rollup");
  for (std::string line; std::getline(rollup, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

std::vector<pid_t> process_and_children(pid_t pid) {
  std::vector<pid_t> pids = {pid};
  std::ifstream children("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  for (pid_t child = 0; children >> child;) pids.push_back(child);
  return pids;
}

void BM_ReferenceSpawnTrue(benchmark::State& state) {
  for (auto _ : state) {
    pid_t pid = -1;
    char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
    posix_spawn(&pid, argv[0], nullptr, nullptr, argv, environ);
    int status = 0;
    waitpid(pid, &status, 0);
  }
}
BENCHMARK(BM_ReferenceSpawnTrue)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_VigildStartToReady(benchmark::State& state) {
  vigil::test::TempDir root;
  vigil::test::install_plugins(root.path(), {HELLO_PLUGIN_PATH});
  long pss = 0, rss = 0;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    vigil::test::Daemon daemon(root.path());
    auto ready = std::chrono::steady_clock::now();
    if (!daemon.ready()) {
      state.SkipWithError("vigild did not become ready");
      break;
    }
    state.SetIterationTime(std::chrono::duration<double>(ready - start).count());
    // vigild is the supervisor plus its worker: count both.
    pss = 0;
    rss = 0;
    for (pid_t pid : process_and_children(daemon.pid())) {
      pss += smaps_kib(pid, "Pss");
      rss += smaps_kib(pid, "Rss");
    }
  }
  state.counters["idle_pss_KiB"] = static_cast<double>(pss);
  state.counters["idle_rss_KiB"] = static_cast<double>(rss);
}
BENCHMARK(BM_VigildStartToReady)->Unit(benchmark::kMillisecond)->UseManualTime();

}  // namespace
