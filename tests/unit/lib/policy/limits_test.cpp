// The limits reader and check kind against files built under a temp root:
// which line pam_limits 1.5.2 applies to a user (domains, their priority,
// later lines, limits.d after limits.conf, "<domain> -"), values, what is an
// error with its file:line, and this machine's own limits.conf.
#include <gtest/gtest.h>

#include <filesystem>

#include "policy_under_root.h"
#include "vigil/policy/limits_pwquality_grub.h"

namespace vigil::policy {
namespace {

namespace fs = std::filesystem;

class LimitsCheck : public test_util::PolicyUnderRoot {
 protected:
  void SetUp() override {
    PolicyUnderRoot::SetUp();
    write("/etc/passwd",
          "root:x:0:0:root:/root:/bin/bash\n"
          "alice:x:1000:1000::/home/alice:/bin/bash\n"
          "bob:x:1001:100::/home/bob:/bin/bash\n");
    write("/etc/group", "root:x:0:\nusers:x:100:\nalice:x:1000:\ndev:x:2000:alice\n");
    write("/etc/security/limits.conf", "# nothing\n");
  }
  std::string outcome(const std::string& check) {
    auto result = run(check);
    return std::string(outcome_name(result.outcome)) + ": " + result.evidence;
  }
};

TEST_F(LimitsCheck, StarLineForAUserOnlyStarNames) {
  write("/etc/security/limits.conf", "*\thard\tcore\t0\n");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, at_most: 0}"),
            "pass: hard core for a user only * names = 0 (/etc/security/limits.conf:1)");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: '*', at_most: 0}").substr(0, 4), "pass");
  // Only the hard limit is set: the soft one is not.
  EXPECT_EQ(outcome("limits: {item: core, type: soft, at_most: 0}"),
            "fail: soft core for a user only * names is not set");
  write("/etc/security/limits.conf", "* soft core 0\n");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, at_most: 0}"),
            "fail: hard core for a user only * names is not set");
}

TEST_F(LimitsCheck, DashSetsBothAndUnlimitedSpellings) {
  for (const char* spelling : {"unlimited", "infinity", "-1", "-", "UNLIMITED"}) {
    write("/etc/security/limits.conf", std::string("* - core ") + spelling + "\n");
    EXPECT_EQ(
        outcome("limits: {item: core, type: hard, at_most: 0}"),
        "fail: hard core for a user only * names = unlimited (/etc/security/limits.conf:1), which is not a number")
        << spelling;
    EXPECT_EQ(outcome("limits: {item: core, type: soft, equals: unlimited}").substr(0, 4), "pass") << spelling;
  }
  write("/etc/security/limits.conf", "* HARD Core 0\n");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, equals: 0}").substr(0, 4), "pass");
}

TEST_F(LimitsCheck, SoftAboveHardIsLowered) {
  write("/etc/security/limits.conf", "* soft core unlimited\n* hard core 0\n");
  EXPECT_EQ(outcome("limits: {item: core, type: soft, at_most: 0}"),
            "pass: soft core for a user only * names = 0 (/etc/security/limits.conf:2, the hard limit, below soft "
            "unlimited (/etc/security/limits.conf:1))");
  write("/etc/security/limits.conf", "* soft nofile 1024\n* hard nofile 4096\n");
  EXPECT_EQ(outcome("limits: {item: nofile, type: soft, equals: 1024}").substr(0, 4), "pass");
}

TEST_F(LimitsCheck, LaterLinesAndLimitsDReplaceSameOrLessSpecific) {
  write("/etc/security/limits.conf", "* hard core 0\n* hard core 100\n");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, at_most: 0}"),
            "fail: hard core for a user only * names = 100 (/etc/security/limits.conf:2), expected at most 0");
  // limits.d comes after limits.conf, in C order.
  write("/etc/security/limits.conf", "* hard core 100\n");
  write("/etc/security/limits.d/b.conf", "* hard core 5\n");
  write("/etc/security/limits.d/a.conf", "* hard core 0\n");
  write("/etc/security/limits.d/c.txt", "* hard core 9\n");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, at_most: 0}"),
            "fail: hard core for a user only * names = 5 (/etc/security/limits.d/b.conf:1), expected at most 0");
}

