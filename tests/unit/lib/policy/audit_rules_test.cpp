// The audit_rule check and the audit rules reader (augenrules' merge of
// /etc/audit/rules.d, auditctl's syntax, auditctl -l output): fixtures under a
// temporary root, a pass and a fail for each part of the check, the errors
// with their file:line, and the file order against `ls -1v`.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>

#include <map>

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
  auto short_of = run("audit_rule: {watch: /etc/sudoers, permissions: rwa}");
  EXPECT_EQ(short_of.outcome, Outcome::kFail);
  EXPECT_NE(
      short_of.evidence.find("falling short: -w /etc/sudoers -p wa -k scope (/etc/audit/rules.d/50-scope.rules:2)"),
      std::string::npos)
      << short_of.evidence;
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

TEST_F(AuditRuleCheck, PermissionsAfterMinusAAndRulesForEverySyscall) {
  rules("a.rules", "-a always,exit -F path=/etc/sudoers -p wa\n");
  EXPECT_EQ(run("audit_rule: {watch: /etc/sudoers, permissions: wa}").outcome, Outcome::kPass);
  EXPECT_EQ(run("audit_rule: {syscalls: [execve]}").outcome, Outcome::kFail);
  rules("a.rules", "-a always,exit\n");
  EXPECT_EQ(run("audit_rule: {syscalls: [execve], fields: ['auid>=1000']}").outcome, Outcome::kPass);
  EXPECT_EQ(run("audit_rule: {watch: /etc/sudoers, permissions: wa}").outcome, Outcome::kFail);
}

TEST_F(AuditRuleCheck, PrivilegedCommandsAreAWatchWithFields) {
  rules("a.rules", "-a always,exit -F path=/usr/bin/sudo -F perm=x -F auid>=1000 -F auid!=unset -k privileged\n");
  EXPECT_EQ(run("audit_rule: {watch: /usr/bin/sudo, permissions: x, fields: ['auid>=1000', 'auid!=unset']}").outcome,
            Outcome::kPass);
  EXPECT_EQ(run("audit_rule: {watch: /usr/bin/sudo, permissions: x}").outcome, Outcome::kFail);
}

