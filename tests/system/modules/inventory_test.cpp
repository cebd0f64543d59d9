// The Inventory plugin through a real vigild: its packages table equals what
// dpkg-query says is installed, and a bad manifest fails the scan with a
// reason while the agent stays up.
#include <set>
#include <sstream>

#include "daemon_fixture.h"

namespace vigil::test {
namespace {

class InventoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    install_plugins(root_.path(), {INVENTORY_PLUGIN_PATH});
    daemon_ = std::make_unique<Daemon>(root_.path());
    ASSERT_TRUE(daemon_->ready()) << daemon_->log();
  }
  CommandResult scan(const std::string& manifest) {
    auto file = root_.path() / "inv.manifest";
    std::ofstream(file) << manifest;
    auto stored = vigilctl(root_.path(), {"manifest", "set", "--module", "inv", "--file", file.string()});
    EXPECT_EQ(stored.exit_code, 0) << stored.err;
    return vigilctl(root_.path(), {"demand", "--type", "inv", "--wait"});
  }
  TempDir root_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(InventoryTest, PackagesEqualDpkgQueryExactly) {
  if (!std::filesystem::exists("/var/lib/dpkg/status")) GTEST_SKIP() << "no dpkg database on this machine";
  auto scanned = scan("packages version\nos\nusers\n");
  ASSERT_EQ(scanned.exit_code, 0) << scanned.err << daemon_->log();
  // One page of the largest size: a machine may have more packages than the default page (1000).
  auto results =
      vigilctl(root_.path(), {"results", "--module", "inv", "--table", "packages", "--json", "--limit", "10000"});
  ASSERT_EQ(results.exit_code, 0) << results.err;
  std::multiset<std::string> ours;
  json report = json::parse(results.out);  // named: iterating a member of a temporary would dangle
  for (const auto& row : report["rows"]) {
    ours.insert(row["key"]["name"].get<std::string>() + " " + row["values"]["version"].get<std::string>());
    EXPECT_FALSE(row["values"].contains("architecture"));  // the manifest kept only version
  }
  auto listed = run({"/usr/bin/dpkg-query", "-W", "-f=${binary:Package} ${Version} ${Status}\\n"});
  std::multiset<std::string> expected;
  std::istringstream lines(listed.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() <= 10 || line.substr(line.size() - 10) != " installed") continue;
    std::istringstream words(line);
    std::string name, version;
    words >> name >> version;
    expected.insert(name + " " + version);
  }
  EXPECT_EQ(ours, expected);
}

TEST_F(InventoryTest, ASecondUnchangedScanMakesAnEmptyDelta) {
  // Tables that do not move while the test runs (ports and mounts may).
  std::string manifest = "os\nhardware\nnames\npackages\nservices\nusers\ngroups\nkernel_modules\n";
  auto first = scan(manifest);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto second = vigilctl(root_.path(), {"demand", "--type", "inv", "--wait"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("delta +0 -0 ~0"), std::string::npos) << second.out;
}

TEST_F(InventoryTest, ABadManifestFailsTheScanNamingTheLineAndTheAgentStaysUp) {
  auto scanned = scan("os\nprinters\n");
  EXPECT_NE(scanned.exit_code, 0);
  EXPECT_NE(scanned.err.find("line 2: unknown table 'printers'"), std::string::npos) << scanned.err;
  auto fixed = scan("os\n");
  EXPECT_EQ(fixed.exit_code, 0) << fixed.err;
}

}  // namespace
}  // namespace vigil::test
