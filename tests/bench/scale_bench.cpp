// The whole data path at fleet scale, through real processes: vigild with the
// test plugin emitting N rows (N = 10k, 100k, 1M), provisioned against
// vigil-platform on 127.0.0.1. Reports per N:
//  - rss_growth_MiB: the worker's peak RSS (VmHWM) minus its RSS before the
//    scan (goal: <= 32 MiB at every N, flat, not linear);
//  - seconds: demand to the platform holding the complete snapshot, and
//    us_per_row (linear time keeps it constant across N);
//  - second_scan_seconds / second_scan_uploads: the same rows scanned again
//    (goal: no upload, far less time than the first); second_scan_rss_peak_MiB
//    is the worker's peak RSS once both scans are done;
//  - chunks, platform_rss_MiB (the platform's peak RSS while applying).
// The reference is the same run at N = 10k: compare us_per_row and rss_growth.
// BM_FimBaseline300k does the same with the fim plugin on a generated tree of
// 300,000 one-byte files (worker peak RSS goal: <= 160 MiB, real-time monitor
// included).
// BM_FimRealTreesAgainstAide: the fim plugin's baseline of /usr/share and
// /usr/include through a standalone vigild (2 hashing threads, real-time
// monitor on) against `aide --init` of the same trees with the same
// attributes and one worker per core, both from a warm page cache. Reports
// x_aide_time (AIDE's wall time / ours; goal >= 3) and x_aide_rss (AIDE's
// peak RSS / our worker's; goal >= 1). Ours runs from the manifest's arrival
// to the end of the scan, commit included. Needs `scripts/bootstrap bench`.
#include <benchmark/benchmark.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "platform_process.h"
#include "store/config_table.h"
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

// Provisions an agent under `root` (plugins installed) against a platform
// serving `manifest` to `module`; measures the first delta's arrival and a
// second, unchanged scan into `state`'s counters.
void run_through_platform(benchmark::State& state, const std::filesystem::path& work, const std::string& module,
                          const std::string& manifest, const std::filesystem::path& plugin, int64_t rows,
                          const std::vector<std::pair<std::string, std::optional<std::string>>>& config = {}) {
  PlatformProcess platform(work / "platform");
  auto manifest_file = work / "manifest";
  std::ofstream(manifest_file) << manifest;
  platform.admin({"manifest-set", "--module", module, "--file", manifest_file.string()});
  platform.admin({"activate", "--key", platform.activation_id(), "--module", module});
  auto root = work / "agent";
  install_plugins(root, {plugin});
  if (!config.empty()) (void)StateStore::open(root / "var/lib/vigil/config.db").value()->config().update(config);
  Daemon daemon(root);
  pid_t worker = worker_of(daemon.pid());
  int64_t rss_before = status_kib(worker, "VmRSS");
  auto start = std::chrono::steady_clock::now();
  auto provisioned =
      vigilctl(root, {"provision", "CustomerId=" + platform.customer_id(), "ActivationId=" + platform.activation_id(),
                      "WebServiceUri=" + platform.url(), "CaBundle=" + platform.ca_bundle()});
  if (provisioned.exit_code != 0) return state.SkipWithError(("provision failed: " + provisioned.err).c_str());
  std::string agent_id = json::parse(vigilctl(root, {"status", "--json"}).out)["agent_id"];
  auto summary = [&] { return platform.admin_json({"results", "--agent", agent_id, "--summary"}); };
  int64_t platform_peak = 0;
  bool complete = wait_for(
      [&] {
        platform_peak = std::max(platform_peak, status_kib(platform.pid(), "VmHWM"));
        return summary()["snapshots"][module].contains("complete");
      },
      std::chrono::seconds(1800));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!complete) return state.SkipWithError("the snapshot never completed on the platform");
  int64_t worker_peak = status_kib(worker, "VmHWM");
  json first = summary();
  int64_t uploads = first["uploads"][module]["uploads"];

  auto again = std::chrono::steady_clock::now();
  vigilctl(root, {"demand", "--type", module, "--wait"});
  double second = std::chrono::duration<double>(std::chrono::steady_clock::now() - again).count();
  int64_t second_uploads = summary()["uploads"][module]["uploads"].get<int64_t>() - uploads;
  int64_t peak_after_second = status_kib(worker, "VmHWM");

  state.SetIterationTime(seconds);
  state.counters["rows_on_platform"] = first["snapshots"][module]["rows"].get<double>();
  state.counters["chunks"] = static_cast<double>(uploads);
  state.counters["rss_before_MiB"] = static_cast<double>(rss_before) / 1024;
  state.counters["rss_peak_MiB"] = static_cast<double>(worker_peak) / 1024;
  state.counters["rss_growth_MiB"] = static_cast<double>(worker_peak - rss_before) / 1024;
  state.counters["platform_rss_MiB"] = static_cast<double>(platform_peak) / 1024;
  state.counters["seconds"] = seconds;
  state.counters["us_per_row"] = seconds * 1e6 / static_cast<double>(rows);
  state.counters["second_scan_seconds"] = second;
  state.counters["second_scan_uploads"] = static_cast<double>(second_uploads);
  state.counters["second_scan_rss_peak_MiB"] = static_cast<double>(peak_after_second) / 1024;
}

