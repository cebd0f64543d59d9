// vigilctl health against real processes on 127.0.0.1: every overall health
// produced for real (not installed, not provisioned, service down, platform
// unreachable, a dead proxy, a refused plugin, all good), the reports it
// writes, and its wall time.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <iostream>

#include "health/health_fixture.h"
#include "proxy_servers.h"
#include "vigil/sqlite/sqlite.h"

namespace vigil::test {
namespace {

namespace fs = std::filesystem;

struct HealthRun {
  int exit_code = -1;
  json report;
  std::string err;
  double seconds = 0;  // vigilctl's whole run, process start included
};

// Whether Debian's python3-jsonschema can check reports against docs/health-report.schema.json.
bool schema_checker_available() {
  static const bool available =
      fs::exists("/usr/bin/python3") && run({"/usr/bin/python3", "-c", "import jsonschema"}).exit_code == 0;
  return available;
}

// The schema's complaints about `report` (empty: it conforms).
std::string schema_errors(const json& report) {
  static const char* kCheck =
      "import json, sys, jsonschema\n"
      "schema = json.load(open(sys.argv[1]))\n"
      "jsonschema.Draft202012Validator.check_schema(schema)\n"
      "report = json.load(open(sys.argv[2]))\n"
      "for error in jsonschema.Draft202012Validator(schema).iter_errors(report):\n"
      "    print('/'.join(map(str, error.absolute_path)) + ': ' + error.message)\n";
  TempDir dir;
  fs::path file = dir.path() / "report.json";
  std::ofstream(file) << report.dump();
  auto checked = run({"/usr/bin/python3", "-c", kCheck,
                      std::string(VIGIL_SOURCE_DIR) + "/docs/health-report.schema.json", file.string()});
  return checked.exit_code == 0 ? checked.out : "the schema check failed: " + checked.err;
}

// vigilctl health --json; every report is also checked against its schema.
HealthRun health(const fs::path& root, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"health", "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto started = std::chrono::steady_clock::now();
  CommandResult result = vigilctl(root, args);
  HealthRun run;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  run.exit_code = result.exit_code;
  run.err = result.err;
  run.report = json::parse(result.out, nullptr, false);
  if (run.report.is_object() && schema_checker_available()) {
    EXPECT_EQ(schema_errors(run.report), "") << run.report.dump(2);
  }
  return run;
}

// The findings of `run` with `code`.
std::vector<json> findings(const HealthRun& run, const std::string& code) {
  std::vector<json> found;
  if (!run.report.is_object()) return found;
  for (const auto& error : run.report["errors"]) {
    if (error["code"] == code) found.push_back(error);
  }
  return found;
}

json step(const HealthRun& run, const std::string& name) {
  for (const auto& entry : run.report["steps"]) {
    if (entry["name"] == name) return entry;
  }
  return nullptr;
}

std::string codes(const HealthRun& run) {
  std::string text;
  if (!run.report.is_object()) return "no report; stderr: " + run.err;
  for (const auto& error : run.report["errors"]) text += error["code"].get<std::string>() + " ";
  return text + "\n" + run.report.dump(2);
}

TEST(HealthNotInstalled, AnEmptyRootIsNotInstalledAndGetsNoReportFiles) {
  TempDir dir;
  HealthRun run = health(dir.path());
  EXPECT_EQ(run.exit_code, 6) << codes(run);
  EXPECT_EQ(run.report["overall"], "Not Installed") << codes(run);
  ASSERT_EQ(findings(run, "not-set-up").size(), 1u) << codes(run);
  EXPECT_NE(findings(run, "not-set-up")[0]["fix"].get<std::string>().find("vigilctl provision"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir.path() / "var/log/vigil/HealthCheck"));
  EXPECT_FALSE(fs::exists(dir.path() / "var/lib/vigil/config.db"));  // looking set nothing up
}

TEST(HealthNotProvisioned, AStandaloneAgentIsNotProvisionedAndTheReportsAreWritten) {
  TempDir dir;
  install_plugins(dir.path(), {plugin("test_scanner")});
  Daemon daemon(dir.path());
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  HealthRun run = health(dir.path());
  EXPECT_EQ(run.exit_code, 5) << codes(run);
  EXPECT_EQ(run.report["overall"], "Not Provisioned");
  EXPECT_EQ(step(run, "service")["outcome"], "ok") << codes(run);
  EXPECT_EQ(step(run, "connectivity")["outcome"], "skipped");
  EXPECT_EQ(step(run, "plugin_update_trust")["outcome"], "skipped");
  fs::path reports = dir.path() / "var/log/vigil/HealthCheck";
  int files = 0;
  for (const auto& entry : fs::directory_iterator(reports)) {
    struct stat info {};
    ASSERT_EQ(::stat(entry.path().c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0640u) << entry.path();
    ++files;
    if (entry.path().extension() == ".json") {
      std::ifstream in(entry.path());
      json written = json::parse(in, nullptr, false);
      EXPECT_EQ(written["overall"], "Not Provisioned");
      EXPECT_EQ(written["schema_version"], 1);
    }
  }
  EXPECT_EQ(files, 2);
}

TEST_F(HealthTest, Good_WhenEverythingWorks_InUnderASecond) {
  start_provisioned_agent();
  HealthRun run = health(root());
  EXPECT_EQ(run.exit_code, 0) << codes(run);
  EXPECT_EQ(run.report["overall"], "Good") << codes(run);
  EXPECT_EQ(step(run, "plugin_update_trust")["outcome"], "ok") << codes(run);
  EXPECT_EQ(step(run, "plugin_update_trust")["details"]["pinned"], true);
  EXPECT_TRUE(run.report["daemon_running"]);
  EXPECT_TRUE(run.report["provisioned"]);
  EXPECT_FALSE(run.report["ids"]["agent_id"].get<std::string>().empty());
  EXPECT_EQ(run.report["ids"]["activation_id"], "********");
  EXPECT_EQ(run.report.dump().find(platform_->activation_id()), std::string::npos);
  EXPECT_GT(run.report["memory"]["working_set_bytes"].get<int64_t>(), 0);
  EXPECT_GT(run.report["disk_used"]["data_bytes"].get<int64_t>(), 0);
  EXPECT_GT(run.report["free_disk"]["free_bytes"].get<int64_t>(), 0);
  json connectivity = step(run, "connectivity");
  EXPECT_EQ(connectivity["details"]["route_taken"], "direct") << codes(run);
  EXPECT_TRUE(connectivity["details"]["routes"][0]["reached"]);
  json certificates = step(run, "certificates");
  EXPECT_GT(certificates["details"]["platform_certificate"]["days_left"].get<int64_t>(), 14) << codes(run);
  json modules = step(run, "modules")["details"]["modules"];
  ASSERT_EQ(modules.size(), 1u) << codes(run);
  EXPECT_EQ(modules[0]["module"], "testscan");
  EXPECT_TRUE(modules[0]["enabled"]);
  EXPECT_FALSE(modules[0]["last_scan"].is_null());
  EXPECT_EQ(modules[0]["interval_seconds"], 3600);
  EXPECT_EQ(modules[0]["health"], "ok");
  std::cout << "[ MEASURE ] vigilctl health: " << run.report["wall_seconds"].get<double>() << " s inside the check, "
            << run.seconds << " s for the whole process\n";
  // The goal is under 1 s; the bound leaves room for a loaded 2-core test machine.
  EXPECT_LT(run.report["wall_seconds"].get<double>(), 2.0);
  // The console report numbers the steps and ends with the overall health.
  auto console = vigilctl(root(), {"health"});
  EXPECT_EQ(console.exit_code, 0) << console.out;
  EXPECT_NE(console.out.find(" 6. Backend connectivity"), std::string::npos) << console.out;
  EXPECT_NE(console.out.find("overall health: Good"), std::string::npos) << console.out;
}

TEST_F(HealthTest, Reports_ConformToTheirSchema_AndTheSchemaCatchesADeviation) {
  if (!schema_checker_available()) {
    GTEST_SKIP() << "python3-jsonschema is not installed (scripts/bootstrap installs it): reports are not checked "
                    "against docs/health-report.schema.json";
  }
  HealthRun unprovisioned = health(root());  // checked inside health()
  EXPECT_EQ(unprovisioned.report["overall"], "Not Provisioned");
  start_provisioned_agent();
  HealthRun good = health(root());
  EXPECT_EQ(good.report["overall"], "Good") << codes(good);
  // A report that breaks the contract is refused, naming the field: the check can fail.
  json broken = good.report;
  broken["errors"].push_back(
      {{"code", "Not A Code"}, {"severity", "fatal"}, {"step", "x"}, {"description", "d"}, {"fix", "f"}});
  broken.erase("timestamp");
  std::string complaints = schema_errors(broken);
  EXPECT_NE(complaints.find("'timestamp' is a required property"), std::string::npos) << complaints;
  EXPECT_NE(complaints.find("/code: 'Not A Code' does not match"), std::string::npos) << complaints;
  EXPECT_NE(complaints.find("/severity: 'fatal' is not one of"), std::string::npos) << complaints;
}

TEST_F(HealthTest, PatchConnectivity_AKnownFileIsVerified_OneThatArrivesChangedIsCritical) {
  start_provisioned_agent();
  HealthRun run;
  // The file is known once the agent verified the platform's update metadata (after its first check-in).
  ASSERT_TRUE(eventually([&] {
    run = health(root());
    return step(run, "patch_connectivity")["outcome"] == "ok";
  })) << step(run, "patch_connectivity").dump(2);
  json patch = step(run, "patch_connectivity")["details"];
  EXPECT_EQ(patch["file"].get<std::string>().rfind("update metadata snapshot v", 0), 0u) << patch.dump();
  ASSERT_EQ(patch["routes"].size(), 1u) << patch.dump();
  EXPECT_TRUE(patch["routes"][0]["verified"]);
  EXPECT_GT(patch["routes"][0]["bytes"].get<int64_t>(), 0);

  // The platform now serves other bytes of the same length for that version, as a rewriting proxy would.
  {
    sqlite::Database db((platform_->data() / "platform.db").string());
    sqlite::Statement(db,
                      "UPDATE update_metadata SET bytes = CAST(substr(bytes, 1, length(bytes) - 1) || 'X' AS BLOB) "
                      "WHERE role = 'snapshot'")
        .run();
  }
  run = health(root());
  EXPECT_EQ(step(run, "patch_connectivity")["outcome"], "critical") << step(run, "patch_connectivity").dump(2);
  EXPECT_NE(codes(run).find("patch-download-altered"), std::string::npos) << codes(run);
  EXPECT_EQ(run.report["overall"], "Bad");
}

TEST_F(HealthTest, Bad_ServiceDown_ReadsTheStoreAndSaysSo) {
  start_provisioned_agent();
  daemon_->stop();
  HealthRun run = health(root());
  EXPECT_EQ(run.exit_code, 4) << codes(run);
  EXPECT_EQ(run.report["overall"], "Bad");
  EXPECT_NE(run.err.find("vigild is not running; read from the state store"), std::string::npos) << run.err;
  ASSERT_EQ(findings(run, "service-down").size(), 1u) << codes(run);
  EXPECT_NE(findings(run, "service-down")[0]["fix"].get<std::string>().find("systemctl start vigild"),
            std::string::npos);
  // What the store knows still shows: the platform answers, the module and its last scan.
  EXPECT_EQ(step(run, "connectivity")["details"]["route_taken"], "direct") << codes(run);
  json modules = step(run, "modules")["details"]["modules"];
  ASSERT_EQ(modules.size(), 1u) << codes(run);
  EXPECT_EQ(modules[0]["module"], "testscan");
  EXPECT_FALSE(modules[0]["last_scan"].is_null());
}

TEST_F(HealthTest, Bad_PlatformUnreachable_NamesTheRouteAndTheFix) {
  start_provisioned_agent();
  platform_->kill(SIGKILL);
  HealthRun run = health(root(), {"--timeout", "1"});
  EXPECT_EQ(run.exit_code, 4) << codes(run);
  auto unreachable = findings(run, "platform-unreachable");
  ASSERT_EQ(unreachable.size(), 1u) << codes(run);
  EXPECT_EQ(unreachable[0]["severity"], "critical");
  EXPECT_NE(unreachable[0]["description"].get<std::string>().find("direct"), std::string::npos) << codes(run);
  EXPECT_NE(unreachable[0]["fix"].get<std::string>().find("nothing listens at " + platform_->url()), std::string::npos)
      << codes(run);
  EXPECT_LT(run.report["wall_seconds"].get<double>(), 3.0);
}

TEST_F(HealthTest, Poor_ADeadProxy_WhileTheAgentGetsThroughALiveOne) {
  ProxyServer live(dir_.path() / "proxy", {});
  if (!live.unavailable().empty()) GTEST_SKIP() << "no proxy to test with: " << live.unavailable();
  start_provisioned_agent();
  std::string dead = "http://127.0.0.1:" + std::to_string(refused_port());
  auto set = vigilctl(root(), {"proxy", "--url", dead + ";" + live.url()});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  HealthRun run = health(root());
  EXPECT_EQ(run.exit_code, 3) << codes(run);
  EXPECT_EQ(run.report["overall"], "Poor");
  auto dead_proxy = findings(run, "proxy-unreachable");
  ASSERT_EQ(dead_proxy.size(), 1u) << codes(run);
  EXPECT_NE(dead_proxy[0]["description"].get<std::string>().find(dead), std::string::npos) << codes(run);
  EXPECT_NE(dead_proxy[0]["fix"].get<std::string>().find("proxy"), std::string::npos);
  json routes = step(run, "connectivity")["details"];
  EXPECT_EQ(routes["route_taken"], "proxy " + live.url() + " (ProxyUrls)") << codes(run);
  EXPECT_EQ(routes["routes"].size(), 3u);  // direct, the dead proxy, the live one
  EXPECT_GT(live.connects(), 0u);
  EXPECT_EQ(run.report["proxy"]["urls"].size(), 2u);
}

TEST_F(HealthTest, Poor_ARefusedPluginWhileTheOtherModuleWorks) {
  install_plugins(root(), {plugin("broken_major")});
  start_provisioned_agent();
  HealthRun run = health(root());
  EXPECT_EQ(run.exit_code, 3) << codes(run);
  auto refused = findings(run, "plugin-refused");
  ASSERT_EQ(refused.size(), 1u) << codes(run);
  EXPECT_NE(refused[0]["description"].get<std::string>().find("broken_major"), std::string::npos) << codes(run);
  EXPECT_EQ(step(run, "modules")["details"]["working"], 1);
}

}  // namespace
}  // namespace vigil::test