TEST_F(LimitsCheck, UserGroupAndStarPriority) {
  write("/etc/security/limits.conf",
        "alice hard core 10\n"
        "@dev hard core 20\n"
        "* hard core 0\n"
        "@users hard core 30\n");
  // A user line outranks a later group or * line; a group line a later * line.
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: alice, equals: 10}"),
            "pass: hard core for alice = 10 (/etc/security/limits.conf:1)");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: bob, equals: 30}"),  // primary group users
            "pass: hard core for bob = 30 (/etc/security/limits.conf:4)");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: root, equals: 0}"),
            "pass: hard core for root = 0 (/etc/security/limits.conf:3)");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, equals: 0}").substr(0, 4), "pass");
  write("/etc/security/limits.conf", "@dev hard core 20\nalice hard core 10\n");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: alice, equals: 10}").substr(0, 4), "pass");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: nobody, equals: 0}"),
            "error: limits (line 7): user nobody is not in /etc/passwd (pam_limits refuses the session)");
}

TEST_F(LimitsCheck, UidAndGidRanges) {
  write("/etc/security/limits.conf", "* hard core 0\n1000: hard core 7\n");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: alice, equals: 7}").substr(0, 4), "pass");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: root, equals: 0}").substr(0, 4), "pass");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, equals: 0}").substr(0, 4), "pass");
  write("/etc/security/limits.conf",
        ":999 hard core 1\n1000:1000 hard core 2\n@:2000 hard nofile 3\n@100: hard nproc 4\n");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: root, equals: 0}"), "fail: hard core for root is not set");
  write("/etc/security/limits.conf",
        ":0 hard core 1\n1000:1000 hard core 2\n@:2000 hard nofile 3\n@100: hard nproc 4\n");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: root, equals: 1}").substr(0, 4), "pass");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: alice, equals: 2}").substr(0, 4), "pass");
  EXPECT_EQ(outcome("limits: {item: nofile, type: hard, user: alice, equals: 3}").substr(0, 4), "pass");
  EXPECT_EQ(outcome("limits: {item: nofile, type: hard, user: bob, present: false}").substr(0, 4), "pass");
  // @100: compares the primary gid only: alice's is 1000, bob's 100.
  EXPECT_EQ(outcome("limits: {item: nproc, type: hard, user: bob, equals: 4}").substr(0, 4), "pass");
  EXPECT_EQ(outcome("limits: {item: nproc, type: hard, user: alice, equals: 4}").substr(0, 4), "pass");
  EXPECT_EQ(outcome("limits: {item: nproc, type: hard, user: root, present: false}").substr(0, 4), "pass");
}

TEST_F(LimitsCheck, DashSoftBlockedLeavesHardAlone) {
  // pam_limits stops at the soft part of a "-" line a more specific domain holds.
  write("/etc/security/limits.conf", "alice soft core 1\n* - core 0\n");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: alice, present: false}").substr(0, 4), "pass");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: bob, equals: 0}").substr(0, 4), "pass");
}

TEST_F(LimitsCheck, NoLimitsLineStopsForTheUser) {
  write("/etc/security/limits.conf", "@dev -\n* hard core 0\n");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: alice, at_most: 0}"),
            "fail: hard core for alice (pam_limits sets no limit for this user: \"-\" at "
            "/etc/security/limits.conf:1) is not set");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: bob, at_most: 0}").substr(0, 4), "pass");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, at_most: 0}").substr(0, 4), "pass");
  // In limits.d it stops the files after it too.
  write("/etc/security/limits.conf", "* hard core 0\n");
  write("/etc/security/limits.d/a.conf", "alice -\n");
  write("/etc/security/limits.d/b.conf", "alice hard core 0\n");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: alice, at_most: 0}").substr(0, 4), "fail");
}

