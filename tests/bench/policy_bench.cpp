// The policy engine on this machine: the CIS Debian 12 Level 1 and Level 2
// sample policies (no command checks) parsed and evaluated against /, with
// their peak memory and the share of the controls that walk every local
// filesystem (CIS 7.1.11, 7.1.12 and 6.3.3.6: counter ms_walks, the rest
// ms_without_walks);
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

// Whether a condition walks a whole filesystem (a find from /, the audit rules of every set-uid file).
bool walks_filesystems(const vigil::policy::Condition& condition) {
  if (condition.op != vigil::policy::Condition::Op::kCheck)
    return std::any_of(condition.children.begin(), condition.children.end(), walks_filesystems);
  const auto& check = condition.check;
  return (check.kind == "find" && check.path == "/") || check.every_setid_under == "/";
}

void BM_Policy(benchmark::State& state, const std::string& name) {
  std::string text = read(std::string(VIGIL_SOURCE_DIR) + "/samples/policies/" + name + ".yaml");
  long rss_before = status_kb("VmHWM:");
  size_t controls = 0;
  std::map<vigil::policy::Outcome, int> outcomes;
  double walking = 0;
  auto started = Clock::now();
  int64_t runs = 0;
  for (auto _ : state) {
    auto policies = vigil::policy::parse_policies(text, name + ".yaml");
    vigil::policy::Environment environment;
    outcomes.clear();
    for (const auto& control : policies[0].controls) {
      auto before = Clock::now();
      ++outcomes[vigil::policy::evaluate(control, environment).outcome];
      if (walks_filesystems(control.check)) walking += std::chrono::duration<double>(Clock::now() - before).count();
    }
    controls = policies[0].controls.size();
    ++runs;
  }
  double seconds = std::chrono::duration<double>(Clock::now() - started).count() / static_cast<double>(runs);
  state.counters["controls"] = static_cast<double>(controls);
  state.counters["ms"] = seconds * 1000;
  state.counters["ms_walks"] = walking * 1000 / static_cast<double>(runs);
  state.counters["ms_without_walks"] = (seconds - walking / static_cast<double>(runs)) * 1000;
  state.counters["pass"] = outcomes[vigil::policy::Outcome::kPass];
  state.counters["fail"] = outcomes[vigil::policy::Outcome::kFail];
  state.counters["n_a"] = outcomes[vigil::policy::Outcome::kNotApplicable];
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
void BM_PolicyParseOnly(benchmark::State& state, const std::string& name) {
  std::string text = read(std::string(VIGIL_SOURCE_DIR) + "/samples/policies/" + name + ".yaml");
  for (auto _ : state) benchmark::DoNotOptimize(vigil::policy::parse_policies(text, name + ".yaml"));
}

BENCHMARK_CAPTURE(BM_Policy, cis_level1, std::string("cis-debian12-level1"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Policy, cis_level2, std::string("cis-debian12-level2"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_PolicyParseOnly, cis_level1, std::string("cis-debian12-level1"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
