// Key hive latency: another process writes ScanOnDemand=1 into the state
// store (as a script or configuration tool would); the time until vigild has
// started the scan (set the value to 2). Reference: the write's own commit.
// Also vigild's CPU time while idle for two seconds (goal: zero, no polling).
#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string read_value(sqlite3* db, const char* sql) {
  sqlite3_stmt* statement = nullptr;
  sqlite3_prepare_v2(db, sql, -1, &statement, nullptr);
  std::string value;
  if (sqlite3_step(statement) == SQLITE_ROW) value = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
  sqlite3_finalize(statement);
  return value;
}

// utime + stime of `pid` in clock ticks.
long cpu_ticks(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string skip;
  for (int i = 0; i < 11; ++i) fields >> skip;
  long user = 0, system = 0;
  fields >> user >> system;
  return user + system;
}

void BM_KeyHiveWriteToScanStart(benchmark::State& state) {
  vigil::test::TempDir root;
  vigil::test::install_plugins(root.path(), {TEST_SCANNER_PATH});
  vigil::test::Daemon daemon(root.path());
  auto manifest = root.path() / "manifest";
  std::ofstream(manifest) << "row t a 1\n";
  vigil::test::vigilctl(root.path(), {"manifest", "set", "--module", "testscan", "--file", manifest.string()});
  sqlite3* db = nullptr;
  sqlite3_open((root.path() / "var/lib/vigil/config.db").c_str(), &db);
  sqlite3_busy_timeout(db, 5000);
  const char* value_sql = "SELECT value FROM hive_keys WHERE path='ScanOnDemand/TestScan' AND name='ScanOnDemand'";
  auto settle = [&] {
    while (read_value(db, value_sql) != "0" || read_value(db, "SELECT count(*) FROM outbox") != "0") {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  };
  settle();

  long ticks_before = cpu_ticks(daemon.pid());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  long idle_ticks = cpu_ticks(daemon.pid()) - ticks_before;

  std::vector<double> latencies, write_costs;
  for (auto _ : state) {
    auto start = Clock::now();
    sqlite3_exec(db, "UPDATE hive_keys SET value='1' WHERE path='ScanOnDemand/TestScan' AND name='ScanOnDemand'",
                 nullptr, nullptr, nullptr);
    auto written = Clock::now();
    while (read_value(db, value_sql) == "1") std::this_thread::sleep_for(std::chrono::microseconds(100));
    auto started = Clock::now();
    double latency = std::chrono::duration<double>(started - start).count();
    state.SetIterationTime(latency);
    latencies.push_back(latency * 1e3);
    write_costs.push_back(std::chrono::duration<double>(written - start).count() * 1e3);
    state.PauseTiming();
    settle();
    state.ResumeTiming();
  }
  sqlite3_close(db);
  std::sort(latencies.begin(), latencies.end());
  std::sort(write_costs.begin(), write_costs.end());
  auto percentile = [](const std::vector<double>& sorted, double p) {
    return sorted.empty() ? 0.0 : sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()))];
  };
  state.counters["p50_ms"] = percentile(latencies, 0.50);
  state.counters["p99_ms"] = percentile(latencies, 0.99);
  state.counters["ref_write_p50_ms"] = percentile(write_costs, 0.50);
  state.counters["idle_cpu_ticks_2s"] = static_cast<double>(idle_ticks);
}
BENCHMARK(BM_KeyHiveWriteToScanStart)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(200);

}  // namespace