TEST_F(LimitsCheck, LoginsPriorityAndPercentDomains) {
  write("/etc/security/limits.conf", "% - maxlogins 3\n* - maxlogins 10\n@dev - priority 5\n* - priority 1\n");
  EXPECT_EQ(outcome("limits: {item: maxlogins, at_most: 3}"),
            "pass: maxlogins for a user only * names = 3 (/etc/security/limits.conf:1)");
  // priority: the last line wins whatever its domain.
  EXPECT_EQ(outcome("limits: {item: priority, user: alice, equals: 1}").substr(0, 4), "pass");
  write("/etc/security/limits.conf", "* hard maxlogins 3\n* hard maxsyslogins 4\n");
  EXPECT_NE(outcome("limits: {item: maxlogins, at_most: 3}").find("keeps one limit for both"), std::string::npos);
}

TEST_F(LimitsCheck, WhatIsAnError) {
  auto error_for = [&](const std::string& line, const std::string& what) {
    write("/etc/security/limits.conf", "# header\n" + line + "\n");
    auto evidence = error_of("limits: {item: core, type: hard, at_most: 0}");
    EXPECT_NE(evidence.find("/etc/security/limits.conf:2: " + what), std::string::npos) << line << " -> " << evidence;
  };
  error_for("* hard core", "pam_limits skips a line without domain");
  error_for("* hard", "pam_limits skips a line without domain");
  error_for("* hard core 0 0", "a fifth field '0'");
  error_for("* hard cores 0", "unknown limit item 'cores'");
  error_for("* hardest core 0", "unknown limit type 'hardest'");
  error_for("* hard core 10k", "'10k' is not a value pam_limits reads exactly");
  error_for("* hard core -5", "'-5' is not a value");
  error_for("* hard nonewprivs 2", "nonewprivs takes 0 or 1");
  error_for("% hard core 0", "pam_limits reads a % domain for maxlogins only");
  error_for("%100: - maxlogins 1", "pam_limits ignores a gid range");
  error_for("1x: hard core 0", "invalid uid/gid range '1x:'");
  error_for(": hard core 0", "invalid uid/gid range ':'");
  error_for(std::string(1100, 'x') + " hard core 0", "a line longer than pam_limits' 1023 characters");
  fs::remove(dir_.path() / "etc/security/limits.conf");
  EXPECT_NE(error_of("limits: {item: core, type: hard, at_most: 0}").find("cannot read /etc/security/limits.conf"),
            std::string::npos);
}

TEST_F(LimitsCheck, PolicyFieldsAreChecked) {
  EXPECT_THROW(parse_policies("policy: t\nversion: '1'\ncontrols:\n  - id: c\n    title: t\n    check:\n"
                              "      limits: {item: cores, type: hard, at_most: 0}\n",
                              "t.yaml"),
               PolicyError);
  for (const char* check : {"limits: {item: core, at_most: 0}", "limits: {item: core, type: both, at_most: 0}",
                            "limits: {item: maxlogins, type: hard, at_most: 0}", "limits: {item: core, type: hard}"}) {
    EXPECT_THROW(parse_policies(std::string("policy: t\nversion: '1'\ncontrols:\n  - id: c\n    title: t\n    check:\n"
                                            "      ") +
                                    check + "\n",
                                "t.yaml"),
                 PolicyError)
        << check;
  }
}

TEST(LimitsRealFiles, ThisMachinesLimitsConfParses) {
  if (!fs::exists("/etc/security/limits.conf")) GTEST_SKIP() << "no /etc/security/limits.conf here";
  test::TempDir root;
  fs::create_directories(root.path() / "etc/security");
  fs::copy("/etc/security/limits.conf", root.path() / "etc/security/limits.conf");
  if (fs::exists("/etc/security/limits.d"))
    fs::copy("/etc/security/limits.d", root.path() / "etc/security/limits.d", fs::copy_options::recursive);
  EXPECT_NO_THROW((void)limits_value(root.path(), "", "core", "hard"));
}

}  // namespace
}  // namespace vigil::policy
