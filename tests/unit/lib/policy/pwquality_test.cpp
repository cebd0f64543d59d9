// The pwquality reader and check kind against files built under a temp
// root: libpwquality 1.4.5's defaults, pwquality.conf.d before
// pwquality.conf, the line syntax, pam_pwquality's arguments on top, the
// module missing from the stack, and what is an error with its file:line.
#include <gtest/gtest.h>

#include "policy_under_root.h"
#include "vigil/policy/limits_pwquality_grub.h"

namespace vigil::policy {
namespace {

class PwqualityCheck : public test_util::PolicyUnderRoot {
 protected:
  void SetUp() override {
    PolicyUnderRoot::SetUp();
    write("/lib/x86_64-linux-gnu/security/pam_pwquality.so", "");
    write("/lib/x86_64-linux-gnu/security/pam_unix.so", "");
    stack("retry=3");
  }
  void stack(const std::string& args) {
    write("/etc/pam.d/common-password",
          "password requisite pam_pwquality.so " + args +
              "\npassword [success=1 default=ignore] pam_unix.so obscure use_authtok try_first_pass yescrypt\n");
  }
  std::string outcome(const std::string& check) {
    auto result = run(check);
    return std::string(outcome_name(result.outcome)) + ": " + result.evidence;
  }
};

TEST_F(PwqualityCheck, DefaultsWithoutFiles) {
  EXPECT_EQ(outcome("pwquality: {key: minlen, at_least: 14}"), "fail: minlen = 8 (default), expected at least 14");
  EXPECT_EQ(outcome("pwquality: {key: dictcheck, equals: 1}"), "pass: dictcheck = 1 (default)");
  EXPECT_EQ(outcome("pwquality: {key: enforce_for_root, equals: 1}").substr(0, 4), "fail");
  EXPECT_EQ(outcome("pwquality: {key: badwords, present: false}"), "pass: badwords is not set");
  auto settings = pwquality_files(dir_.path());
  EXPECT_EQ(settings.size(), 18u);
  EXPECT_EQ(settings.at("difok").value, "1");
  EXPECT_EQ(settings.at("enforcing").value, "1");
  EXPECT_EQ(settings.at("maxrepeat").value, "0");
}

TEST_F(PwqualityCheck, MainFileAfterTheDirectory) {
  write("/etc/security/pwquality.conf", "# minlen = 9\nminlen = 14\n");
  write("/etc/security/pwquality.conf.d/50-local.conf", "minlen=10\nminclass 4\n");
  EXPECT_EQ(outcome("pwquality: {key: minlen, at_least: 14}"), "pass: minlen = 14 (/etc/security/pwquality.conf:2)");
  EXPECT_EQ(outcome("pwquality: {key: minclass, equals: 4}"),
            "pass: minclass = 4 (/etc/security/pwquality.conf.d/50-local.conf:2)");
  // Files of the directory in strcmp order; only names whose first ".conf" ends them.
  write("/etc/security/pwquality.conf.d/60-x.conf", "minclass=2\n");
  write("/etc/security/pwquality.conf.d/70.conf.bak", "minclass=1\n");
  write("/etc/security/pwquality.conf.d/80.conf.conf", "minclass=1\n");
  EXPECT_EQ(outcome("pwquality: {key: minclass, equals: 4}"),
            "fail: minclass = 2 (/etc/security/pwquality.conf.d/60-x.conf:1), expected 4");
}

TEST_F(PwqualityCheck, LineSyntaxAsLibpwqualityReadsIt) {
  write("/etc/security/pwquality.conf",
        "  MinLen   =   15   # comment\n"
        "dcredit=-1\n"
        "enforce_for_root\n"
        "badwords = foo bar\n");
  EXPECT_EQ(outcome("pwquality: {key: minlen, equals: 15}").substr(0, 4), "pass");
  EXPECT_EQ(outcome("pwquality: {key: dcredit, at_most: -1}").substr(0, 4), "pass");
  EXPECT_EQ(outcome("pwquality: {key: enforce_for_root, equals: 1}"),
            "pass: enforce_for_root = 1 (/etc/security/pwquality.conf:3)");
  EXPECT_EQ(outcome("pwquality: {key: badwords, equals: foo bar}").substr(0, 4), "pass");
  // A second '=' is part of the value, which is then no number; the whole file is then not read.
  write("/etc/security/pwquality.conf", "minlen = 15\nmaxrepeat==3\n");
  EXPECT_NE(error_of("pwquality: {key: minlen, equals: 15}")
                .find("/etc/security/pwquality.conf:2: maxrepeat takes a whole number, not '=3'"),
            std::string::npos);
  // libpwquality raises minlen to 6 and lowers minclass to 4.
  write("/etc/security/pwquality.conf", "minlen = 2\nminclass = 9\n");
  EXPECT_EQ(outcome("pwquality: {key: minlen, equals: 6}").substr(0, 4), "pass");
  EXPECT_EQ(outcome("pwquality: {key: minclass, equals: 4}").substr(0, 4), "pass");
}

TEST_F(PwqualityCheck, ModuleArgumentsOverrideTheFiles) {
  write("/etc/security/pwquality.conf", "minlen = 14\nenforcing = 1\n");
  stack("retry=3 minlen=8 enforcing=0 use_authtok debug");
  EXPECT_EQ(outcome("pwquality: {key: minlen, at_least: 14}"),
            "fail: minlen = 8 (pam_pwquality.so minlen=8 (/etc/pam.d/common-password:1)), expected at least 14");
  EXPECT_EQ(outcome("pwquality: {key: enforcing, not_equals: 0}").substr(0, 4), "fail");
  EXPECT_EQ(outcome("pwquality: {key: retry, equals: 3}").substr(0, 4), "pass");
  stack("retry=3 enforce_for_root");
  EXPECT_EQ(outcome("pwquality: {key: enforce_for_root, equals: 1}").substr(0, 4), "pass");
  stack("minlen");
  EXPECT_NE(error_of("pwquality: {key: minlen, at_least: 14}").find("minlen takes a whole number, not ''"),
            std::string::npos);
  stack("minlength=14");
  EXPECT_NE(error_of("pwquality: {key: minlen, at_least: 14}").find("unknown pwquality setting 'minlength'"),
            std::string::npos);
}

TEST_F(PwqualityCheck, ModuleNotInTheStack) {
  write("/etc/security/pwquality.conf", "minlen = 14\n");
  write("/etc/pam.d/common-password", "password [success=1 default=ignore] pam_unix.so obscure yescrypt\n");
  EXPECT_EQ(outcome("pwquality: {key: minlen, at_least: 14}"),
            "fail: pam_pwquality.so is not in the common-password password stack (from /etc/pam.d/common-password), "
            "so nothing applies minlen = 14 (/etc/security/pwquality.conf:1)");
  write("/etc/pam.d/passwd", "@include common-password\npassword requisite pam_pwquality.so minlen=15\n");
  EXPECT_EQ(outcome("pwquality: {key: minlen, service: passwd, at_least: 15}").substr(0, 4), "pass");
  stack("minlen=15\npassword requisite pam_pwquality.so minlen=16");
  EXPECT_NE(error_of("pwquality: {key: minlen, at_least: 14}").find("runs more than once"), std::string::npos);
  write("/etc/pam.d/common-password", "password requisite pam_pwquality.so\n");
  std::filesystem::remove(dir_.path() / "lib/x86_64-linux-gnu/security/pam_pwquality.so");
  EXPECT_NE(error_of("pwquality: {key: minlen, at_least: 14}").find("pam_pwquality.so is not installed"),
            std::string::npos);
}

TEST_F(PwqualityCheck, WhatIsAnError) {
  auto error_for = [&](const std::string& line, const std::string& what) {
    write("/etc/security/pwquality.conf", "# header\n" + line + "\n");
    auto evidence = error_of("pwquality: {key: minlen, at_least: 14}");
    EXPECT_NE(evidence.find("/etc/security/pwquality.conf:2: " + what), std::string::npos)
        << line << " -> " << evidence;
  };
  error_for("minlength = 14", "unknown pwquality setting 'minlength'");
  error_for("minlen = 14x", "minlen takes a whole number, not '14x'");
  error_for("minlen =", "minlen takes a whole number, not ''");
  error_for("minlen = 99999999999", "minlen takes a whole number");
  error_for("minlen = 1 4", "minlen takes a whole number, not '1 4'");
  error_for(std::string(1100, ' ') + "minlen = 14", "a line longer than libpwquality's 1023 characters");
  write("/etc/security/pwquality.conf", "");
  write("/etc/security/pwquality.conf.d/a.conf", "retries = 3\n");
  EXPECT_NE(error_of("pwquality: {key: minlen, at_least: 14}")
                .find("/etc/security/pwquality.conf.d/a.conf:1: unknown pwquality setting 'retries'"),
            std::string::npos);
  EXPECT_THROW(parse_policies("policy: t\nversion: '1'\ncontrols:\n  - id: c\n    title: t\n    check:\n"
                              "      pwquality: {key: minlength, at_least: 14}\n",
                              "t.yaml"),
               PolicyError);
}

}  // namespace
}  // namespace vigil::policy
