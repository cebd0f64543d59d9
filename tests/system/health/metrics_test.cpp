// The metrics textfile of a running agent: written once MetricsTextfile is
// set, counting a real scan, and accepted by promtool.
#include <fstream>
#include <sstream>

#include "daemon_fixture.h"

namespace vigil::test {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(HealthMetrics, TheTextfileCountsARealScanAndPromtoolAcceptsIt) {
  TempDir dir;
  install_plugins(dir.path(), {plugin("test_scanner")});
  set_agent_config(dir.path(), "MetricsTextfile", "/metrics/vigil.prom");
  set_agent_config(dir.path(), "MetricsInterval", "1");
  Daemon daemon(dir.path());
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  fs::path manifest = dir.path() / "manifest";
  std::ofstream(manifest) << "row t a one\nrow t b two\nrow t c three\nevent e k1 v1\nevent e k2 v2\n";
  ASSERT_EQ(vigilctl(dir.path(), {"manifest", "set", "--module", "testscan", "--file", manifest.string()}).exit_code,
            0);
  auto scanned = vigilctl(dir.path(), {"demand", "--type", "testscan", "--wait"});
  ASSERT_EQ(scanned.exit_code, 0) << scanned.out << scanned.err;
  fs::path file = dir.path() / "metrics/vigil.prom";
  std::string text;
  ASSERT_TRUE(eventually(
      [&] {
        text = read_file(file);
        // The demand's scan, and the first interval scan the new manifest may have started.
        std::string line = "vigil_scans_total{module=\"testscan\",result=\"completed\"} ";
        size_t at = text.find(line);
        return at != std::string::npos && text.compare(at + line.size(), 2, "0\n") != 0;
      },
      10))
      << text << daemon.log();
  EXPECT_NE(text.find("vigil_last_scan_rows{module=\"testscan\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("vigil_worker_resident_memory_bytes "), std::string::npos);
  // Two events per scan, each in the outbox.
  EXPECT_NE(text.find("vigil_events_total{module=\"testscan\",fate=\"received\"} "), std::string::npos) << text;
  EXPECT_NE(text.find("vigil_events_total{module=\"testscan\",fate=\"lost\"} 0\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("vigil_checkin_age_seconds"), std::string::npos);  // no platform, no check-in
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool is not installed (Debian package prometheus; scripts/bootstrap installs it)";
  }
  auto checked = run({"/bin/sh", "-c", "promtool check metrics < " + file.string()});
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
  EXPECT_EQ(checked.out + checked.err, "") << text;
}

}  // namespace
}  // namespace vigil::test