TEST_F(AuditRuleCheck, EverySetIdFileNeedsItsOwnRule) {
  write("/usr/bin/passwd", "", 04755);
  write("/usr/bin/chage", "", 02755);
  write("/usr/bin/ls", "", 0755);
  rules("a.rules", "-a always,exit -F path=/usr/bin/passwd -F perm=x -F auid>=1000 -F auid!=unset -k privileged\n");
  std::string check = "audit_rule: {every_setid_under: /usr, permissions: x, fields: ['auid>=1000', 'auid!=unset']}";
  auto result = run(check);
  EXPECT_EQ(result.outcome, Outcome::kFail) << result.evidence;
  EXPECT_NE(result.evidence.find("2 set-uid or set-gid files under /usr: no always,exit rule watching /usr/bin/chage"),
            std::string::npos)
      << result.evidence;
  EXPECT_EQ(result.evidence.find("watching /usr/bin/passwd"), std::string::npos) << result.evidence;
  rules("b.rules", "-a always,exit -F path=/usr/bin/chage -F perm=x -F auid>=1000 -F auid!=unset -k privileged\n");
  result = run(check);
  EXPECT_EQ(result.outcome, Outcome::kPass) << result.evidence;
  EXPECT_NE(result.evidence.find("b.rules:1"), std::string::npos) << result.evidence;
  write("/opt/tool/run", "", 04750);
  EXPECT_EQ(run("audit_rule: {every_setid_under: /opt, permissions: x}").outcome, Outcome::kFail);
  write("/srv/readme", "");
  EXPECT_NE(run("audit_rule: {every_setid_under: /srv, permissions: x}").evidence.find("no set-uid"),
            std::string::npos);
  EXPECT_NE(error_of("audit_rule: {every_setid_under: /nowhere, permissions: x}").find("cannot walk /nowhere"),
            std::string::npos);
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
      {"-a always,exit -F path=/etc/sudoers.d/ -F perm=wa\n", "path=/etc/sudoers.d/ ends in /"},
      {"-a always,exit -F dir=/etc/nowhere -F perm=wa\n", "dir=/etc/nowhere does not exist"},
      {"  -e 2\n", "an indented -e line"},
      {"-D \n", "-D followed by blanks"},
      {"-D -k scope\n", "'-D' is not an auditctl option"},
      {"-e 3\n", "-e 3 is not a value"},
      {"-b many\n", "-b many is not a value"},
      {"-b 99999999999999999999999\n", "does not fit in 32 bits"},
      {"-a always,exit -F arch=b64 -S chmod -F auid>=-99999999999\n", "does not fit in 32 bits"},
      {"-p wa\n", "-p without -w or -a"},
      {"-w /etc/sudoers -p wa -k " + std::string(200, 'k') + " -k " + std::string(56, 'k') + "\n",
       "longer than 256 bytes"},
      {"-a always,exit -F arch=b64\n-a always,exit -F arch=b64 -S all\n", "a.rules:2: the same rule as"},
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

TEST_F(AuditRuleCheck, TheKernelTakesTheSameRuleAgainOnlyWithMinusA) {
  rules("a.rules", "-A always,exit -F arch=b64 -S execve\n-A always,exit -F arch=b64 -S execve\n");
  EXPECT_EQ(run("audit_rule: {syscalls: [execve], arch: b64}").outcome, Outcome::kPass);
  rules("a.rules", "-A always,exit -F arch=b64 -S execve\n-a always,exit -F arch=b64 -S execve\n");
  EXPECT_NE(error_of("audit_rule: {syscalls: [execve], arch: b64}").find("a.rules:2: the same rule as"),
            std::string::npos);
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
  EXPECT_THROW(parse("audit_rule: {watch: /etc/sudoers, every_setid_under: /, permissions: x}"), PolicyError);
  EXPECT_THROW(parse("audit_rule: {every_setid_under: usr, permissions: x}"), PolicyError);
  EXPECT_THROW(parse("audit_rule: {watch: /etc/sudoers, permissions: wq}"), PolicyError);
  EXPECT_THROW(parse("audit_rule: {syscalls: [nosuchcall]}"), PolicyError);
  EXPECT_THROW(parse("audit_rule: {syscalls: [execve], fields: ['colour=red']}"), PolicyError);
  EXPECT_THROW(parse("audit_rule: {syscalls: [execve], fields: ['arch=b64']}"), PolicyError);
  EXPECT_THROW(parse("audit_rule: {syscalls: [execve], equals: 2}"), PolicyError);
  EXPECT_THROW(parse("audit_rule: {setting: enabled}"), PolicyError);
  EXPECT_THROW(parse("audit_rule: {setting: colour, equals: 2}"), PolicyError);
  EXPECT_THROW(parse("audit_rule: {rule: everything}"), PolicyError);
  EXPECT_THROW(parse("audit_rule: {source: kernel, setting: enabled, equals: 2}"), PolicyError);
  // kernel_cmdline reads other sources through the same field.
  EXPECT_THROW(parse("audit_rule: {source: grub_cfg, setting: enabled, equals: 2}"), PolicyError);
  EXPECT_THROW(parse("kernel_cmdline: {parameter: audit, source: loaded, equals: '1'}"), PolicyError);
  EXPECT_NO_THROW(parse("kernel_cmdline: {parameter: audit, source: grub_cfg, equals: '1'}"));
}

// This machine's rules.d (Debian's default file sets -D, -b, -f and
// --backlog_wait_time) reads without error.
TEST(AuditRulesRealFiles, ThisMachinesRulesParse) {
  if (!std::filesystem::is_directory("/etc/audit/rules.d")) GTEST_SKIP() << "no /etc/audit/rules.d (package auditd)";
  AuditRules rules;
  ASSERT_NO_THROW(rules = read_audit_rules_files("/"));
  EXPECT_FALSE(rules.files.empty());
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

namespace vigil::policy {
namespace {

namespace fs = std::filesystem;

// The output and exit status of a shell command.
std::pair<int, std::string> shell(const std::string& command) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  std::string output;
  char buffer[4096];
  for (size_t got; (got = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0;) output.append(buffer, got);
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// The machine's audit rules and settings, put back however the test ends.
class KernelRulesGuard {
 public:
  explicit KernelRulesGuard(const fs::path& dir) : saved_(dir / "saved.rules") {
    std::ofstream(saved_) << shell("auditctl -l").second;
    status_ = parse_auditctl_listing("", shell("auditctl -s").second).settings;
  }
  ~KernelRulesGuard() {
    shell("auditctl -D");
    if (shell("grep -qv '^No rules' " + saved_.string()).first == 0) shell("auditctl -R " + saved_.string());
    for (const auto& [setting, option] :
         std::map<std::string, std::string>{{"failure", "-f"},
                                            {"backlog_limit", "-b"},
                                            {"rate_limit", "-r"},
                                            {"backlog_wait_time", "--backlog_wait_time"}})
      if (status_.count(setting)) shell("auditctl " + option + " " + status_[setting].value);
  }

 private:
  fs::path saved_;
  std::map<std::string, ConfigValue> status_;
};

// Random rules.d files merged by the real augenrules (its paths pointed at a
// temporary directory) and loaded by auditctl -R: the reader must read what
// auditctl -l then lists, rule by rule, and err where auditctl refuses a line.
TEST(AuditRulesOracle, AugenrulesAuditctlAndTheReaderAgree) {
  if (::geteuid() != 0) GTEST_SKIP() << "loading audit rules needs root";
  if (!fs::exists("/usr/sbin/augenrules")) GTEST_SKIP() << "augenrules is not installed (package auditd)";
  auto status = shell("auditctl -s");
  if (status.first != 0) GTEST_SKIP() << "auditctl -s does not work here: " << status.second;
  if (status.second.find("enabled 2") != std::string::npos)
    GTEST_SKIP() << "the audit rules are immutable (enabled 2) until reboot";
  test::TempDir dir;
  KernelRulesGuard guard(dir.path());
  // Never -e (it could lock the rules until reboot) nor -f 2 (panic on failure).
  const std::vector<std::string> lines = {
      "-w /etc/sudoers -p wa -k scope",
      "-w /etc/sudoers.d/ -p wa -k scope",
      "-w /etc/passwd -p wa -k identity",
      "-w /etc/passwd",
      "-w /var/log/sudo-oracle.log -p wa -k sudo_log_file",
      "-a always,exit -F path=/etc/shadow -F perm=wa -k identity",
      "-a exit,always -F arch=b64 -F path=/etc/group -F perm=aw",
      "-a always,exit -F arch=b64 -C euid!=uid -F auid!=unset -S execve -k user_emulation",
      "-a always,exit -F arch=b32 -C euid!=uid -F auid!=unset -S execve -k user_emulation",
      "-a always,exit -F arch=b64 -S adjtimex,settimeofday -S clock_settime -k time-change",
      "-a always,exit -F arch=b32 -S adjtimex,settimeofday,clock_settime,stime -k time-change",
      "-a always,exit -F arch=b64 -S creat,open,openat,truncate,ftruncate -F exit=-EACCES -F auid>=1000 -F "
      "auid!=unset -k access",
      "-a always,exit -F arch=b32 -S open -F exit=-13 -F auid>=1000 -F auid!=4294967295 -F key=access",
      "-a always,exit -F path=/usr/bin/sudo -F perm=x -F auid>=1000 -F auid!=unset -k privileged",
      "-A always,exit -F arch=b64 -S chmod,fchmod,fchmodat -F auid>=1000 -F auid!=-1 -k perm_mod",
      "-a always,exit -F arch=b64 -S unlink,unlinkat,rename,renameat -F success=1 -k delete",
      "-a always,exit -F arch=x86_64 -S init_module,finit_module,delete_module -k modules -k more",
      "-a always,exit -F arch=b64 -S execve -F loginuid>=1000",
      "-a never,exit -F arch=b64 -S mount -F uid=0",
      "-a always,exclude -F msgtype=CWD",
      "-A never,task -F uid=65534",
      "-a always,exit -S all -F dir=/etc/audit/ -F perm=wa",
      "-a always,exit -F path=/etc/hosts -p wa",
      "-w /etc/hosts -p wa -F auid>=1000",
      "-a always,exit -F arch=b64",
      "-a always,exit -F arch=b32 -S all",
      "-a always,exit -F path=/etc/sudoers.d/ -F perm=wa",
      "-a always,exit -F dir=/etc/nonexistent-oracle -F perm=wa",
      "-w /var/log/ -p wa",
      "-b 4096",
      "-f 1",
      "--backlog_wait_time 1000",
      "-r 0",
      "-D",
      "## a comment",
      "  # an indented comment",
      "",
      // auditctl takes these, the reader does not
      "-w/etc/hosts -pwa",
      "-a always,exit -F arch=b64 -S chmod -F uid=root",
  };
  const std::vector<std::string> refused = {
      "-w /etc/sudoers -p wz",
      "-a always,exit -F arch=b64 -S stime",
      "-a always,exit -S chmod -F arch=b64",
      "-a sometimes,exit -S chmod",
      "-a always,exit -F arch=b64 -S chmod -F colour=red",
      "-w /nonexistent-oracle/x -p wa",
      "-w /etc/sudoers -p wa junk",
      "-p wa",
      "-b many",
  };
  // The watched paths exist under the reader's root as on this machine.
  fs::path root = dir.path() / "root";
  for (const char* path : {"/etc/sudoers", "/etc/passwd", "/etc/shadow", "/etc/group", "/usr/bin/sudo", "/etc/hosts"})
    if (fs::exists(path)) test_util::write_under(root, path, "");
  for (const char* path : {"/etc/sudoers.d", "/etc/audit", "/var/log"})
    if (fs::is_directory(path)) fs::create_directories(root / fs::path(path).relative_path());
  fs::path rules_d = root / "etc/audit/rules.d";
  fs::path merged = dir.path() / "audit.rules";
  fs::path augenrules = dir.path() / "augenrules";
  shell("sed -e 's#^DestinationFile=.*#DestinationFile=" + merged.string() +
        "#' -e 's#^SourceRulesDir=.*#SourceRulesDir=" + rules_d.string() + "#' /usr/sbin/augenrules > " +
        augenrules.string());
  std::mt19937 random(21);
  int agreed = 0, refused_by_both = 0, unsupported = 0;
  for (int round = 0; round < 150; ++round) {
    fs::remove_all(rules_d);
    fs::create_directories(rules_d);
    std::string files[2];
    for (auto& text : files)
      for (int count = static_cast<int>(random() % 6); count > 0; --count)
        text += (random() % 10 ? lines[random() % lines.size()] : refused[random() % refused.size()]) + "\n";
    std::ofstream(rules_d / "10-a.rules") << files[0];
    std::ofstream(rules_d / "9-b.rules") << files[1];
    fs::remove(merged);
    auto generated = shell("sh " + augenrules.string());
    ASSERT_TRUE(fs::exists(merged)) << generated.second;
    shell("auditctl -D");
    auto loaded = shell("auditctl -R " + merged.string());
    std::string listing = shell("auditctl -l").second;
    std::string context = "9-b.rules:\n" + files[1] + "10-a.rules:\n" + files[0] + "auditctl -R: " + loaded.second;
    try {
      AuditRules read = read_audit_rules_files(root);
      ASSERT_EQ(loaded.first, 0) << "the reader read what auditctl refuses\n" << context;
      AuditRules kernel = parse_auditctl_listing(listing, "");
      ASSERT_EQ(read.rules.size(), kernel.rules.size()) << context << "auditctl -l:\n" << listing;
      for (size_t i = 0; i < read.rules.size(); ++i)
        EXPECT_EQ(audit_rule_canonical(read.rules[i]), audit_rule_canonical(kernel.rules[i]))
            << read.rules[i].origin << "\n"
            << context << "auditctl -l:\n"
            << listing;
      ++agreed;
    } catch (const std::runtime_error& problem) {
      std::string what = problem.what();
      if (loaded.first != 0) {
        ++refused_by_both;
      } else {
        EXPECT_NE(what.find("this reader"), std::string::npos)
            << "auditctl loads what the reader refuses: " << what << "\n"
            << context;
        ++unsupported;
      }
    }
  }
  std::printf("audit rules oracle: %d agree, %d refused by both, %d not read by the reader\n", agreed, refused_by_both,
              unsupported);
  EXPECT_GT(agreed, 30);
  EXPECT_GT(refused_by_both, 30);
}

}  // namespace
}  // namespace vigil::policy
