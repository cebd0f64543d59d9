// VM advisories at distribution scale: 50,000 advisories (about a Debian
// release's worth of tracker entries), one in ten for a source package
// installed on this machine with a fixed version above, equal to or below the
// installed one.
//   - Import: the tracker's JSON (streamed a package at a time) and OSV, into
//     manifest lines. Reported with the process's peak RSS (VmHWM) before and
//     after, which must not grow with the input: a package at a time is held.
//   - Scan: what the VM plugin does per scan (read this machine's packages,
//     read the whole manifest, match); goal under 100 ms.
//   - Reference in the same run: reading the dpkg database alone, and
//     counting the manifest's lines (memchr speed).
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "vigil/advisories/import.h"
#include "vigil/advisories/manifest.h"
#include "vigil/advisories/match.h"
#include "vigil/packages/installed.h"

namespace {

namespace adv = vigil::advisories;
constexpr int kAdvisories = 50000;

int64_t vm_hwm_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return 0;
}

struct Workload {
  std::string tracker, osv, manifest;

  Workload() {
    auto installed = vigil::packages::read_installed_packages("/");
    std::vector<std::pair<std::string, std::string>> sources;  // installed source, version
    std::set<std::string> seen;
    if (installed.dpkg) {
      for (const auto& package : installed.dpkg->packages) {
        if (package.installed() && seen.insert(package.source).second) {
          sources.emplace_back(package.source, package.source_version);
        }
      }
    }
    nlohmann::json tracker_doc = nlohmann::json::object(), osv_doc = nlohmann::json::array();
    for (int i = 0; i < kAdvisories; ++i) {
      std::string id = "CVE-2099-" + std::to_string(100000 + i), package = "notinstalled" + std::to_string(i / 3);
      std::string fixed = "1.0-" + std::to_string(i % 7 + 1);
      if (i % 10 == 0 && !sources.empty()) {
        const auto& [name, version] = sources[static_cast<size_t>(i / 10) % sources.size()];
        package = name;
        fixed = i % 30 == 0 ? version + "+1" : i % 30 == 10 ? version : version + "~1";
      }
      tracker_doc[package][id] = {
          {"description", "a generated issue of realistic length for the benchmark's import"},
          {"releases", {{"bookworm", {{"status", "resolved"}, {"fixed_version", fixed}, {"urgency", "medium"}}}}}};
      osv_doc.push_back(
          {{"id", "DEBIAN-" + id},
           {"aliases", {id}},
           {"summary", "a generated issue"},
           {"affected",
            {{{"package", {{"ecosystem", "Debian:12"}, {"name", package}}},
              {"ranges", {{{"type", "ECOSYSTEM"}, {"events", {{{"introduced", "0"}}, {{"fixed", fixed}}}}}}}}}}});
    }
    tracker = tracker_doc.dump();
    osv = osv_doc.dump();
    manifest = adv::manifest_header("debian:12");
    std::istringstream in(tracker);
    adv::import_debian_tracker(in, "bench", [&](adv::Advisory&& a) { manifest += adv::manifest_line(a); });
  }
};

Workload& workload() {
  static Workload instance;
  return instance;
}

void BM_ReferenceReadPackages(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(vigil::packages::read_installed_packages("/"));
}
BENCHMARK(BM_ReferenceReadPackages)->Unit(benchmark::kMillisecond);

void BM_ReferenceCountManifestLines(benchmark::State& state) {
  const std::string& manifest = workload().manifest;
  for (auto _ : state) benchmark::DoNotOptimize(std::count(manifest.begin(), manifest.end(), '\n'));
  state.counters["manifest_bytes"] = static_cast<double>(manifest.size());
}
BENCHMARK(BM_ReferenceCountManifestLines)->Unit(benchmark::kMillisecond);

void BM_ImportTracker50k(benchmark::State& state) {
  const std::string& tracker = workload().tracker;
  int64_t before = vm_hwm_kib();
  size_t imported = 0;
  for (auto _ : state) {
    std::istringstream in(tracker);
    imported = adv::import_debian_tracker(in, "bench", [](adv::Advisory&& a) {
                 benchmark::DoNotOptimize(adv::manifest_line(a));
               }).advisories;
  }
  state.counters["advisories"] = static_cast<double>(imported);
  state.counters["input_MiB"] = static_cast<double>(tracker.size()) / (1 << 20);
  state.counters["VmHWM_growth_KiB"] = static_cast<double>(vm_hwm_kib() - before);
}
BENCHMARK(BM_ImportTracker50k)->Unit(benchmark::kMillisecond);

void BM_ImportOsv50k(benchmark::State& state) {
  const std::string& osv = workload().osv;
  size_t imported = 0;
  for (auto _ : state) {
    imported = adv::import_osv(osv, "bench", [](adv::Advisory&& a) {
                 benchmark::DoNotOptimize(adv::manifest_line(a));
               }).advisories;
  }
  state.counters["advisories"] = static_cast<double>(imported);
  state.counters["input_MiB"] = static_cast<double>(osv.size()) / (1 << 20);
}
BENCHMARK(BM_ImportOsv50k)->Unit(benchmark::kMillisecond);

// The VM plugin's whole scan but the row writes: packages read, manifest read, matches found.
void BM_Scan50kAdvisories(benchmark::State& state) {
  const std::string& manifest = workload().manifest;
  size_t affected = 0, read = 0;
  for (auto _ : state) {
    adv::InstalledIndex index(vigil::packages::read_installed_packages("/"));
    affected = 0;
    read = adv::read_manifest(
               manifest, [&](std::string_view m, bool s, std::string_view p) { return index.has(m, s, p); },
               [&](adv::Advisory&& advisory) { affected += adv::findings(advisory, index).size(); })
               .advisories;
  }
  state.counters["advisories"] = static_cast<double>(read);
  state.counters["affected_rows"] = static_cast<double>(affected);
}
BENCHMARK(BM_Scan50kAdvisories)->Unit(benchmark::kMillisecond);

}  // namespace
