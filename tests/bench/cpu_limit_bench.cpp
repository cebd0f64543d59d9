// CPU limits: a CPU-bound scan (the test plugin burning 300 ms of CPU while
// calling checkpoint) under limits 10, 25, 50 and 100 %, and a CPU-bound
// command run by a scan (dd copying /dev/zero to /dev/null) under the same
// limits. Reports the share of one core actually used over the run (CPU time
// / wall time); the goal is the limit within ±3 points. The 100 % runs are
// the references.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <time.h>

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

double children_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  auto seconds = [](const timeval& value) {
    return static_cast<double>(value.tv_sec) + static_cast<double>(value.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Runs the test scanner with `manifest` under the limit state.range(0) and
// reports the share of a core that `cpu_seconds` (a clock) shows was used.
void scan_under_limit(benchmark::State& state, const std::string& manifest, double (*cpu_seconds)()) {
  vigil::test::TempDir dir;
  auto store = std::move(vigil::StateStore::open(dir.path() / "config.db").value());
  vigil::LogManager logs(dir.path() / "log", 2, vigil::LogDestination::kFile, false);
  vigil::PluginRegistry registry({store.get(), &logs, {}, 0, nullptr});
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
    if (outcome.status != VIGIL_OK) state.SkipWithError(outcome.error.c_str());
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
  scan_under_limit(state, "exec dd if=/dev/zero of=/dev/null bs=64k count=150000\n", children_cpu_seconds);
}
BENCHMARK(BM_CpuBoundCommandUnderLimit)->Apply(limits)->Iterations(2);

}  // namespace
