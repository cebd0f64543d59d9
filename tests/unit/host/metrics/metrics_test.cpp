// The metrics exposition: names and units by Prometheus' rules, checked by
// promtool itself (skipped with the reason when it is not installed), and
// the textfile written whole.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "metrics/exposition.h"
#include "test_support.h"

namespace vigil::metrics {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json sample_status() {
  return json::parse(R"({
    "daemon": {"running": true, "pid": 42, "version": "0.1.0", "started_at": 1000},
    "modules": [{"module": "inventory", "state": "idle"}, {"module": "bad\"mod", "state": "quarantined"}],
    "scans": {"inventory": {"completed": 3, "failed": 1, "cancelled": 0, "seconds_total": 2.5, "last_seconds": 0.75,
                            "last_rows": 1200, "last_delta": {"added": 4, "removed": 1, "changed": 2}}},
    "events": {"fim": {"received": 5000, "written": 4990, "lost": 10}},
    "outbox": {"depth": 2, "bytes": 4096, "dropped": 0, "set_aside": 1,
               "uploads": {"delivered": 10, "retried": 3, "refused": 1}},
    "platform": {"configured": true, "last_checkin": 1900, "checkin_interval": 900}
  })");
}

std::string rendered() {
  return render(sample_status(), {{"bad\"mod", 3}}, WorkerSample{7340032, 1.25}, 2000);
}

TEST(MetricsExposition, SaysWhatTheStatusSaysInBaseUnits) {
  std::string text = rendered();
  EXPECT_NE(text.find("vigil_scans_total{module=\"inventory\",result=\"completed\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("vigil_scans_total{module=\"inventory\",result=\"failed\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("vigil_scan_duration_seconds_total{module=\"inventory\"} 2.5\n"), std::string::npos);
  EXPECT_NE(text.find("vigil_last_scan_rows{module=\"inventory\"} 1200\n"), std::string::npos);
  EXPECT_NE(text.find("vigil_last_scan_delta_rows{module=\"inventory\",change=\"added\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("vigil_events_total{module=\"fim\",fate=\"received\"} 5000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("vigil_events_total{module=\"fim\",fate=\"lost\"} 10\n"), std::string::npos);
  EXPECT_NE(text.find("vigil_outbox_entries 2\n"), std::string::npos);
  EXPECT_NE(text.find("vigil_outbox_bytes 4096\n"), std::string::npos);
  EXPECT_NE(text.find("vigil_upload_failures_total{reason=\"transient\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("vigil_checkin_age_seconds 100\n"), std::string::npos);
  EXPECT_NE(text.find("vigil_plugin_crashes_total{module=\"bad\\\"mod\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("vigil_plugin_quarantined{module=\"bad\\\"mod\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("vigil_worker_resident_memory_bytes 7340032\n"), std::string::npos);
  EXPECT_NE(text.find("vigil_worker_cpu_seconds_total 1.25\n"), std::string::npos);
}

TEST(MetricsExposition, NamesFollowThePrometheusRules) {
  std::istringstream lines(rendered());
  std::regex type_line(R"(^# TYPE (\S+) (counter|gauge)$)");
  std::set<std::string> families;
  for (std::string line; std::getline(lines, line);) {
    std::smatch match;
    if (!std::regex_match(line, match, type_line)) continue;
    std::string name = match[1];
    families.insert(name);
    EXPECT_TRUE(name.starts_with("vigil_")) << name;
    EXPECT_EQ(name.ends_with("_total"), match[2] == "counter") << name << " is a " << match[2];
  }
  EXPECT_GE(families.size(), 15u);
}

TEST(MetricsExposition, PromtoolAcceptsIt) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool is not installed (Debian package prometheus; scripts/bootstrap installs it)";
  }
  test::TempDir dir;
  fs::path file = dir.path() / "vigil.prom";
  ASSERT_TRUE(write_textfile(file, rendered()).ok());
  auto checked = test::run({"/bin/sh", "-c", "promtool check metrics < " + file.string()});
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
  EXPECT_EQ(checked.out + checked.err, "") << "promtool's lint found problems";
}

TEST(MetricsTextfile, IsReplacedWholeWithModeForNodeExporter) {
  test::TempDir dir;
  fs::path file = dir.path() / "vigil.prom";
  ASSERT_TRUE(write_textfile(file, "first\n").ok());
  ASSERT_TRUE(write_textfile(file, rendered()).ok());
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), rendered());
  struct stat info {};
  ASSERT_EQ(::stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0644u);
  size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1u);  // no temporary file left behind
  auto refused = write_textfile(dir.path() / "missing" / "vigil.prom", "x\n");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("missing"), std::string::npos) << refused.error();
}

TEST(MetricsSelf, MeasuresThisProcess) {
  WorkerSample sample = sample_self();
  EXPECT_GT(sample.resident_bytes, 0);
  EXPECT_GE(sample.cpu_seconds, 0);
}

}  // namespace
}  // namespace vigil::metrics
