// The health digest each check-in carries, seen from the platform's side: a
// real vigild checking in over TLS to the sample platform on 127.0.0.1, a
// module crashing into quarantine (Bad), then released (Good again).
#include <fstream>

#include "health/health_fixture.h"

namespace vigil::test {
namespace {

class CheckinHealth : public HealthTest {
 protected:
  // The platform's view of the one agent's health (admin agents), null before any.
  json platform_health() const {
    json agents = platform_->admin_json({"agents"});
    if (!agents.is_array() || agents.size() != 1) return nullptr;
    return agents[0]["health"];
  }
  bool platform_sees(const std::string& overall) const {
    json health = platform_health();
    return health.is_object() && health["overall"] == overall;
  }
  std::string manifest_file(const std::string& name, const std::string& text) {
    auto file = dir_.path() / name;
    std::ofstream(file) << text;
    return file.string();
  }
};

TEST_F(CheckinHealth, AModuleInQuarantineTurnsThePlatformsViewBad_ThenGoodAgain) {
  // Every worker start scans: once the manifest crashes it, each restart crashes again, into quarantine.
  set_agent_config(root(), "testscan.ScanOnStart", "1");
  start_provisioned_agent();
  ASSERT_TRUE(eventually([&] { return platform_sees("Good"); })) << platform_health().dump() << daemon_->log();
  json good = platform_health();
  EXPECT_EQ(good["findings"], 0);
  EXPECT_EQ(good["top_code"], "");
  EXPECT_GT(good["since"].get<int64_t>(), 0);

  auto crash =
      vigilctl(root(), {"manifest", "set", "--module", "testscan", "--file", manifest_file("crash", "crash\n")});
  // A new manifest is scanned at once: the worker may die before its reply.
  ASSERT_TRUE(crash.exit_code == 0 || crash.err.find("End of file") != std::string::npos ||
              crash.err.find("Connection reset") != std::string::npos)
      << crash.err;
  ASSERT_TRUE(eventually([&] { return platform_sees("Bad"); }, 60)) << platform_health().dump() << daemon_->log();
  json bad = platform_health();
  // The only module is quarantined: none works (critical), and it is quarantined (warning).
  EXPECT_EQ(bad["top_code"], "no-module-works") << bad.dump();
  EXPECT_EQ(bad["top_text"], "no enabled module works") << bad.dump();
  EXPECT_EQ(bad["findings"], 2) << bad.dump();
  auto table = platform_->admin({"agents", "--text"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("HEALTH"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("Bad (2): no-module-works: no enabled module works"), std::string::npos) << table.out;

  // Fixed (a harmless manifest, staged while quarantined) and released: Good again.
  auto fixed =
      vigilctl(root(), {"manifest", "set", "--module", "testscan", "--file", manifest_file("good", "row t a 1\n")});
  ASSERT_EQ(fixed.exit_code, 0) << fixed.err;
  auto released = vigilctl(root(), {"plugins", "release", "testscan"});
  ASSERT_EQ(released.exit_code, 0) << released.err;
  ASSERT_TRUE(eventually([&] { return platform_sees("Good"); }, 30)) << platform_health().dump() << daemon_->log();
  table = platform_->admin({"agents", "--text"});
  EXPECT_NE(table.out.find(" Good\n"), std::string::npos) << table.out;
}

}  // namespace
}  // namespace vigil::test
