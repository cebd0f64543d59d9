// Advisories through the platform (docs/vulnerability-management.md): OSV
// imported once, published per OS release; the agent names its release,
// gets that release's advisories only, and its findings reach the platform.
#include <gtest/gtest.h>

#include "platform_link_fixture.h"
#include "store/manifests.h"

namespace vigil::test {
namespace {

class AdvisoriesTest : public PlatformLinkFixture {
 protected:
  void SetUp() override {
    PlatformLinkFixture::SetUp();
    if (HasFatalFailure()) return;
    // The machine the VM plugin inspects: Debian 12 with openssl and libssl3 (built from openssl).
    fs::path system = dir_.path() / "system";
    for (const auto& root : {agent_root(), system}) {
      fs::create_directories(root / "etc");
      std::ofstream(root / "etc/os-release") << "ID=debian\nVERSION_ID=\"12\"\n";
    }
    fs::create_directories(system / "var/lib/dpkg");
    std::ofstream(system / "var/lib/dpkg/status")
        << "Package: openssl\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.0.11-1~deb12u1\n\n"
        << "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\n"
        << "Version: 3.0.11-1~deb12u1\n";
    install_plugins(agent_root(), {VM_PLUGIN_PATH});
    set_config(agent_root(), "vm.Root", system.string());
  }

  fs::path osv_file(const std::string& name, const json& advisories) {
    fs::path file = dir_.path() / name;
    std::ofstream(file) << advisories.dump();
    return file;
  }
  static json advisory(const std::string& id, const std::string& ecosystem, const std::string& fixed) {
    return {{"id", id},
            {"summary", id + " summary"},
            {"affected",
             {{{"package", {{"ecosystem", ecosystem}, {"name", "openssl"}}},
               {"ranges", {{{"type", "ECOSYSTEM"}, {"events", {{{"introduced", "0"}}, {{"fixed", fixed}}}}}}}}}}};
  }
};

TEST_F(AdvisoriesTest, EachAgentGetsItsReleasesAdvisoriesAndItsFindingsReachThePlatform) {
  auto file = osv_file("osv.json", json::array({advisory("DSA-9001-1", "Debian:12", "3.0.11-1~deb12u2"),
                                                advisory("DLA-9002-1", "Debian:11", "1.1.1w-0+deb11u2"),
                                                advisory("USN-9003-1", "Ubuntu:22.04:LTS", "3.0.2-0ubuntu1.99")}));
  json imported = platform_->admin_json({"advisories", "import", file.string()});
  EXPECT_EQ(imported["imported"], 3);
  EXPECT_EQ(imported["releases"], (json{{"debian:11", 1}, {"debian:12", 1}, {"ubuntu:22.04", 1}}));
  ASSERT_EQ(platform_->admin({"activate", "--key", platform_->activation_id(), "--module", "vm"}).exit_code, 0);

  start_agent(agent_root());
  ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0) << daemon_->log();
  std::string id = agent_id_of(agent_root());
  ASSERT_TRUE(eventually([&] { return platform_results(id)["vm"]["vulnerabilities"].size() == 2; }, 30))
      << platform_results(id).dump() << daemon_->log();
  for (const json& row : platform_results(id)["vm"]["vulnerabilities"]) {
    EXPECT_EQ(row["key"]["advisory"], "DSA-9001-1");
    EXPECT_EQ(row["values"]["fixed_version"], "3.0.11-1~deb12u2");
  }
  // Only its own release's advisories were sent to it.
  auto store = StateStore::open(agent_root() / "var/lib/vigil/config.db");
  ASSERT_TRUE(store.ok());
  auto manifest = store.value()->manifests().get("vm", "vm-advisories");
  ASSERT_TRUE(manifest.ok() && manifest.value());
  EXPECT_NE(manifest.value()->body.find("release debian:12\n"), std::string::npos);
  EXPECT_EQ(manifest.value()->body.find("USN-9003-1"), std::string::npos);
  EXPECT_EQ(manifest.value()->body.find("DLA-9002-1"), std::string::npos);
}

// All or nothing: one advisory the importer cannot read exactly fails the
// import naming file, id and field, and nothing of the file is published.
TEST_F(AdvisoriesTest, AMalformedAdvisoryFailsTheWholeImport) {
  json bad = advisory("DSA-9004-1", "Debian:12", "3.0.11-1~deb12u3");
  bad["affected"][0]["ranges"][0]["events"][1] = {{"fixed", "3.0 final"}};
  auto file = osv_file("bad.json", json::array({advisory("DSA-9005-1", "Debian:12", "3.0.12-1"), bad}));
  auto refused = platform_->admin({"advisories", "import", file.string()});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("bad.json: DSA-9004-1.affected[0].ranges[0].events[1].fixed: version '3.0 final'"),
            std::string::npos)
      << refused.err;
  json listed = platform_->admin_json({"advisories", "list"});
  EXPECT_TRUE(listed["releases"].empty()) << listed.dump();
}

}  // namespace
}  // namespace vigil::test
