// The whole data path at fleet scale, through real processes: vigild with the
// test plugin emitting N rows (N = 10k, 100k, 1M), provisioned against
// vigil-platform on 127.0.0.1. Reports per N:
//  - rss_growth_MiB: the worker's peak RSS (VmHWM) minus its RSS before the
//    scan (goal: <= 32 MiB at every N, flat, not linear);
//  - seconds: demand to the platform holding the complete snapshot, and
//    us_per_row (linear time keeps it constant across N);
//  - second_scan_seconds / second_scan_uploads: the same rows scanned again
//    (goal: no upload, far less time than the first);
//  - chunks, platform_rss_MiB (the platform's peak RSS while applying).
// The reference is the same run at N = 10k: compare us_per_row and rss_growth.
#include <benchmark/benchmark.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "platform_process.h"
#include "store/state_store.h"
#include "test_support.h"

namespace {

using namespace vigil;
using namespace vigil::test;
using nlohmann::json;

// A field of /proc/<pid>/status in KiB (VmRSS, VmHWM), or -1.
int64_t status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

pid_t worker_of(pid_t supervisor) {
  std::ifstream children("/proc/" + std::to_string(supervisor) + "/task/" + std::to_string(supervisor) + "/children");
  pid_t worker = 0;
  children >> worker;
  return worker;
}

template <typename Condition>
bool wait_for(Condition condition, std::chrono::seconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void BM_RowsThroughAgentAndPlatform(benchmark::State& state) {
  const int64_t rows = state.range(0);
  for (auto _ : state) {
    TempDir dir;
    PlatformProcess platform(dir.path() / "platform");
    auto manifest = dir.path() / "manifest";
    std::ofstream(manifest) << "rows t " << rows << " 64\n";
    platform.admin({"manifest-set", "--module", "testscan", "--file", manifest.string()});
    platform.admin({"activate", "--key", platform.activation_id(), "--module", "testscan"});
    auto root = dir.path() / "agent";
    install_plugins(root, {TEST_SCANNER_PATH});
    Daemon daemon(root);
    pid_t worker = worker_of(daemon.pid());
    int64_t rss_before = status_kib(worker, "VmRSS");
    auto start = std::chrono::steady_clock::now();
    auto provisioned = vigilctl(root, {"provision", "CustomerId=" + platform.customer_id(),
                                       "ActivationId=" + platform.activation_id(), "WebServiceUri=" + platform.url(),
                                       "CaBundle=" + platform.ca_bundle()});
    if (provisioned.exit_code != 0) {
      state.SkipWithError(("provision failed: " + provisioned.err).c_str());
      return;
    }
    std::string agent_id = json::parse(vigilctl(root, {"status", "--json"}).out)["agent_id"];
    auto summary = [&] { return platform.admin_json({"results", "--agent", agent_id, "--summary"}); };
    int64_t platform_peak = 0;
    bool complete = wait_for(
        [&] {
          platform_peak = std::max(platform_peak, status_kib(platform.pid(), "VmHWM"));
          return summary()["snapshots"]["testscan"].contains("complete");
        },
        std::chrono::seconds(1800));
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!complete) {
      state.SkipWithError("the snapshot never completed on the platform");
      return;
    }
    int64_t worker_peak = status_kib(worker, "VmHWM");
    json first = summary();
    int64_t uploads = first["uploads"]["testscan"]["uploads"];

    auto again = std::chrono::steady_clock::now();
    vigilctl(root, {"demand", "--type", "testscan", "--wait"});
    double second = std::chrono::duration<double>(std::chrono::steady_clock::now() - again).count();
    int64_t second_uploads = summary()["uploads"]["testscan"]["uploads"].get<int64_t>() - uploads;

    state.SetIterationTime(seconds);
    state.counters["rows_on_platform"] = first["snapshots"]["testscan"]["rows"].get<double>();
    state.counters["chunks"] = static_cast<double>(uploads);
    state.counters["rss_before_MiB"] = static_cast<double>(rss_before) / 1024;
    state.counters["rss_growth_MiB"] = static_cast<double>(worker_peak - rss_before) / 1024;
    state.counters["platform_rss_MiB"] = static_cast<double>(platform_peak) / 1024;
    state.counters["seconds"] = seconds;
    state.counters["us_per_row"] = seconds * 1e6 / static_cast<double>(rows);
    state.counters["second_scan_seconds"] = second;
    state.counters["second_scan_uploads"] = static_cast<double>(second_uploads);
  }
}
BENCHMARK(BM_RowsThroughAgentAndPlatform)
    ->Arg(10000)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kSecond)
    ->UseManualTime()
    ->Iterations(1);

}  // namespace
