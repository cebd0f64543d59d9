// The Vulnerability Management plugin through a real vigild, on a dpkg
// database under a temp root: a vulnerable package gives a finding, and once
// the package is fixed the finding's removal travels in the delta.
#include "daemon_fixture.h"
#include "store/config_table.h"
#include "store/state_store.h"

namespace vigil::test {
namespace {

void write_status(const std::filesystem::path& root, const std::string& openssl_version) {
  std::filesystem::create_directories(root / "var/lib/dpkg");
  std::ofstream(root / "var/lib/dpkg/status")
      << "Package: openssl\nStatus: install ok installed\nArchitecture: amd64\nVersion: " << openssl_version
      << "\n\nPackage: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b8\n";
}

TEST(VulnerabilityManagement, AFixedPackageRemovesItsFindingInTheDelta) {
  TempDir dir;
  auto agent = dir.path() / "agent";
  auto system = dir.path() / "system";  // the machine the plugin inspects
  write_status(system, "3.0.11-1~deb12u1");
  install_plugins(agent, {VM_PLUGIN_PATH});
  {
    auto store = StateStore::open(agent / "var/lib/vigil/config.db");
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(store.value()->config().set("vm.Root", system.string()).ok());
  }
  Daemon daemon(agent);
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  auto manifest = dir.path() / "vm.manifest";
  std::ofstream(manifest) << R"({"rules": [
    {"id": "OSSL-1", "title": "openssl before 3.0.11-1~deb12u2", "severity": 4, "cves": ["CVE-2023-5678"],
     "fixed_in": "3.0.11-1~deb12u2",
     "when": {"package": {"name": "openssl", "before": "3.0.11-1~deb12u2"}}},
    {"id": "BASH-1", "title": "bash before 4", "severity": 5, "when": {"package": {"name": "bash", "before": "4"}}}]})";
  ASSERT_EQ(vigilctl(agent, {"manifest", "set", "--module", "vm", "--file", manifest.string()}).exit_code, 0);
  auto findings = [&] {
    auto scanned = vigilctl(agent, {"demand", "--type", "vm", "--wait"});
    EXPECT_EQ(scanned.exit_code, 0) << scanned.err;
    auto results = vigilctl(agent, {"results", "--module", "vm", "--json"});
    json report = json::parse(results.out);
    return report["rows"];
  };
  json first = findings();
  ASSERT_EQ(first.size(), 1u) << first.dump();
  EXPECT_EQ(first[0]["key"]["rule_id"], "OSSL-1");
  EXPECT_EQ(first[0]["values"]["evidence"], "openssl 3.0.11-1~deb12u1 < 3.0.11-1~deb12u2");

  write_status(system, "3.0.11-1~deb12u2");
  EXPECT_TRUE(findings().empty());
  // The last delta delivered says the finding was removed.
  json delta = last_uploaded_delta(agent);
  ASSERT_EQ(delta["removed"].size(), 1u) << delta.dump();
  EXPECT_EQ(delta["removed"][0]["key"]["rule_id"], "OSSL-1");
}

TEST(VulnerabilityManagement, AMalformedManifestFailsTheScanAndTheAgentStaysUp) {
  TempDir agent;
  install_plugins(agent.path(), {VM_PLUGIN_PATH});
  Daemon daemon(agent.path());
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  auto manifest = agent.path() / "vm.manifest";
  std::ofstream(manifest) << R"({"rules": [{"id": "X", "title": "t", "severity": 7, "when": {"kernel": {}}}]})";
  ASSERT_EQ(vigilctl(agent.path(), {"manifest", "set", "--module", "vm", "--file", manifest.string()}).exit_code, 0);
  auto scanned = vigilctl(agent.path(), {"demand", "--type", "vm", "--wait"});
  EXPECT_NE(scanned.exit_code, 0);
  EXPECT_NE(scanned.err.find("rule 1 (X): 'severity' must be an integer 1-5"), std::string::npos) << scanned.err;
  EXPECT_EQ(vigilctl(agent.path(), {"status"}).exit_code, 0);
}

}  // namespace
}  // namespace vigil::test
