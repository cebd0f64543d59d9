// The RPM database reader on a real RPM database that the test builds with
// rpmbuild and rpm under a temp root; and a truncated one.
#include <gtest/gtest.h>

#include <fstream>

#include "sources.h"
#include "test_support.h"
#include "vigil/packages/rpm_database.h"

namespace vigil::packages {
namespace {

namespace fs = std::filesystem;

// Builds a package NAME-VERSION-RELEASE (with EPOCH) and records it in <root>/var/lib/rpm.
void install_rpm(const fs::path& work, const fs::path& root, const std::string& name, const std::string& epoch,
                 const std::string& version, const std::string& release) {
  fs::path top = work / ("top-" + name);
  fs::create_directories(top / "SPECS");
  std::ofstream(top / "SPECS/package.spec")
      << "Name: " << name << "\nVersion: " << version << "\nRelease: " << release << "\nEpoch: " << epoch
      << "\nSummary: test\nLicense: MIT\nBuildArch: noarch\n"
         "%description\ntest\n%files\n";
  auto built = test::run({"/usr/bin/rpmbuild", "--define", "_topdir " + top.string(), "--define",
                          "_dbpath /var/lib/rpm", "-bb", (top / "SPECS/package.spec").string()});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  fs::path package = top / "RPMS/noarch" / (name + "-" + version + "-" + release + ".noarch.rpm");
  auto installed = test::run({"/usr/bin/rpm", "--root", root.string(), "--dbpath", "/var/lib/rpm", "-i", "--nodeps",
                              "--justdb", "--noscripts", package.string()});
  ASSERT_EQ(installed.exit_code, 0) << installed.err;
}

bool have_rpm_tools() {
  return fs::exists("/usr/bin/rpmbuild") && fs::exists("/usr/bin/rpm");
}

TEST(RpmDatabase, ReadsWhatRpmInstalled) {
  if (!have_rpm_tools()) GTEST_SKIP() << "rpm and rpmbuild are not installed here";
  test::TempDir work;
  fs::path root = work.path() / "root";
  fs::create_directories(root);
  ASSERT_EQ(test::run({"/usr/bin/rpm", "--root", root.string(), "--dbpath", "/var/lib/rpm", "--initdb"}).exit_code, 0);
  install_rpm(work.path(), root, "vigil-alpha", "2", "1.2.3", "4.el9");
  install_rpm(work.path(), root, "vigil-beta", "0", "0.9", "1");
  std::string error;
  auto packages = read_rpm_database(root, &error);
  ASSERT_TRUE(packages) << error;
  ASSERT_EQ(packages->size(), 2u);
  std::map<std::string, std::string> versions;
  for (const auto& package : *packages) versions[package.name + "." + package.architecture] = package.evr;
  EXPECT_EQ(versions["vigil-alpha.noarch"], "2:1.2.3-4.el9");
  EXPECT_EQ(versions["vigil-beta.noarch"], "0:0.9-1");

  // The Inventory's packages table carries them next to dpkg's.
  size_t rpm_rows = 0;
  for (const auto& source : inventory::sources()) {
    if (source.table != "packages") continue;
    for (const auto& row : source.read(root).rows) rpm_rows += row.keys[0].second == "rpm";
  }
  EXPECT_EQ(rpm_rows, 2u);
}

TEST(RpmDatabase, MissingOrTruncatedDatabaseIsAnErrorNotACrash) {
  test::TempDir root;
  std::string error;
  EXPECT_FALSE(read_rpm_database(root.path(), &error));
  EXPECT_NE(error.find("no RPM database"), std::string::npos) << error;
  if (!have_rpm_tools()) GTEST_SKIP() << "rpm is not installed here";
  ASSERT_EQ(
      test::run({"/usr/bin/rpm", "--root", root.path().string(), "--dbpath", "/var/lib/rpm", "--initdb"}).exit_code, 0);
  for (const auto& file : fs::directory_iterator(root.path() / "var/lib/rpm")) {
    if (file.path().extension() == ".sqlite") fs::resize_file(file.path(), 100);
  }
  auto packages = read_rpm_database(root.path(), &error);
  ASSERT_FALSE(packages);
  EXPECT_NE(error.find("damaged RPM database"), std::string::npos) << error;
}

}  // namespace
}  // namespace vigil::packages
