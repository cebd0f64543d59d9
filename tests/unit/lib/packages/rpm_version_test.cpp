// RPM version ordering, checked against rpm itself (`rpm --eval` with its Lua
// rpm.vercmp) on edge cases and on many pairs drawn from real version strings.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <sstream>

#include "test_support.h"
#include "vigil/packages/rpm_version.h"

namespace vigil::packages {
namespace {

// rpm's verdicts (-1, 0, 1) for every pair, in one rpm run.
std::vector<int> rpm_verdicts(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string lua = "%{lua: for _, p in ipairs({";
  for (const auto& [a, b] : pairs) lua += "{[[" + a + "]],[[" + b + "]]},";
  lua += "}) do print(rpm.vercmp(p[1], p[2]) .. \" \") end}";
  auto result = test::run({"/usr/bin/rpm", "--eval", lua});
  std::vector<int> verdicts;
  std::istringstream lines(result.out);
  for (int verdict; lines >> verdict;) verdicts.push_back(verdict);
  return verdicts;
}

int sign(int value) {
  return (value > 0) - (value < 0);
}

void expect_agreement(const std::vector<std::pair<std::string, std::string>>& pairs) {
  auto verdicts = rpm_verdicts(pairs);
  ASSERT_EQ(verdicts.size(), pairs.size()) << "rpm did not answer for every pair";
  for (size_t i = 0; i < pairs.size(); ++i) {
    EXPECT_EQ(sign(compare_rpm_versions(pairs[i].first, pairs[i].second)), verdicts[i])
        << pairs[i].first << " vs " << pairs[i].second;
  }
}

TEST(RpmVersion, EdgeCasesAgreeWithRpm) {
  if (!std::filesystem::exists("/usr/bin/rpm")) GTEST_SKIP() << "rpm is not installed here: no oracle";
  std::vector<std::pair<std::string, std::string>> pairs = {{"1.0", "1.0"},
                                                            {"1.0", "0:1.0"},
                                                            {"1:1.0", "2.0"},
                                                            {"1.0", "1.0-1"},
                                                            {"1.0-1", "1.0-2"},
                                                            {"1.0~rc1", "1.0"},
                                                            {"1.0~rc1", "1.0~rc2"},
                                                            {"1.0~~", "1.0~"},
                                                            {"1.0^", "1.0"},
                                                            {"1.0^git1", "1.0.1"},
                                                            {"1.0^git1", "1.0^git2"},
                                                            {"1.0~rc1^post", "1.0~rc1"},
                                                            {"1.0a", "1.0.a"},
                                                            {"1.01", "1.1"},
                                                            {"2.0", "10"},
                                                            {"1.0a", "1.0"},
                                                            {"1.0", "1.0b"},
                                                            {"a", "b"},
                                                            {"1a", "1.1"},
                                                            {"5.10.0-1.el9", "5.9.0-3.el9"},
                                                            {"1.0_1", "1.0.1"},
                                                            {"1..0", "1.0"},
                                                            {"0001", "1"},
                                                            {"2.4.6-el8_3", "2.4.6-el8.3"},
                                                            {"1.0^", "1.0^"},
                                                            {"1.0~", "1.0^"},
                                                            {"3.el9", "3.el9_1"},
                                                            {"12.0.1", "12.0.1.0"}};
  expect_agreement(pairs);
  for (auto& [a, b] : pairs) std::swap(a, b);
  expect_agreement(pairs);
}

TEST(RpmVersion, PairsDrawnFromRealVersionsAgreeWithRpm) {
  if (!std::filesystem::exists("/usr/bin/rpm")) GTEST_SKIP() << "rpm is not installed here: no oracle";
  auto listed = test::run({"/usr/bin/dpkg-query", "-W", "-f=${Version}\\n"});
  if (listed.exit_code != 0) GTEST_SKIP() << "no package list to draw versions from";
  std::set<std::string> unique;
  std::istringstream lines(listed.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.find_first_of("[]") == std::string::npos) unique.insert(line);
  }
  std::vector<std::string> versions(unique.begin(), unique.end());
  std::mt19937 random(20261122);
  std::uniform_int_distribution<size_t> pick(0, versions.size() - 1);
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int i = 0; i < 2000; ++i) pairs.push_back({versions[pick(random)], versions[pick(random)]});
  expect_agreement(pairs);
}

}  // namespace
}  // namespace vigil::packages
