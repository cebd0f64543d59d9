// Inventory on this machine: every table read from the live system (goal:
// under 50 ms), and the dpkg status parser against running
// `dpkg-query -W` (the reference, same run) for the same list.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include "test_support.h"
#include "vigil/inventory/sources.h"
#include "vigil/packages/dpkg_status.h"

namespace {

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

void BM_FullInventoryScan(benchmark::State& state) {
  size_t rows = 0;
  long before = peak_rss_kib();
  for (auto _ : state) {
    rows = 0;
    for (const auto& source : vigil::inventory::sources()) rows += source.read("/").rows.size();
  }
  state.counters["rows"] = static_cast<double>(rows);
  state.counters["peak_rss_growth_kib"] = static_cast<double>(peak_rss_kib() - before);
  state.counters["process_peak_rss_kib"] = static_cast<double>(peak_rss_kib());
}
BENCHMARK(BM_FullInventoryScan)->Unit(benchmark::kMillisecond);

void BM_DpkgStatusParse(benchmark::State& state) {
  size_t packages = 0;
  for (auto _ : state) packages = vigil::packages::read_dpkg_status("/var/lib/dpkg/status")->packages.size();
  state.counters["packages"] = static_cast<double>(packages);
}
BENCHMARK(BM_DpkgStatusParse)->Unit(benchmark::kMillisecond);

void BM_ReferenceDpkgQuery(benchmark::State& state) {
  for (auto _ : state) {
    auto listed = vigil::test::run({"/usr/bin/dpkg-query", "-W"});
    benchmark::DoNotOptimize(listed.out);
  }
}
BENCHMARK(BM_ReferenceDpkgQuery)->Unit(benchmark::kMillisecond);

}  // namespace
