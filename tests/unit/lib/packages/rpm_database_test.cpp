// The RPM database reader on a real RPM database that the test builds with
// rpmbuild and rpm under a temp root; and a truncated one.
#include <gtest/gtest.h>

#include <fstream>

#include "rpm_builder.h"
#include "test_support.h"
#include "vigil/packages/rpm_database.h"

namespace vigil::packages {
namespace {

namespace fs = std::filesystem;

TEST(RpmDatabase, ReadsWhatRpmInstalled) {
  if (!test::have_rpm_tools()) GTEST_SKIP() << "rpm and rpmbuild are not installed here";
  test::TempDir work;
  fs::path root = work.path() / "root";
  test::make_rpm_root_with_two_packages(work.path(), root);
  ASSERT_FALSE(HasFatalFailure());
  std::string error;
  auto packages = read_rpm_database(root, &error);
  ASSERT_TRUE(packages) << error;
  ASSERT_EQ(packages->size(), 2u);
  std::map<std::string, std::string> versions;
  for (const auto& package : *packages) versions[package.name + "." + package.architecture] = package.evr;
  EXPECT_EQ(versions["vigil-alpha.noarch"], "2:1.2.3-4.el9");
  EXPECT_EQ(versions["vigil-beta.noarch"], "0:0.9-1");
}

TEST(RpmDatabase, MissingOrTruncatedDatabaseIsAnErrorNotACrash) {
  test::TempDir root;
  std::string error;
  EXPECT_FALSE(read_rpm_database(root.path(), &error));
  EXPECT_NE(error.find("no RPM database"), std::string::npos) << error;
  if (!test::have_rpm_tools()) GTEST_SKIP() << "rpm is not installed here";
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
