// The policy engine on this machine: the sample Debian 12 hardening policy
// (no command checks) parsed and evaluated against /, with its peak memory;
// reference in the same run: the wall time of a peer auditing tool from
// Debian, `lynis audit system --quick` (once; set VIGIL_BENCH_LYNIS=0 to
// skip it), and how many checks each ran (counter x_lynis = lynis time /
// our time). OpenSCAP is not compared: Debian ships SCAP content for Debian
// 10 and 11 only, and on Debian 12 every rule of it is "notapplicable".
#include <benchmark/benchmark.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "test_support.h"
#include "vigil/policy/policy.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

long status_kb(const char* field) {
  std::istringstream status(read("/proc/self/status"));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::string(field).size());
  }
  return 0;
}

struct Lynis {
  double seconds = 0;
  int tests = 0;
};

// One quick lynis audit, timed; zero when lynis is missing or skipped.
Lynis lynis_once() {
  static Lynis measured = [] {
    Lynis result;
    const char* wanted = std::getenv("VIGIL_BENCH_LYNIS");
    std::string lynis;
    for (const char* candidate : {"/usr/sbin/lynis", "/usr/bin/lynis"}) {
      if (std::filesystem::exists(candidate)) lynis = candidate;
    }
    if ((wanted != nullptr && std::string(wanted) == "0") || lynis.empty()) return result;
    vigil::test::TempDir dir;
    auto report = (dir.path() / "lynis.dat").string();
    auto started = Clock::now();
    auto run = vigil::test::run({lynis, "audit", "system", "--quick", "--no-colors", "--logfile",
                                 (dir.path() / "lynis.log").string(), "--report-file", report});
    result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    std::smatch found;
    std::string out = run.out;
    if (std::regex_search(out, found, std::regex("Tests performed\\s*:\\s*(\\d+)"))) result.tests = std::stoi(found[1]);
    return result;
  }();
  return measured;
}

void BM_Debian12Policy(benchmark::State& state) {
  std::string text = read(std::string(VIGIL_SOURCE_DIR) + "/samples/policies/debian12-hardening.yaml");
  long rss_before = status_kb("VmHWM:");
  size_t controls = 0;
  std::map<vigil::policy::Outcome, int> outcomes;
  auto started = Clock::now();
  int64_t runs = 0;
  for (auto _ : state) {
    auto policies = vigil::policy::parse_policies(text, "debian12-hardening.yaml");
    vigil::policy::Environment environment;
    outcomes.clear();
    for (const auto& control : policies[0].controls) ++outcomes[vigil::policy::evaluate(control, environment).outcome];
    controls = policies[0].controls.size();
    ++runs;
  }
  double seconds = std::chrono::duration<double>(Clock::now() - started).count() / static_cast<double>(runs);
  state.counters["controls"] = static_cast<double>(controls);
  state.counters["ms"] = seconds * 1000;
  state.counters["errors"] = outcomes[vigil::policy::Outcome::kError];
  state.counters["peak_rss_growth_kb"] = static_cast<double>(status_kb("VmHWM:") - rss_before);
  Lynis lynis = lynis_once();
  if (lynis.seconds > 0) {
    state.counters["lynis_s"] = lynis.seconds;
    state.counters["lynis_tests"] = lynis.tests;
    state.counters["x_lynis"] = lynis.seconds / seconds;
  }
}

// The share of the above that is reading the YAML.
void BM_Debian12Policy_ParseOnly(benchmark::State& state) {
  std::string text = read(std::string(VIGIL_SOURCE_DIR) + "/samples/policies/debian12-hardening.yaml");
  for (auto _ : state) benchmark::DoNotOptimize(vigil::policy::parse_policies(text, "debian12-hardening.yaml"));
}

BENCHMARK(BM_Debian12Policy)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Debian12Policy_ParseOnly)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
