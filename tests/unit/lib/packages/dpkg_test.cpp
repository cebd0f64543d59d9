// Debian version ordering and the dpkg status reader, checked against dpkg
// itself on this machine: `dpkg --compare-versions` and `dpkg-query`.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "test_support.h"
#include "vigil/packages/dpkg_status.h"
#include "vigil/packages/dpkg_version.h"

namespace vigil::packages {
namespace {

bool have_dpkg() {
  return std::filesystem::exists("/usr/bin/dpkg") && std::filesystem::exists("/var/lib/dpkg/status");
}

// dpkg's answer: -1, 0 or 1.
int dpkg_compare(const std::string& a, const std::string& b) {
  if (test::run({"/usr/bin/dpkg", "--compare-versions", a, "lt", b}).exit_code == 0) return -1;
  if (test::run({"/usr/bin/dpkg", "--compare-versions", a, "eq", b}).exit_code == 0) return 0;
  return 1;
}

int sign(int value) {
  return (value > 0) - (value < 0);
}

TEST(DpkgVersion, EdgeCasesAgreeWithDpkg) {
  if (!have_dpkg()) GTEST_SKIP() << "dpkg is not installed here: no oracle";
  const std::vector<std::pair<std::string, std::string>> pairs = {{"1.0", "1.0"},
                                                                  {"1.0", "1.0-0"},
                                                                  {"1.0~rc1", "1.0"},
                                                                  {"1.0~~", "1.0~"},
                                                                  {"1.0~", "1.0"},
                                                                  {"1.0", "1.0+b1"},
                                                                  {"1.0a", "1.0"},
                                                                  {"1.0a", "1.0+"},
                                                                  {"1.0a", "1.0.1"},
                                                                  {"1:0.1", "2.0"},
                                                                  {"0:1.0", "1.0"},
                                                                  {"2:1.0", "10:0.1"},
                                                                  {"1.01", "1.1"},
                                                                  {"1.002", "1.1"},
                                                                  {"1.10", "1.9"},
                                                                  {"1.0-1", "1.0-1.1"},
                                                                  {"1.0-1~bpo1", "1.0-1"},
                                                                  {"1.0-10", "1.0-9"},
                                                                  {"1.0-a", "1.0-1"},
                                                                  {"1.2.3-1ubuntu1", "1.2.3-1"},
                                                                  {"7.4.052", "7.4.52"},
                                                                  {"3.0~beta", "3.0~alpha"},
                                                                  {"2.38.1-5+deb12u3", "2.38.1-5+deb12u10"},
                                                                  {"1.0.0+dfsg-1", "1.0.0-1"},
                                                                  {"a", "b"},
                                                                  {"1.0-1-1", "1.0-1"},
                                                                  {"1.0.", "1.0"},
                                                                  {"4.19.0~", "4.19"},
                                                                  {"99999999999999999999", "100000000000000000000"}};
  for (const auto& [a, b] : pairs) {
    EXPECT_EQ(sign(compare_dpkg_versions(a, b)), dpkg_compare(a, b)) << a << " vs " << b;
    EXPECT_EQ(sign(compare_dpkg_versions(b, a)), dpkg_compare(b, a)) << b << " vs " << a;
  }
}

TEST(DpkgVersion, PairsDrawnFromThisMachineAgreeWithDpkg) {
  if (!have_dpkg()) GTEST_SKIP() << "dpkg is not installed here: no oracle";
  auto listed = test::run({"/usr/bin/dpkg-query", "-W", "-f=${Version}\\n"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  std::set<std::string> unique;
  std::istringstream lines(listed.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) unique.insert(line);
  }
  std::vector<std::string> versions(unique.begin(), unique.end());
  ASSERT_GT(versions.size(), 20u);
  std::mt19937 random(20261122);
  std::uniform_int_distribution<size_t> pick(0, versions.size() - 1);
  for (int i = 0; i < 250; ++i) {
    const std::string& a = versions[pick(random)];
    const std::string& b = versions[pick(random)];
    EXPECT_EQ(sign(compare_dpkg_versions(a, b)), dpkg_compare(a, b)) << a << " vs " << b;
  }
  // The ordering is a total order: sorting is stable under it and adjacent pairs agree with dpkg.
  std::vector<std::string> sorted = versions;
  std::sort(sorted.begin(), sorted.end(),
            [](const std::string& a, const std::string& b) { return compare_dpkg_versions(a, b) < 0; });
  for (size_t i = 1; i < sorted.size(); i += std::max<size_t>(1, sorted.size() / 60)) {
    EXPECT_LE(dpkg_compare(sorted[i - 1], sorted[i]), 0) << sorted[i - 1] << " vs " << sorted[i];
  }
}

TEST(DpkgVersion, BadVersionsAreRefusedNamingWhy) {
  std::string error;
  for (const char* bad : {"", "a:1.0", ":1.0", "1:", "1.0-", "1.0 1", "1.0_1", "1.0-1:2"}) {
    EXPECT_FALSE(parse_dpkg_version(bad, &error)) << bad;
    EXPECT_NE(error.find("version '"), std::string::npos) << error;
  }
  auto version = parse_dpkg_version("2:1.2~rc1+dfsg-3+deb12u1");
  ASSERT_TRUE(version);
  EXPECT_EQ(version->epoch, 2u);
  EXPECT_EQ(version->upstream, "1.2~rc1+dfsg");
  EXPECT_EQ(version->revision, "3+deb12u1");
}

TEST(DpkgStatus, InstalledPackagesEqualDpkgQueryExactly) {
  if (!have_dpkg()) GTEST_SKIP() << "dpkg is not installed here: no oracle";
  auto listed = test::run({"/usr/bin/dpkg-query", "-W", "-f=${binary:Package} ${Version} ${Status}\\n"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  std::multiset<std::string> expected;
  std::istringstream lines(listed.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > 10 && line.substr(line.size() - 10) == " installed") {
      std::istringstream words(line);
      std::string name, version;
      words >> name >> version;
      expected.insert(name + " " + version);
    }
  }
  std::string error;
  auto status = read_dpkg_status("/var/lib/dpkg/status", &error);
  ASSERT_TRUE(status) << error;
  std::multiset<std::string> ours;
  for (const auto& package : status->packages) {
    if (package.installed()) ours.insert(package.name + " " + package.version);
  }
  EXPECT_EQ(ours, expected);
  EXPECT_TRUE(status->problems.empty());
}

TEST(DpkgStatus, MalformedStanzasAreSkippedAndNamed) {
  auto status = parse_dpkg_status(
      "Package: good\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\nMulti-Arch: same\n"
      "Source: goodsrc (1.0-0.1)\nDescription: first\n continued\n\n"
      "Status: install ok installed\nVersion: 2\n\n"
      "garbage line\nPackage: removed\nStatus: deinstall ok config-files\nVersion: 3\n");
  ASSERT_EQ(status.packages.size(), 2u);
  EXPECT_EQ(status.packages[0].name, "good:amd64");
  EXPECT_EQ(status.packages[0].source, "goodsrc");
  EXPECT_EQ(status.packages[0].source_version, "1.0-0.1");
  EXPECT_TRUE(status.packages[0].installed());
  EXPECT_EQ(status.packages[1].name, "removed");
  EXPECT_FALSE(status.packages[1].installed());
  ASSERT_EQ(status.problems.size(), 2u);
  EXPECT_NE(status.problems[0].find("line 10"), std::string::npos) << status.problems[0];
  EXPECT_NE(status.problems[1].find("line 13"), std::string::npos) << status.problems[1];
  std::string error;
  EXPECT_FALSE(read_dpkg_status("/nonexistent/status", &error));
  EXPECT_NE(error.find("/nonexistent/status"), std::string::npos);
}

}  // namespace
}  // namespace vigil::packages
