// The Inventory's packages table carries the packages of an RPM database next
// to dpkg's, on a database the test builds with rpmbuild and rpm under a temp root.
#include <gtest/gtest.h>

#include <filesystem>

#include "rpm_builder.h"
#include "test_support.h"
#include "vigil/inventory/sources.h"

namespace vigil::inventory {
namespace {

namespace fs = std::filesystem;

TEST(InventoryPackages, RpmPackagesAreRowsNextToDpkgs) {
  if (!test::have_rpm_tools()) GTEST_SKIP() << "rpm and rpmbuild are not installed here";
  test::TempDir work;
  fs::path root = work.path() / "root";
  test::make_rpm_root_with_two_packages(work.path(), root);
  ASSERT_FALSE(HasFatalFailure());
  size_t rpm_rows = 0;
  for (const auto& source : sources()) {
    if (source.table != "packages") continue;
    for (const auto& row : source.read(root).rows) rpm_rows += row.keys[0].second == "rpm";
  }
  EXPECT_EQ(rpm_rows, 2u);
}

}  // namespace
}  // namespace vigil::inventory
