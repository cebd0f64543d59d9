// CPU limits: a CPU-bound scan (the test plugin burning 300 ms of CPU while
// calling checkpoint) under limits 10, 25, 50 and 100 %, and a CPU-bound
// command run by a scan (dd copying /dev/zero to /dev/null) under the same
// limits, held the way this machine holds commands. Then a command whose
// children burn CPU (`sh -c 'yes >/dev/null & yes >/dev/null & wait'`, 5 s)
// in each mode that can run here: signals (its process group stopped and
// continued) and cgroup (cpu.max, or the cgroup frozen and thawed). Reports
// the share of one core actually used over the run (CPU time / wall time);
// the goal is the limit within ±3 points. The 100 % runs are the references.
#include <benchmark/benchmark.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>

#include "budget/cgroup_support.h"
#include "exec/command_runner.h"
#include "log/log_manager.h"
#include "plugin/registry.h"
#include "sched/scan_runner.h"
#include "test_support.h"

namespace {

double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

// Runs the test scanner with `manifest` under the limit state.range(0) and
// reports the share of a core that `cpu_seconds` (a clock) shows was used.
void scan_under_limit(benchmark::State& state, const std::string& manifest, double (*cpu_seconds)()) {
  vigil::test::TempDir dir;
  auto store = std::move(vigil::StateStore::open(dir.path() / "config.db").value());
  vigil::LogManager logs(dir.path() / "log", 2, vigil::LogDestination::kFile, false);
  vigil::PluginRegistry registry({store.get(), &logs, {}, 0, nullptr, {}});
  if (!registry.load_file(TEST_SCANNER_PATH).ok()) {
    state.SkipWithError("test scanner not loadable");
    return;
  }
  vigil::ScanRequest request;
  request.manifests = {{"testscan", "testscan", "1", manifest}};
  request.cpu_limit = static_cast<int>(state.range(0));
  double share = 0;
  for (auto _ : state) {
    auto wall_start = std::chrono::steady_clock::now();
    double cpu_start = cpu_seconds();
    auto outcome = vigil::run_scan(registry.find("testscan"), request, *store);
    double cpu = cpu_seconds() - cpu_start;
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    if (!outcome.status.ok()) state.SkipWithError(outcome.status.error().c_str());
    share = 100.0 * cpu / wall;
    state.SetIterationTime(wall);
  }
  state.counters["limit_pct"] = static_cast<double>(state.range(0));
  state.counters["used_pct"] = share;
  state.counters["error_points"] = share - static_cast<double>(state.range(0));
}

// The limits measured, 100 % being the reference.
void limits(benchmark::internal::Benchmark* benchmark) {
  for (int limit : {100, 50, 25, 10}) benchmark->Arg(limit);
  benchmark->Unit(benchmark::kMillisecond)->UseManualTime();
}

// The scan thread itself burns CPU, calling checkpoint as it goes.
void BM_CpuBoundScanUnderLimit(benchmark::State& state) {
  scan_under_limit(state, "burn 300\n", thread_cpu_seconds);
}
BENCHMARK(BM_CpuBoundScanUnderLimit)->Apply(limits)->Iterations(3);

// A command run by the scan burns CPU (counted through the reaped children).
void BM_CpuBoundCommandUnderLimit(benchmark::State& state) {
  scan_under_limit(state, "exec dd if=/dev/zero of=/dev/null bs=64k count=150000\n", vigil::test::children_cpu_seconds);
}
BENCHMARK(BM_CpuBoundCommandUnderLimit)->Apply(limits)->Iterations(2);

// The two ways a command can be held: state.range(0) 0 is signals, 1 cgroup.
// The cgroup sub-hierarchy is this benchmark's own, removed at exit.
class Modes {
 public:
  Modes() : cgroup_(vigil::budget::probe(vigil::budget::this_machine("vigil-bench-" + std::to_string(::getpid())))) {}
  ~Modes() {
    if (cgroup_.base.empty()) return;
    std::error_code ignored;
    for (const auto& entry : std::filesystem::directory_iterator(cgroup_.base, ignored)) ::rmdir(entry.path().c_str());
    ::rmdir(cgroup_.base.c_str());
  }
  const vigil::budget::Support& signals() const { return signals_; }
  const vigil::budget::Support& cgroup() const { return cgroup_; }

 private:
  vigil::budget::Support signals_;
  vigil::budget::Support cgroup_;
};

const Modes& modes() {
  static const Modes instance;
  return instance;
}

// The children burn until the command is killed at its 5 s timeout. This
// process becomes their reaper, so their CPU time reaches RUSAGE_CHILDREN
// whichever mechanism held and killed them.
void BM_ForkingCommandUnderLimit(benchmark::State& state) {
  const auto& support = state.range(0) == 0 ? modes().signals() : modes().cgroup();
  if (support.mode != (state.range(0) == 0 ? vigil::budget::Mode::kSignals : vigil::budget::Mode::kCgroup)) {
    state.SkipWithError(support.description.c_str());
    return;
  }
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  vigil::CommandRequest request;
  request.argv = {"sh", "-c", "yes >/dev/null & yes >/dev/null & wait"};
  request.module = "bench";
  request.timeout = std::chrono::seconds(5);
  request.cpu_limit = static_cast<int>(state.range(1));
  request.budget = &support;
  double share = 0;
  for (auto _ : state) {
    auto wall_start = std::chrono::steady_clock::now();
    double cpu_start = vigil::test::children_cpu_seconds();
    auto outcome = vigil::run_command(request);
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    while (::waitpid(-1, nullptr, 0) > 0) {
    }
    double cpu = vigil::test::children_cpu_seconds() - cpu_start;
    if (outcome.status.ok()) {
      state.SkipWithError("expected the timeout: the command ran to its end");
    } else if (outcome.status.code() != vigil::ErrorCode::kTimedOut) {
      state.SkipWithError(("expected the timeout: " + outcome.status.error()).c_str());
    }
    share = 100.0 * cpu / wall;
    state.SetIterationTime(wall);
  }
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  state.SetLabel(state.range(0) == 0 ? "signals" : support.cpu_max ? "cgroup cpu.max" : "cgroup freeze");
  state.counters["limit_pct"] = static_cast<double>(state.range(1));
  state.counters["used_pct"] = share;
  state.counters["error_points"] = share - static_cast<double>(state.range(1));
}
BENCHMARK(BM_ForkingCommandUnderLimit)
    ->ArgsProduct({{0, 1}, {100, 50, 25, 10}})
    ->ArgNames({"cgroup", "limit"})
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime()
    ->Iterations(1);

}  // namespace
