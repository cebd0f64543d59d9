// Vulnerability Management: parsing and evaluating 100,000 package rules
// against this machine's installed packages (goal: evaluation under 100 ms).
// Reference in the same run: reading the dpkg database the rules run against.
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include "vigil/packages/dpkg_status.h"
#include "vigil/vm_rules/rules.h"

namespace {

constexpr int kRules = 100000;

struct Workload {
  vigil::vm::Facts facts;
  std::string manifest;

  Workload() {
    auto status = vigil::packages::read_dpkg_status("/var/lib/dpkg/status");
    std::vector<std::string> names;
    if (status) {
      for (const auto& package : status->packages) {
        if (!package.installed()) continue;
        facts.packages["dpkg"][package.name] = package.version;
        names.push_back(package.name);
      }
    }
    if (names.empty()) names.push_back("none");
    nlohmann::json rules = nlohmann::json::array();
    for (int i = 0; i < kRules; ++i) {
      // Every package named many times, half the rules with a range that matches.
      const std::string& name = names[static_cast<size_t>(i) % names.size()];
      nlohmann::json when = {{"package", {{"name", name}, {"before", i % 2 ? "0:0.1" : "99:1"}}}};
      if (i % 10 == 0) when = {{"any", {when, {{"package", {{"name", "no-such-" + std::to_string(i)}}}}}}};
      rules.push_back({{"id", "R" + std::to_string(i)}, {"title", "rule"}, {"severity", 1 + i % 5}, {"when", when}});
    }
    manifest = nlohmann::json{{"rules", rules}}.dump();
  }
};

Workload& workload() {
  static Workload instance;
  return instance;
}

void BM_ReferenceReadDpkgDatabase(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(vigil::packages::read_dpkg_status("/var/lib/dpkg/status"));
}
BENCHMARK(BM_ReferenceReadDpkgDatabase)->Unit(benchmark::kMillisecond);

void BM_Parse100kRules(benchmark::State& state) {
  const std::string& manifest = workload().manifest;  // built outside the timing
  state.counters["manifest_bytes"] = static_cast<double>(manifest.size());
  for (auto _ : state) benchmark::DoNotOptimize(vigil::vm::parse_rules(manifest));
}
BENCHMARK(BM_Parse100kRules)->Unit(benchmark::kMillisecond);

void BM_Evaluate100kRules(benchmark::State& state) {
  auto rules = vigil::vm::parse_rules(workload().manifest);
  size_t findings = 0;
  for (auto _ : state) {
    findings = 0;
    for (const auto& rule : rules) findings += vigil::vm::evaluate(rule, workload().facts).has_value();
  }
  state.counters["findings"] = static_cast<double>(findings);
}
BENCHMARK(BM_Evaluate100kRules)->Unit(benchmark::kMillisecond);

}  // namespace
