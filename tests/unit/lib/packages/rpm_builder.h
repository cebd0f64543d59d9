// Packages built with the real rpmbuild and recorded with the real rpm in an
// RPM database under a temp root, for the tests of what reads that database.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "test_support.h"

namespace vigil::test {

// Builds a package NAME-VERSION-RELEASE (with EPOCH) and records it in <root>/var/lib/rpm.
inline void install_rpm(const std::filesystem::path& work, const std::filesystem::path& root, const std::string& name,
                        const std::string& epoch, const std::string& version, const std::string& release) {
  std::filesystem::path top = work / ("top-" + name);
  std::filesystem::create_directories(top / "SPECS");
  std::ofstream(top / "SPECS/package.spec")
      << "Name: " << name << "\nVersion: " << version << "\nRelease: " << release << "\nEpoch: " << epoch
      << "\nSummary: test\nLicense: MIT\nBuildArch: noarch\n"
         "%description\ntest\n%files\n";
  auto built = run({"/usr/bin/rpmbuild", "--define", "_topdir " + top.string(), "--define", "_dbpath /var/lib/rpm",
                    "-bb", (top / "SPECS/package.spec").string()});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  std::filesystem::path package = top / "RPMS/noarch" / (name + "-" + version + "-" + release + ".noarch.rpm");
  auto installed = run({"/usr/bin/rpm", "--root", root.string(), "--dbpath", "/var/lib/rpm", "-i", "--nodeps",
                        "--justdb", "--noscripts", package.string()});
  ASSERT_EQ(installed.exit_code, 0) << installed.err;
}

inline bool have_rpm_tools() {
  return std::filesystem::exists("/usr/bin/rpmbuild") && std::filesystem::exists("/usr/bin/rpm");
}

// An RPM database under <root> holding vigil-alpha 2:1.2.3-4.el9 and vigil-beta 0.9-1.
inline void make_rpm_root_with_two_packages(const std::filesystem::path& work, const std::filesystem::path& root) {
  std::filesystem::create_directories(root);
  ASSERT_EQ(run({"/usr/bin/rpm", "--root", root.string(), "--dbpath", "/var/lib/rpm", "--initdb"}).exit_code, 0);
  install_rpm(work, root, "vigil-alpha", "2", "1.2.3", "4.el9");
  install_rpm(work, root, "vigil-beta", "0", "0.9", "1");
}

}  // namespace vigil::test
