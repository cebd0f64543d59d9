// The overall health rule, the report's JSON against docs/health.md, the
// report files, and the read-only store.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>

#include "health/digest.h"
#include "health/process_info.h"
#include "health/read_only_store.h"
#include "health/report.h"
#include "health/report_files.h"
#include "store/config_table.h"
#include "store/state_store.h"
#include "test_support.h"

namespace vigil::health {
namespace {

namespace fs = std::filesystem;

Finding finding(Severity severity) {
  return {"code", severity, "what", "fix"};
}

TEST(OverallHealth, TheFirstRuleThatAppliesDecides) {
  Finding critical = finding(Severity::kCritical), warning = finding(Severity::kWarning),
          info = finding(Severity::kInfo);
  EXPECT_EQ(overall_of(true, false, false, {&critical}), Overall::kToolError);
  EXPECT_EQ(overall_of(false, false, false, {&critical}), Overall::kNotInstalled);
  EXPECT_EQ(overall_of(false, true, false, {&critical}), Overall::kNotProvisioned);
  EXPECT_EQ(overall_of(false, true, true, {&warning, &critical}), Overall::kBad);
  EXPECT_EQ(overall_of(false, true, true, {&info, &warning}), Overall::kPoor);
  EXPECT_EQ(overall_of(false, true, true, {&info}), Overall::kGood);
  EXPECT_EQ(overall_of(false, true, true, {}), Overall::kGood);
}

TEST(OverallHealth, EachOverallHasItsOwnExitStatusAndNeverTheUsageError) {
  std::set<int> codes;
  for (Overall overall : {Overall::kGood, Overall::kPoor, Overall::kBad, Overall::kNotInstalled,
                          Overall::kNotProvisioned, Overall::kToolError}) {
    EXPECT_NE(exit_code(overall), 2) << overall_name(overall);
    codes.insert(exit_code(overall));
  }
  EXPECT_EQ(codes.size(), 6u);
  EXPECT_EQ(exit_code(Overall::kGood), 0);
}

Report sample_report() {
  Report report;
  Step ok{.name = "installed", .title = "Installed"};
  ok.lines.push_back("vigild: /usr/sbin/vigild");
  Step failing{.name = "service", .title = "Service running"};
  failing.add(Severity::kCritical, "service-down", "vigild is not running", "start it: systemctl start vigild");
  Step placeholder{.name = "plugin_update_trust", .title = "Plugin update trust"};
  placeholder.not_available = true;
  report.steps = {ok, failing, placeholder};
  report.facts["timestamp"] = "2026-12-02T09:40:00Z";
  return report;
}

TEST(HealthReport, TheConsoleNumbersTheStepsAndGivesEachFindingItsFix) {
  std::string text = console_text(sample_report());
  EXPECT_NE(text.find(" 1. Installed"), std::string::npos) << text;
  EXPECT_NE(text.find(" 2. Service running"), std::string::npos) << text;
  EXPECT_NE(text.find(" 3. Plugin update trust"), std::string::npos) << text;
  EXPECT_NE(text.find("not available"), std::string::npos) << text;
  EXPECT_NE(text.find("critical: vigild is not running [service-down]"), std::string::npos) << text;
  EXPECT_NE(text.find("fix: start it: systemctl start vigild"), std::string::npos) << text;
  EXPECT_NE(text.find("overall health: Bad"), std::string::npos) << text;
}

TEST(HealthReport, TheJsonCarriesEveryFindingWithCodeSeverityDescriptionAndFix) {
  nlohmann::json report = report_json(sample_report());
  EXPECT_EQ(report["schema_version"], kSchemaVersion);
  EXPECT_EQ(report["overall"], "Bad");
  EXPECT_EQ(report["exit_code"], 4);
  ASSERT_EQ(report["errors"].size(), 1u);
  EXPECT_EQ(report["errors"][0]["code"], "service-down");
  EXPECT_EQ(report["errors"][0]["severity"], "critical");
  EXPECT_EQ(report["errors"][0]["step"], "service");
  EXPECT_EQ(report["errors"][0]["fix"], "start it: systemctl start vigild");
  EXPECT_EQ(report["steps"][2]["outcome"], "not available");
  EXPECT_EQ(report["steps"][0]["number"], 1);
}

// The field table of docs/health.md's JSON section: `field` | what.
std::set<std::string> documented_fields() {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/docs/health.md");
  std::set<std::string> fields;
  std::string line;
  bool in_section = false;
  std::regex row(R"(^\| `([a-z_]+)` \|)");
  while (std::getline(in, line)) {
    if (line.starts_with("### The JSON report")) in_section = true;
    if (line.starts_with("### Finding codes")) in_section = false;
    std::smatch match;
    if (in_section && std::regex_search(line, match, row)) fields.insert(match[1]);
  }
  return fields;
}

TEST(HealthDocs, EveryTopLevelFieldIsDocumented) {
  // The facts a real run adds (facts.cpp, health_check.cpp), as their keys.
  Report report = sample_report();
  for (const char* fact : {"root", "ids", "free_disk", "disk_used", "cpu_seconds", "memory", "proxy", "provisioned"}) {
    report.facts[fact] = nullptr;
  }
  std::set<std::string> produced;
  nlohmann::json produced_json = report_json(report);  // named: iterating a temporary's items would dangle
  for (const auto& [key, value] : produced_json.items()) produced.insert(key);
  std::set<std::string> documented = documented_fields();
  ASSERT_FALSE(documented.empty()) << "no field table found in docs/health.md";
  EXPECT_EQ(produced, documented);
}

TEST(HealthDocs, EveryFindingCodeInTheSourcesIsDocumented) {
  std::ifstream doc_file(std::string(VIGIL_SOURCE_DIR) + "/docs/health.md");
  std::stringstream doc;
  doc << doc_file.rdbuf();
  std::regex code(R"re(Severity::k[A-Za-z]+,\s*"([a-z-]+)")re");
  int seen = 0;
  for (const auto& entry : fs::directory_iterator(std::string(VIGIL_SOURCE_DIR) + "/host/health")) {
    std::ifstream source(entry.path());
    std::stringstream text;
    text << source.rdbuf();
    std::string body = text.str();
    for (std::sregex_iterator it(body.begin(), body.end(), code), end; it != end; ++it) {
      ++seen;
      EXPECT_NE(doc.str().find("`" + (*it)[1].str() + "`"), std::string::npos)
          << (*it)[1] << " (" << entry.path().filename() << ") is not in docs/health.md's finding codes";
    }
  }
  EXPECT_GT(seen, 20);
}

TEST(ReportFiles, AreWrittenWholeWithTheLogsModeAndOnlyTheNewestAreKept) {
  test::TempDir dir;
  fs::path directory = dir.path() / "HealthCheck";
  Report report = sample_report();
  for (int i = 0; i < 12; ++i) {
    report.facts["timestamp"] = "2026-12-02T09:40:" + std::string(i < 10 ? "0" : "") + std::to_string(i) + "Z";
    auto written = write_reports(directory, report);
    ASSERT_TRUE(written.ok()) << written.error();
  }
  size_t texts = 0, jsons = 0;
  for (const auto& entry : fs::directory_iterator(directory)) {
    struct stat info {};
    ASSERT_EQ(::stat(entry.path().c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0640u) << entry.path();
    EXPECT_NE(entry.path().extension(), ".tmp");
    if (entry.path().extension() == ".txt") ++texts;
    if (entry.path().extension() == ".json") ++jsons;
  }
  EXPECT_EQ(texts, kKeptReports);
  EXPECT_EQ(jsons, kKeptReports);
  EXPECT_FALSE(fs::exists(directory / "health-20261202T094000Z.json"));  // the oldest went
  std::ifstream newest(directory / "health-20261202T094011Z.json");
  nlohmann::json parsed = nlohmann::json::parse(newest, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded());
  EXPECT_EQ(parsed["timestamp"], "2026-12-02T09:40:11Z");
}

TEST(ReadOnlyStore, ReadsTheAgentsStoreAndCannotWriteIt) {
  test::TempDir dir;
  fs::path db = dir.path() / "config.db";
  {
    auto store = StateStore::open(db);
    ASSERT_TRUE(store.ok()) << store.error();
    ASSERT_TRUE(store.value()->config().set("AgentId", "agent-1").ok());
  }
  auto before = fs::last_write_time(db);
  auto size = fs::file_size(db);
  auto store = ReadOnlyStore::open(db);
  ASSERT_TRUE(store.ok()) << store.error();
  auto id = store.value()->config().get("AgentId");
  ASSERT_TRUE(id.ok() && id.value());
  EXPECT_EQ(*id.value(), "agent-1");
  EXPECT_FALSE(store.value()->config().set("AgentId", "changed").ok());
  EXPECT_EQ(fs::last_write_time(db), before);
  EXPECT_EQ(fs::file_size(db), size);
}

TEST(ReadOnlyStore, RefusesWhatIsMissingAndNamesIt) {
  test::TempDir dir;
  auto store = ReadOnlyStore::open(dir.path() / "none.db");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().find("none.db"), std::string::npos) << store.error();
  EXPECT_FALSE(fs::exists(dir.path() / "none.db"));
}

TEST(ProcessInfo, ReadsThisProcess) {
  auto self = read_process(::getpid());
  ASSERT_TRUE(self.has_value());
  EXPECT_EQ(self->parent, ::getppid());
  EXPECT_GT(self->rss_bytes, 0);
  EXPECT_GE(self->peak_bytes, self->rss_bytes);
  EXPECT_GE(self->threads, 1);
  EXPECT_FALSE(read_process(0).has_value());
}

TEST(HealthDigest, CountsWarningsAndCriticalsAndNamesTheFirstMostSevere) {
  Report report;
  Step step{.name = "modules", .title = "Modules"};
  step.add(Severity::kInfo, "module-crashed", "crashed once", "see the log");
  step.add(Severity::kWarning, "module-quarantined", "module a is quarantined", "release it");
  step.add(Severity::kCritical, "no-module-works", "no enabled module works", "fix them");
  step.add(Severity::kCritical, "later-critical", "a second critical", "fix it");
  report.steps.push_back(step);
  Digest digest = digest_of(report, 1700000000);
  EXPECT_EQ(digest.overall, Overall::kBad);
  EXPECT_EQ(digest.findings, 3);  // the info finding does not count
  EXPECT_EQ(digest.top_code, "no-module-works");
  EXPECT_EQ(digest.top_text, "no enabled module works");
  EXPECT_EQ(digest.checked_at, 1700000000);
  EXPECT_EQ(digest_of(Report{}, 1).overall, Overall::kGood);
  EXPECT_EQ(digest_of(Report{}, 1).top_code, "");
}

TEST(HealthDigest, TheTextIsCutAtACharacterBoundary) {
  Report report;
  Step step{.name = "modules", .title = "Modules"};
  step.add(Severity::kWarning, "scan-overdue", std::string(kDigestTextBytes - 1, 'a') + "\u00e9 and more", "fix");
  report.steps.push_back(step);
  EXPECT_EQ(digest_of(report, 1).top_text, std::string(kDigestTextBytes - 1, 'a'));  // not half of the é
}

TEST(HealthDigest, TheRunningAgentsOwnStoreAndStatusDecide) {
  test::TempDir dir;
  Paths paths = Paths::under(dir.path());
  fs::create_directories(paths.data_dir);
  auto store = StateStore::open(dir.path() / "config.db");
  ASSERT_TRUE(store.ok()) << store.error();
  nlohmann::json status = {{"daemon", {{"pid", ::getpid()}}},
                           {"modules", {{{"module", "a"}, {"state", "quarantined"}, {"reason", "crashed 3 times"}}}},
                           {"outbox", {{"depth", 0}, {"bytes", 0}, {"dropped", 0}, {"set_aside", 0}}},
                           {"platform", {{"configured", true}, {"state", "backing off"}, {"last_error", "refused"}}}};
  Report report = check_running_agent(paths, StoreView(*store.value()), status, nlohmann::json::array());
  Digest digest = digest_of(report, 1);
  EXPECT_EQ(digest.overall, Overall::kBad);
  EXPECT_EQ(digest.top_code, "no-module-works");
  for (const Finding* finding : report.findings()) {
    // The link's own past is the platform's to judge: it sees the check-in that carries the digest.
    EXPECT_NE(finding->code, "link-failing");
    EXPECT_NE(finding->code, "never-checked-in");
  }
  status["modules"][0]["state"] = "idle";
  status["modules"][0]["kind"] = "scan";
  EXPECT_EQ(
      digest_of(check_running_agent(paths, StoreView(*store.value()), status, nlohmann::json::array()), 1).overall,
      Overall::kGood);
  // It runs at every check-in: it must stay cheap.
  constexpr int kRuns = 100;
  auto started = std::chrono::steady_clock::now();
  for (int run = 0; run < kRuns; ++run) check_running_agent(paths, StoreView(*store.value()), status, nullptr);
  double each = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count() / kRuns;
  std::cout << "[ MEASURE ] the check-in's health digest: " << each << " ms\n";
  EXPECT_LT(each, 50.0);
}

}  // namespace
}  // namespace vigil::health
