// Vulnerability rules: validation with the rule and field named, and
// evaluation against a dpkg database, a kernel and files under a temp root.
#include <gtest/gtest.h>

#include <fstream>

#include "test_support.h"
#include "vigil/vm_rules/rules.h"

namespace vigil::vm {
namespace {

std::string one_rule(const std::string& when, const std::string& extra = "") {
  return R"({"rules": [{"id": "R1", "title": "t", "severity": 3, )" + extra + R"("when": )" + when + "}]}";
}

Facts facts_with(const std::string& package, const std::string& version, const std::filesystem::path& root = "/") {
  Facts facts;
  facts.packages["dpkg"][package] = version;
  facts.kernel_release = "6.1.0-18-amd64";
  facts.root = root;
  return facts;
}

TEST(VmRules, PackageRangesUseDebianOrdering) {
  auto rules =
      parse_rules(one_rule(R"({"package": {"name": "openssl", "at_least": "3.0", "before": "3.0.11-1~deb12u2"}})"));
  ASSERT_EQ(rules.size(), 1u);
  auto hit = evaluate(rules[0], facts_with("openssl", "3.0.11-1~deb12u1"));
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->evidence, "openssl 3.0 <= 3.0.11-1~deb12u1 < 3.0.11-1~deb12u2");
  EXPECT_FALSE(evaluate(rules[0], facts_with("openssl", "3.0.11-1~deb12u2")));  // fixed
  EXPECT_FALSE(evaluate(rules[0], facts_with("openssl", "1:2.9")));             // epoch 1 outranks the fix
  EXPECT_FALSE(evaluate(rules[0], facts_with("other", "3.0.1")));               // not installed
}

TEST(VmRules, AllAnyNoneKernelAndFiles) {
  test::TempDir root;
  std::filesystem::create_directories(root.path() / "etc/ssh");
  std::ofstream(root.path() / "etc/ssh/sshd_config") << "Port 22\nPermitRootLogin yes\n";
  auto rules = parse_rules(R"({"rules": [
    {"id": "A", "title": "t", "severity": 2, "when": {"all": [
      {"kernel": {"before": "6.1.0-20"}},
      {"file_contains": {"path": "/etc/ssh/sshd_config", "regex": "^PermitRootLogin\\s+yes"}},
      {"none": [{"file_exists": "/etc/nologin"}]}]}},
    {"id": "B", "title": "t", "severity": 2, "when": {"any": [
      {"file_exists": "/etc/nologin"}, {"package": {"name": "openssl", "equals": "3.0.2"}}]}}]})");
  Facts facts = facts_with("openssl", "3.0.1", root.path());
  auto a = evaluate(rules[0], facts);
  ASSERT_TRUE(a);
  EXPECT_NE(a->evidence.find("kernel 6.1.0-18-amd64 < 6.1.0-20"), std::string::npos) << a->evidence;
  EXPECT_NE(a->evidence.find("/etc/ssh/sshd_config:2 matches"), std::string::npos) << a->evidence;
  EXPECT_FALSE(evaluate(rules[1], facts));
  std::ofstream(root.path() / "etc/nologin") << "";
  EXPECT_FALSE(evaluate(rules[0], facts));
  EXPECT_TRUE(evaluate(rules[1], facts));
}

TEST(VmRules, BadRulesAreRefusedNamingRuleAndField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "not valid JSON"},
      {"6E66656", "not valid JSON"},  // a number out of range: found by vm_manifest_fuzz
      {R"({"rule": []})", "expected {\"rules\""},
      {R"({"rules": [{"title": "t", "severity": 1, "when": {"kernel": {}}}]})", "rule 1: 'id' is missing"},
      {R"({"rules": [{"id": "X", "title": "t", "severity": 9, "when": {"kernel": {}}}]})", "rule 1 (X): 'severity'"},
      {one_rule(R"({"package": {"name": "p", "before": "a:1"}})"), "rule 1 (R1).when.package.before: version 'a:1'"},
      {one_rule(R"({"sometimes": []})"), "unknown condition 'sometimes'"},
      {one_rule(R"({"all": []})"), "when.all: must be a non-empty list"},
      {one_rule(R"({"file_contains": {"path": "/x", "regex": "("}})"), "regex: invalid regular expression"},
      {one_rule(R"({"file_exists": "relative"})"), "must be an absolute path"},
      {one_rule(R"({"package": {"name": "p", "manager": "apk"}})"), "manager must be dpkg or rpm"},
      {R"({"rules": [{"id": "D", "title": "t", "severity": 1, "when": {"kernel": {}}},
                     {"id": "D", "title": "t", "severity": 1, "when": {"kernel": {}}}]})",
       "rule 2 (D): id used"}};
  for (const auto& [manifest, expected] : cases) {
    try {
      parse_rules(manifest);
      ADD_FAILURE() << "accepted: " << manifest;
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
    }
  }
}

}  // namespace
}  // namespace vigil::vm
