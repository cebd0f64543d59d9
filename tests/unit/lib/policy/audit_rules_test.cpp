// The audit_rule check and the audit rules reader (augenrules' merge of
// /etc/audit/rules.d, auditctl's syntax, auditctl -l output): fixtures under a
// temporary root, a pass and a fail for each part of the check, the errors
// with their file:line, and the file order against `ls -1v`.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>

#include "policy_under_root.h"
#include "vigil/policy/audit_rules.h"

namespace vigil::policy {
namespace {

using test_util::PolicyUnderRoot;

class AuditRuleCheck : public PolicyUnderRoot {
 protected:
  void SetUp() override {
    PolicyUnderRoot::SetUp();
    write("/etc/sudoers", "");
    write("/etc/sudoers.d/README", "");
    write("/usr/bin/sudo", "");
  }
  void rules(const std::string& name, const std::string& text) { write("/etc/audit/rules.d/" + name, text); }
  // Commands as auditctl would answer them.
  void kernel(const std::string& listing, const std::string& status = "enabled 1\nfailure 1\n") {
    environment_.run = [listing, status](const std::vector<std::string>& argv) {
      if (argv.size() == 2 && argv[1] == "-l") return CommandOutput{0, listing};
      if (argv.size() == 2 && argv[1] == "-s") return CommandOutput{0, status};
      return CommandOutput{1, "unexpected"};
    };
  }
};

TEST_F(AuditRuleCheck, AWatchPassesWithTheRightPermissionsAndKey) {
  rules("50-scope.rules", "## sudo\n-w /etc/sudoers -p wa -k scope\n");
  auto result = run("audit_rule: {watch: /etc/sudoers, permissions: wa, key: scope}");
  EXPECT_EQ(result.outcome, Outcome::kPass) << result.evidence;
  EXPECT_NE(result.evidence.find("/etc/audit/rules.d/50-scope.rules:2"), std::string::npos) << result.evidence;
  EXPECT_EQ(run("audit_rule: {watch: /etc/sudoers, permissions: aw}").outcome, Outcome::kPass);
  EXPECT_EQ(run("audit_rule: {watch: /etc/sudoers, permissions: wa, key: other}").outcome, Outcome::kFail);
  EXPECT_EQ(run("audit_rule: {watch: /etc/sudoers, permissions: rwa}").outcome, Outcome::kFail);
  EXPECT_EQ(run("audit_rule: {watch: /etc/shadow, permissions: w}").outcome, Outcome::kFail);
}

TEST_F(AuditRuleCheck, AWatchWithoutPermissionsWatchesAll) {
  rules("a.rules", "-w /etc/sudoers\n");
  EXPECT_EQ(run("audit_rule: {watch: /etc/sudoers, permissions: rwxa}").outcome, Outcome::kPass);
}

TEST_F(AuditRuleCheck, AnEquivalentSyscallRuleCountsForEveryArchItCovers) {
  rules("a.rules", "-a always,exit -F arch=b64 -F path=/etc/sudoers -F perm=wa -k scope\n");
  auto result = run("audit_rule: {watch: /etc/sudoers, permissions: wa}");
  EXPECT_EQ(result.outcome, Outcome::kFail) << result.evidence;
  EXPECT_NE(result.evidence.find("for b32"), std::string::npos) << result.evidence;
  EXPECT_EQ(run("audit_rule: {watch: /etc/sudoers, permissions: wa, arch: b64}").outcome, Outcome::kPass);
  rules("b.rules", "-a exit,always -F arch=b32 -F path=/etc/sudoers -F perm=aw\n");
  EXPECT_EQ(run("audit_rule: {watch: /etc/sudoers, permissions: wa}").outcome, Outcome::kPass);
  rules("c.rules", "-a always,exit -F dir=/etc/sudoers.d/ -F perm=wa\n");
  EXPECT_EQ(run("audit_rule: {watch: /etc/sudoers.d, permissions: wa}").outcome, Outcome::kPass);
}

TEST_F(AuditRuleCheck, SyscallsMustBeAuditedForEachArch) {
  rules("50-time.rules",
        "-a always,exit -F arch=b64 -S adjtimex,settimeofday -S clock_settime -k time-change\n"
        "-w /etc/localtime -p wa -k time-change\n");
  auto result = run("audit_rule: {syscalls: [adjtimex, settimeofday, clock_settime, stime], key: time-change}");
  EXPECT_EQ(result.outcome, Outcome::kFail) << result.evidence;
  EXPECT_NE(result.evidence.find("adjtimex (b32), settimeofday (b32), clock_settime (b32), stime (b32)"),
            std::string::npos)
      << result.evidence;
  EXPECT_EQ(run("audit_rule: {syscalls: [adjtimex, clock_settime, stime], arch: b64}").outcome, Outcome::kPass);
  rules("51-time.rules", "-a always,exit -F arch=b32 -S adjtimex,settimeofday,clock_settime,stime -k time-change\n");
  result = run("audit_rule: {syscalls: [adjtimex, settimeofday, clock_settime, stime], key: time-change}");
  EXPECT_EQ(result.outcome, Outcome::kPass) << result.evidence;
  EXPECT_NE(result.evidence.find("51-time.rules:1"), std::string::npos) << result.evidence;
}

TEST_F(AuditRuleCheck, ARuleNarrowerThanWantedDoesNotCount) {
  rules("a.rules",
        "-a always,exit -F arch=b64 -S execve -C euid!=uid -F auid!=unset -k user_emulation\n"
        "-a always,exit -F arch=b32 -S execve -C uid!=euid -F auid!=4294967295 -F uid=0 -k user_emulation\n");
  std::string check = "audit_rule: {syscalls: [execve], fields: ['-C euid!=uid', 'auid!=-1'], key: user_emulation";
  EXPECT_EQ(run(check + ", arch: b64}").outcome, Outcome::kPass);
  auto result = run(check + "}");
  EXPECT_EQ(result.outcome, Outcome::kFail) << result.evidence;
  EXPECT_NE(result.evidence.find("execve (b32)"), std::string::npos) << result.evidence;
  // A broader rule (fewer fields) logs everything the narrower one would.
  rules("b.rules", "-a always,exit -F arch=b32 -S execve -k user_emulation\n");
  EXPECT_EQ(run(check + "}").outcome, Outcome::kPass);
}

TEST_F(AuditRuleCheck, ValuesCompareAsAuditctlPrintsThem) {
  rules("a.rules",
        "-a always,exit -F arch=b64 -S open,creat -F exit=-EACCES -F auid>=1000 -F auid!=unset -k access\n"
        "-a always,exit -F arch=b32 -S open -S creat -F exit=-13 -F loginuid>=1000 -F auid!=-1 -F key=access\n");
  EXPECT_EQ(run("audit_rule: {syscalls: [open, creat], fields: [exit=-13, 'auid>=1000', 'auid!=4294967295'], "
                "key: access}")
                .outcome,
            Outcome::kPass);
  EXPECT_EQ(run("audit_rule: {syscalls: [open], fields: [exit=-EPERM, 'auid>=1000', 'auid!=unset']}").outcome,
            Outcome::kFail);
}

TEST_F(AuditRuleCheck, PrivilegedCommandsAreAWatchWithFields) {
  rules("a.rules", "-a always,exit -F path=/usr/bin/sudo -F perm=x -F auid>=1000 -F auid!=unset -k privileged\n");
  EXPECT_EQ(run("audit_rule: {watch: /usr/bin/sudo, permissions: x, fields: ['auid>=1000', 'auid!=unset']}").outcome,
            Outcome::kPass);
  EXPECT_EQ(run("audit_rule: {watch: /usr/bin/sudo, permissions: x}").outcome, Outcome::kFail);
}

TEST_F(AuditRuleCheck, FilesAreReadInLsVersionOrderAndTheLastControlLinesWin) {
  rules("9-a.rules", "-e 1\n-b 100\n-f 2\n--backlog_wait_time 100\n");
  rules("10-b.rules", "-e 2\n-b 8192\n");
  rules("2-c.rules", "-e 0\n-f 1\n");
  rules("ignored.conf", "-e 0\n");
  rules(".hidden.rules", "-e 0\n");
  auto enabled = run("audit_rule: {setting: enabled, equals: 2}");
  EXPECT_EQ(enabled.outcome, Outcome::kPass) << enabled.evidence;
  EXPECT_NE(enabled.evidence.find("10-b.rules:1"), std::string::npos) << enabled.evidence;
  EXPECT_EQ(run("audit_rule: {setting: backlog_limit, at_least: 8192}").outcome, Outcome::kPass);
  EXPECT_EQ(run("audit_rule: {setting: failure, equals: 2}").outcome, Outcome::kPass);
  EXPECT_EQ(run("audit_rule: {setting: rate_limit, present: true}").outcome, Outcome::kFail);
  rules("99-last.rules", "-e 1\n");
  EXPECT_EQ(run("audit_rule: {setting: enabled, equals: 2}").outcome, Outcome::kFail);
}

TEST_F(AuditRuleCheck, TheLoadedRulesAreAuditctlsListing) {
  kernel(
      "-w /etc/sudoers -p wa -k scope\n-w /etc/sudoers.d -p wa -k scope\n"
      "-a always,exit -F arch=b64 -S execve -C uid!=euid -F auid!=-1 -F key=user_emulation\n",
      "enabled 2\nfailure 1\npid 0\nbacklog_limit 8192\n");
  auto result = run("audit_rule: {source: loaded, watch: /etc/sudoers.d, permissions: wa, key: scope}");
  EXPECT_EQ(result.outcome, Outcome::kPass) << result.evidence;
  EXPECT_NE(result.evidence.find("auditctl -l:2"), std::string::npos) << result.evidence;
  EXPECT_EQ(run("audit_rule: {source: loaded, syscalls: [execve], fields: ['-C euid!=uid', 'auid!=unset'], "
                "arch: b64}")
                .outcome,
            Outcome::kPass);
  EXPECT_EQ(run("audit_rule: {source: loaded, setting: enabled, equals: 2}").outcome, Outcome::kPass);
  EXPECT_EQ(run("audit_rule: {source: loaded, watch: /etc/passwd, permissions: wa}").outcome, Outcome::kFail);
}

TEST_F(AuditRuleCheck, TheLoadedRulesErrWhenAuditCannotBeAsked) {
  EXPECT_NE(error_of("audit_rule: {source: loaded, watch: /etc/sudoers, permissions: wa}").find("cannot run"),
            std::string::npos);
  kernel("No rules\n", "enabled 0\n");
  EXPECT_NE(error_of("audit_rule: {source: loaded, watch: /etc/sudoers, permissions: wa}").find("not enabled"),
            std::string::npos);
  environment_.run = [](const std::vector<std::string>&) { return CommandOutput{127, "auditctl: not found"}; };
  EXPECT_NE(error_of("audit_rule: {source: loaded, setting: enabled, equals: 2}").find("exited 127"),
            std::string::npos);
}

TEST_F(AuditRuleCheck, FilesMatchLoadedComparesRuleByRule) {
  rules("50.rules", "-D\n-w /etc/sudoers -p aw -k scope\n-a exit,always -F arch=b64 -S chmod -F auid!=unset\n-e 2\n");
  kernel("-w /etc/sudoers -p wa -k scope\n-a always,exit -F arch=b64 -S chmod -F auid!=-1\n");
  auto result = run("audit_rule: {rule: files_match_loaded}");
  EXPECT_EQ(result.outcome, Outcome::kPass) << result.evidence;
  kernel("-w /etc/sudoers -p wa -k scope\n");
  result = run("audit_rule: {rule: files_match_loaded}");
  EXPECT_EQ(result.outcome, Outcome::kFail) << result.evidence;
  EXPECT_NE(result.evidence.find("50.rules:3) but nothing loaded"), std::string::npos) << result.evidence;
}

TEST_F(AuditRuleCheck, WhatAuditctlOrAugenrulesWouldNotLoadIsAnError) {
  struct Case {
    std::string text, expected;
  };
  const std::vector<Case> cases = {
      {"-w /etc/sudoers -p wa -x\n", "a.rules:1: '-x' is not an auditctl option"},
      {"-w /etc/sudoers -p wa junk\n", "a.rules:1: 'junk' is not an auditctl option"},
      {"-w/etc/sudoers -pwa\n", "'-w/etc/sudoers' is not an auditctl option"},
      {"-w /etc/sudoers\t-p wa\n", "a.rules:1: a tab"},
      {"-w /etc/my\\ file -p wa\n", "backslash"},
      {"-w /etc/sudoers -p wz\n", "permissions 'wz'"},
      {"\n-a always,exit -F arch=b64 -S stime\n", "a.rules:2: syscall 'stime' is not one this reader knows for b64"},
      {"-a always,exit -S chmod -F arch=b64\n", "arch given after -S"},
      {"-a always,exit -F arch=arm64 -S chmod\n", "arch 'arm64'"},
      {"-a sometimes,exit -S chmod\n", "-a sometimes,exit"},
      {"-a always,exit -F arch=b64 -S chmod -F uid=root\n", "uid 'root' is not a number"},
      {"-a always,exit -F arch=b64 -S chmod -F colour=red\n", "field 'colour'"},
      {"-a always,exit -F arch=b64 -S chmod -C auid<uid\n", "-C auid<uid is not modelled"},
      {"-w /etc/sudoers -p wa\n-a always,exit -F path=/etc/sudoers -F perm=aw\n",
       "a.rules:2: the same rule as /etc/audit/rules.d/a.rules:1"},
      {"-w /nowhere/file -p wa\n", "the directory of watched path /nowhere/file does not exist"},
      {"  -e 2\n", "an indented -e line"},
      {"-D \n", "-D followed by blanks"},
      {"-D -k scope\n", "'-D' is not an auditctl option"},
      {"-e 3\n", "-e 3 is not a value"},
      {"-b many\n", "-b many is not a value"},
      {"-p wa\n", "-p without -w"},
      {"-a always,exit\n", "neither syscalls nor fields"},
  };
  for (const auto& item : cases) {
    rules("a.rules", item.text);
    std::string evidence = error_of("audit_rule: {watch: /etc/sudoers, permissions: wa}");
    EXPECT_NE(evidence.find(item.expected), std::string::npos) << item.text << " -> " << evidence;
  }
}

TEST_F(AuditRuleCheck, AFileWithoutAFinalNewlineJoinsTheNextOne) {
  rules("1.rules", "-w /etc/sudoers -p wa");
  rules("2.rules", "-w /etc/sudoers.d -p wa\n");
  EXPECT_NE(error_of("audit_rule: {watch: /etc/sudoers, permissions: wa}").find("1.rules: does not end with a newline"),
            std::string::npos);
  std::filesystem::remove(dir_.path() / "etc/audit/rules.d/2.rules");
  EXPECT_EQ(run("audit_rule: {watch: /etc/sudoers, permissions: wa}").outcome, Outcome::kPass);
}

TEST_F(AuditRuleCheck, RulesThatMayStopEventsAreErrorsBeforeTheMatchingRule) {
  rules("a.rules", "-a never,exit -F arch=b64 -S all -F auid=0\n-w /etc/sudoers -p wa\n");
  EXPECT_NE(error_of("audit_rule: {watch: /etc/sudoers, permissions: wa}").find("a.rules:1) may keep b64 events"),
            std::string::npos);
  // A never rule for another syscall does not matter; -A puts a rule first.
  rules("a.rules", "-a never,exit -F arch=b64 -S chmod\n-a always,exit -F arch=b64 -S execve\n");
  EXPECT_EQ(run("audit_rule: {syscalls: [execve], arch: b64}").outcome, Outcome::kPass);
  rules("a.rules", "-a always,exit -F arch=b64 -S execve\n-A never,exit -F arch=b64 -S execve\n");
  EXPECT_NE(error_of("audit_rule: {syscalls: [execve], arch: b64}").find("a.rules:2"), std::string::npos);
  rules("a.rules", "-a always,exclude -F msgtype=CWD\n-a always,exit -F arch=b64 -S execve\n");
  EXPECT_NE(error_of("audit_rule: {syscalls: [execve], arch: b64}").find("exclude"), std::string::npos);
}

TEST_F(AuditRuleCheck, NoRulesDirectoryIsAnError) {
  EXPECT_NE(error_of("audit_rule: {setting: enabled, equals: 2}").find("/etc/audit/rules.d is not there"),
            std::string::npos);
}

TEST(AuditRulePolicy, FieldsAreCheckedWhenThePolicyIsLoaded) {
  auto parse = [](const std::string& check) {
    parse_policies("policy: t\nversion: '1'\ncontrols:\n  - id: c\n    title: t\n    check:\n      " + check + "\n",
                   "t.yaml");
  };
  EXPECT_NO_THROW(parse("audit_rule: {watch: /etc/sudoers, permissions: wa}"));
  EXPECT_THROW(parse("audit_rule: {watch: /etc/sudoers}"), PolicyError);
  EXPECT_THROW(parse("audit_rule: {watch: /etc/sudoers, permissions: wq}"), PolicyError);
  EXPECT_THROW(parse("audit_rule: {syscalls: [nosuchcall]}"), PolicyError);
  EXPECT_THROW(parse("audit_rule: {syscalls: [execve], fields: ['colour=red']}"), PolicyError);
  EXPECT_THROW(parse("audit_rule: {syscalls: [execve], fields: ['arch=b64']}"), PolicyError);
  EXPECT_THROW(parse("audit_rule: {syscalls: [execve], equals: 2}"), PolicyError);
  EXPECT_THROW(parse("audit_rule: {setting: enabled}"), PolicyError);
  EXPECT_THROW(parse("audit_rule: {setting: colour, equals: 2}"), PolicyError);
  EXPECT_THROW(parse("audit_rule: {rule: everything}"), PolicyError);
  EXPECT_THROW(parse("audit_rule: {source: kernel, setting: enabled, equals: 2}"), PolicyError);
}

// augenrules lists the directory with `ls -1v`: the same order for random names.
TEST(AugenrulesOrder, AgreesWithLsV) {
  test::TempDir dir;
  std::mt19937 random(21);
  const std::string alphabet = "0123456789abcAB-_.~";
  std::vector<std::string> names;
  for (int i = 0; i < 300; ++i) {
    std::string name;
    for (int length = 1 + static_cast<int>(random() % 8); length > 0; --length)
      name += alphabet[random() % alphabet.size()];
    name += random() % 2 ? ".rules" : ".x.rules";
    if (name[0] == '.' || std::find(names.begin(), names.end(), name) != names.end()) continue;
    names.push_back(name);
    std::ofstream(dir.path() / name) << "";
  }
  std::string command = "LC_ALL=C ls -1v '" + dir.path().string() + "'";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) GTEST_SKIP() << "cannot run ls";
  std::vector<std::string> listed;
  char line[256];
  while (std::fgets(line, sizeof(line), pipe)) listed.emplace_back(std::string(line).substr(0, std::strlen(line) - 1));
  if (::pclose(pipe) != 0 || listed.empty()) GTEST_SKIP() << "ls -1v did not list the directory";
  EXPECT_EQ(augenrules_order(names), listed);
}

}  // namespace
}  // namespace vigil::policy
