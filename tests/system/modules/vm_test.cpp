// The Vulnerability Management plugin through a real vigild, on a dpkg
// database under a temp root: a vulnerable package gives a finding, and once
// the package is fixed the finding's removal travels in the delta.
#include <map>

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
  set_agent_config(agent, "vm.Root", system.string());
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

// Advisories for a standalone agent: vigilctl reads the tracker's JSON, keeps
// this machine's release and sends the manifest (in parts: it is over the
// control socket's 1 MiB line); the scan reports each binary package the
// advisory's source package affects, compared by the source version.
TEST(VulnerabilityManagement, AdvisoriesFromTheTrackerFindWhatDpkgOrdersBeforeTheFix) {
  TempDir dir;
  auto agent = dir.path() / "agent";
  auto system = dir.path() / "system";
  for (const auto& root : {agent, system}) {
    std::filesystem::create_directories(root / "etc");
    std::ofstream(root / "etc/os-release") << "ID=debian\nVERSION_ID=\"12\"\n";
  }
  std::filesystem::create_directories(system / "var/lib/dpkg");
  std::ofstream(system / "var/lib/dpkg/status")
      << "Package: openssl\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.0.11-1~deb12u1\n\n"
      << "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\n"
      << "Version: 3.0.11-1~deb12u1\n\n"
      << "Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b8\n";
  json tracker = {
      {"openssl",
       {{"CVE-2099-0001",
         {{"description", "fixed after us"},
          {"releases",
           {{"bookworm", {{"status", "resolved"}, {"fixed_version", "3.0.11-1~deb12u2"}, {"urgency", "high"}}},
            {"bullseye", {{"status", "resolved"}, {"fixed_version", "1.1.1w-0+deb11u1"}, {"urgency", "high"}}}}}}},
        {"CVE-2099-0002",
         {{"releases",
           {{"bookworm", {{"status", "resolved"}, {"fixed_version", "3.0.11-1~deb12u1"}, {"urgency", "low"}}}}}}}}},
      {"bash", {{"CVE-2099-0003", {{"releases", {{"bookworm", {{"status", "open"}, {"urgency", "medium"}}}}}}}}}};
  // Many advisories for packages not installed: a manifest of several MB.
  for (int i = 0; i < 20000; ++i) {
    tracker["pad" + std::to_string(i)]["CVE-2099-" + std::to_string(10000 + i)] = {
        {"description", std::string(80, 'd')},
        {"releases", {{"bookworm", {{"status", "resolved"}, {"fixed_version", "1.0-1"}, {"urgency", "low"}}}}}};
  }
  auto file = dir.path() / "tracker.json";
  std::ofstream(file) << tracker.dump();
  install_plugins(agent, {VM_PLUGIN_PATH});
  set_agent_config(agent, "vm.Root", system.string());
  Daemon daemon(agent);
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  auto set = vigilctl(agent, {"manifest", "set", "--module", "vm", "--advisories", file.string()});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_NE(set.out.find("20003 advisories for debian:12 (1 for other releases left out)"), std::string::npos)
      << set.out;
  auto scanned = vigilctl(agent, {"demand", "--type", "vm", "--wait"});
  ASSERT_EQ(scanned.exit_code, 0) << scanned.err << daemon.log();
  auto results = vigilctl(agent, {"results", "--module", "vm", "--table", "vulnerabilities", "--json"});
  ASSERT_EQ(results.exit_code, 0) << results.err;
  std::map<std::string, json> found;
  json report = json::parse(results.out);  // named: a loop over a temporary's member would dangle
  for (const json& row : report["rows"]) {
    found[row["key"]["advisory"].get<std::string>() + " " + row["key"]["package"].get<std::string>()] = row["values"];
  }
  ASSERT_EQ(found.size(), 3u) << results.out;
  json libssl = found["CVE-2099-0001 libssl3"];
  EXPECT_EQ(libssl["source"], "openssl");
  EXPECT_EQ(libssl["fixed_version"], "3.0.11-1~deb12u2");
  EXPECT_EQ(libssl["severity"], "high");
  EXPECT_EQ(libssl["evidence"], "libssl3 3.0.11-1~deb12u1 (source openssl 3.0.11-1~deb12u1) < fixed 3.0.11-1~deb12u2");
  EXPECT_TRUE(found.count("CVE-2099-0001 openssl"));
  EXPECT_EQ(found["CVE-2099-0003 bash"]["fix"], "not fixed yet (open)");
  EXPECT_EQ(found["CVE-2099-0003 bash"]["fixed_version"], "");

  // Advisories of another release are never compared: the scan fails naming both releases.
  std::ofstream(system / "etc/os-release") << "ID=ubuntu\nVERSION_ID=\"22.04\"\n";
  auto other = vigilctl(agent, {"demand", "--type", "vm", "--wait"});
  EXPECT_NE(other.exit_code, 0);
  EXPECT_NE(other.err.find("the advisories are for debian:12, this machine is ubuntu:22.04"), std::string::npos)
      << other.err;
}

}  // namespace
}  // namespace vigil::test