void BM_RowsThroughAgentAndPlatform(benchmark::State& state) {
  const int64_t rows = state.range(0);
  for (auto _ : state) {
    TempDir dir;
    run_through_platform(state, dir.path(), "testscan", "rows t " + std::to_string(rows) + " 64\n", TEST_SCANNER_PATH,
                         rows);
  }
}
BENCHMARK(BM_RowsThroughAgentAndPlatform)
    ->Arg(10000)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kSecond)
    ->UseManualTime()
    ->Iterations(1);

void BM_FimBaseline300k(benchmark::State& state) {
  constexpr int kDirectories = 300, kFilesPerDirectory = 1000;
  for (auto _ : state) {
    TempDir dir;
    auto tree = dir.path() / "agent/data";
    for (int d = 0; d < kDirectories; ++d) {
      std::filesystem::create_directories(tree / std::to_string(d));
      for (int f = 0; f < kFilesPerDirectory; ++f) std::ofstream(tree / std::to_string(d) / std::to_string(f)) << "x";
    }
    run_through_platform(state, dir.path(), "fim", "paths: [{path: /data}]\n", FIM_PLUGIN_PATH,
                         int64_t{kDirectories} * kFilesPerDirectory, {{"fim.Root", (dir.path() / "agent").string()}});
  }
}
BENCHMARK(BM_FimBaseline300k)->Unit(benchmark::kSecond)->UseManualTime()->Iterations(1);

void BM_FimRealTreesAgainstAide(benchmark::State& state) {
  const std::vector<std::string> trees = {"/usr/share", "/usr/include"};
  if (!std::filesystem::exists("/usr/bin/aide") || !std::filesystem::exists("/usr/bin/time")) {
    return state.SkipWithError("needs aide and /usr/bin/time: scripts/bootstrap bench");
  }
  // Our baseline, whole process: seconds from the manifest's arrival (a
  // module never scanned is due at once) to the scan's end, the worker's
  // peak RSS. The module's CPU limit is lifted: AIDE has none.
  auto fim_baseline = [&](const std::filesystem::path& root, double& seconds, int64_t& peak_kib) {
    install_plugins(root, {FIM_PLUGIN_PATH});
    (void)StateStore::open(root / "var/lib/vigil/config.db")
        .value()
        ->config()
        .update({{"fim.Root", "/"}, {"fim.HashThreads", "2"}, {"fim.CpuLimit", "100"}});
    Daemon daemon(root);
    std::string manifest = "hash: sha256\npaths:\n";
    for (const auto& tree : trees) manifest += "  - {path: " + tree + "}\n";
    std::ofstream(root / "fim.yaml") << manifest;
    auto start = std::chrono::steady_clock::now();
    vigilctl(root, {"manifest", "set", "--module", "fim", "--file", (root / "fim.yaml").string()});
    bool scanned = wait_for(
        [&] {
          json status = json::parse(vigilctl(root, {"status", "--json"}).out, nullptr, false);
          if (!status.is_object()) return false;
          for (const auto& module : status["modules"]) {
            if (module["module"] == "fim") return module.contains("last_snapshot") && module["state"] == "idle";
          }
          return false;
        },
        std::chrono::seconds(1800));
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    peak_kib = status_kib(worker_of(daemon.pid()), "VmHWM");
    return scanned;
  };
  for (auto _ : state) {
    TempDir dir;
    double seconds = 0;
    int64_t peak = 0;
    if (!fim_baseline(dir.path() / "warm", seconds, peak)) return state.SkipWithError("the fim scan failed");
    auto config = dir.path() / "aide.conf";
    std::ofstream out(config);
    out << "database_out=file:" << (dir.path() / "aide.db").string() << "\nnum_workers=100%\n"
        << "FIM = p+i+n+u+g+s+m+c+acl+xattrs+sha256\n";
    for (const auto& tree : trees) out << tree << " FIM\n";
    out.close();
    auto measured = dir.path() / "aide.time";
    auto aide = run({"/usr/bin/time", "-o", measured.string(), "-f", "%e %M", "/usr/bin/aide", "--init",
                     "--config=" + config.string()});
    double aide_seconds = 0;
    int64_t aide_kib = 0;
    std::ifstream(measured) >> aide_seconds >> aide_kib;
    if (aide.exit_code != 0 || aide_kib == 0) return state.SkipWithError(("aide --init failed: " + aide.err).c_str());
    if (!fim_baseline(dir.path() / "agent", seconds, peak)) return state.SkipWithError("the fim scan failed");
    state.SetIterationTime(seconds);
    state.counters["seconds"] = seconds;
    state.counters["rss_peak_MiB"] = static_cast<double>(peak) / 1024;
    state.counters["aide_seconds"] = aide_seconds;
    state.counters["aide_rss_MiB"] = static_cast<double>(aide_kib) / 1024;
    state.counters["x_aide_time"] = aide_seconds / seconds;
    state.counters["x_aide_rss"] = static_cast<double>(aide_kib) / static_cast<double>(peak);
  }
}
BENCHMARK(BM_FimRealTreesAgainstAide)->Unit(benchmark::kSecond)->UseManualTime()->Iterations(1);

}  // namespace
