// The Inventory's packages table carries the packages of an RPM database next
// to dpkg's, on a database the test builds with rpmbuild and rpm under a temp root.
#include <gtest/gtest.h>

#include <filesystem>

#include "rpm_builder.h"
#include "sources.h"
#include "test_support.h"

namespace vigil::inventory {
namespace {

namespace fs = std::filesystem;

TEST(InventoryPackages, RpmPackagesAreRowsNextToDpkgs) {
  if (!test::have_rpm_tools()) GTEST_SKIP() << "rpm and rpmbuild are not installed here";
  test::TempDir work;
  fs::path root = work.path() / "root";
  fs::create_directories(root);
  ASSERT_EQ(test::run({"/usr/bin/rpm", "--root", root.string(), "--dbpath", "/var/lib/rpm", "--initdb"}).exit_code, 0);
  test::install_rpm(work.path(), root, "vigil-alpha", "2", "1.2.3", "4.el9");
  test::install_rpm(work.path(), root, "vigil-beta", "0", "0.9", "1");
  size_t rpm_rows = 0;
  for (const auto& source : sources()) {
    if (source.table != "packages") continue;
    for (const auto& row : source.read(root).rows) rpm_rows += row.keys[0].second == "rpm";
  }
  EXPECT_EQ(rpm_rows, 2u);
}

}  // namespace
}  // namespace vigil::inventory
