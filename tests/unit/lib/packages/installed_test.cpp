// Installed packages under both their names, from dpkg's status file and RPM's
// database alike.
#include "vigil/packages/installed.h"

#include <gtest/gtest.h>

#include "test_support.h"
#include "vigil/packages/dpkg_status.h"

namespace vigil {
namespace {

TEST(Packages, InstalledVersionsUnderBothNamesAndCrlfStatusFiles) {
  // A status file edited on Windows still reads (the CR goes with the blanks).
  auto status = packages::parse_dpkg_status(
      "Package: libc6\r\nStatus: install ok installed\r\nVersion: 2.36-9\r\nArchitecture: amd64\r\n"
      "Multi-Arch: same\r\n\r\n"
      "Package: libc6\nStatus: install ok installed\nVersion: 2.36-8\nArchitecture: i386\nMulti-Arch: same\n\n"
      "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n");
  EXPECT_TRUE(status.problems.empty());
  auto versions = packages::installed_versions(status);
  EXPECT_EQ(versions.at("libc6:amd64"), "2.36-9");
  EXPECT_EQ(versions.at("libc6:i386"), "2.36-8");
  EXPECT_EQ(versions.at("libc6"), "2.36-9");  // the first of a shared name
  EXPECT_EQ(versions.count("gone"), 0u);
  auto rpm = packages::installed_versions(std::vector<packages::RpmPackage>{{"bash", "5.1-2", "x86_64", "", 0}});
  EXPECT_EQ(rpm.at("bash"), "5.1-2");
  EXPECT_EQ(rpm.at("bash.x86_64"), "5.1-2");
  test::TempDir empty;
  auto installed = packages::read_installed_packages(empty.path());
  EXPECT_FALSE(installed.dpkg);
  EXPECT_FALSE(installed.rpm);
  EXPECT_NE(installed.dpkg_error.find("var/lib/dpkg/status"), std::string::npos);
}

}  // namespace
}  // namespace vigil
