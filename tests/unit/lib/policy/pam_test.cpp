// The PAM reader and the pam check kind against files built under a temp
// root: effective stacks (includes, substacks, "other", "-" lines), controls
// compared by their actions, arguments, order, what is an error (with the
// file:line), and this machine's own /etc/pam.d files.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>

#include "policy_under_root.h"
#include "test_support.h"
#include "vigil/policy/config_formats.h"
#include "vigil/policy/policy.h"

namespace vigil::policy {
namespace {

namespace fs = std::filesystem;

const char* const kModuleDir = "/lib/x86_64-linux-gnu/security/";

class PamCheck : public test_util::PolicyUnderRoot {
 protected:
  void SetUp() override {
    PolicyUnderRoot::SetUp();
    for (const char* module : {"pam_unix.so", "pam_deny.so", "pam_permit.so", "pam_pwquality.so", "pam_faillock.so",
                               "pam_env.so", "pam_limits.so", "pam_systemd.so", "pam_nologin.so", "pam_rootok.so"})
      write(std::string(kModuleDir) + module, "");
    // Debian 12's common files, as pam-auth-update writes them (comments shortened).
    write("/etc/pam.d/common-auth",
          "# here are the per-package modules (the \"Primary\" block)\n"
          "auth\t[success=1 default=ignore]\tpam_unix.so nullok\n"
          "auth\trequisite\t\t\tpam_deny.so\n"
          "auth\trequired\t\t\tpam_permit.so\n");
    write("/etc/pam.d/common-password",
          "password\trequisite\t\t\tpam_pwquality.so retry=3 minlen=14\n"
          "password\t[success=1 default=ignore]\tpam_unix.so obscure use_authtok try_first_pass yescrypt\n"
          "password\trequisite\t\t\tpam_deny.so\n"
          "password\trequired\t\t\tpam_permit.so\n");
    write("/etc/pam.d/common-account",
          "account [success=1 new_authtok_reqd=done default=ignore] pam_unix.so\n"
          "account requisite pam_deny.so\naccount required pam_permit.so\n");
    write("/etc/pam.d/common-session", "session required pam_unix.so\nsession optional pam_systemd.so\n");
    write("/etc/pam.d/other",
          "@include common-auth\n@include common-account\n@include common-password\n@include common-session\n");
  }

  std::string outcome(const std::string& check) {
    auto result = run(check);
    return std::string(outcome_name(result.outcome)) + (result.outcome == Outcome::kPass ? "" : ": " + result.evidence);
  }
};

TEST_F(PamCheck, RequiredModuleWithNumericArgument) {
  const std::string base = "pam: {service: common-password, type: password, module: pam_pwquality.so, ";
  EXPECT_EQ(outcome(base + "args: {minlen: {at_least: 14}}}"), "pass");
  EXPECT_EQ(outcome(base + "control: requisite, args: {minlen: 14, retry: {at_most: 3}}}"), "pass");
  auto weak = run(base + "args: {minlen: {at_least: 15}}}");
  EXPECT_EQ(weak.outcome, Outcome::kFail);
  EXPECT_EQ(weak.evidence,
            "no entry of pam_pwquality.so in the common-password password stack matches: password requisite "
            "pam_pwquality.so retry=3 minlen=14 (/etc/pam.d/common-password:1): minlen = 14, expected at least 15");
  // requisite is not required: the controls differ in what a failure does.
  EXPECT_NE(outcome(base + "control: required}").find("control requisite, expected required"), std::string::npos);
  EXPECT_EQ(outcome(base + "control: [required, requisite]}"), "pass");
  auto pass = run(base + "args: {minlen: {at_least: 14}}}");
  EXPECT_EQ(pass.evidence, "password requisite pam_pwquality.so retry=3 minlen=14 (/etc/pam.d/common-password:1)");
}

TEST_F(PamCheck, ArgumentsPresentAbsentEqualsMatches) {
  const std::string base = "pam: {service: common-auth, type: auth, module: pam_unix.so, ";
  EXPECT_EQ(outcome(base + "args: {nullok: {present: true}}}"), "pass");
  EXPECT_EQ(outcome(base + "args: {nullok: {present: false}}}").substr(0, 4), "fail");
  EXPECT_EQ(outcome(base + "args: {debug: {present: false}}}"), "pass");
  EXPECT_EQ(outcome(base + "args: {debug: {present: true}}}").substr(0, 4), "fail");
  const std::string password = "pam: {service: common-password, type: password, module: pam_unix.so, ";
  EXPECT_EQ(outcome(password + "args: {yescrypt: {present: true}, obscure: {present: true}}}"), "pass");
  EXPECT_EQ(outcome(password + "args: {sha512: {present: true}}}").substr(0, 4), "fail");
  EXPECT_EQ(outcome("pam: {service: common-password, type: password, module: pam_pwquality.so, "
                    "args: {retry: {one_of: ['1', '2', '3']}, minlen: {matches: '^1[0-9]$'}}}"),
            "pass");
}

TEST_F(PamCheck, ControlsCompareByWhatTheyDo) {
  const std::string base = "pam: {service: common-auth, type: auth, module: ";
  EXPECT_EQ(outcome(base + "pam_unix.so, control: '[success=1 default=ignore]'}"), "pass");
  EXPECT_EQ(outcome(base + "pam_unix.so, control: '[default=ignore success=1]'}"), "pass");
  EXPECT_EQ(outcome(base + "pam_unix.so, control: sufficient}").substr(0, 4), "fail");
  EXPECT_EQ(outcome(base + "pam_deny.so, control: '[success=ok new_authtok_reqd=ok ignore=ignore default=die]'}"),
            "pass");
  EXPECT_EQ(outcome(base + "pam_permit.so, control: REQUIRED}"), "pass");
  EXPECT_EQ(outcome(base + "pam_permit.so, control: '[required]'}"), "pass");
  write("/etc/pam.d/common-auth", "auth [success=ok new_authtok_reqd=ok ignore=ignore default=bad] pam_unix.so\n");
  EXPECT_EQ(outcome(base + "pam_unix.so, control: required}"), "pass");
}

TEST_F(PamCheck, OrderBeforeAndAfter) {
  write("/etc/pam.d/common-auth",
        "auth required pam_faillock.so preauth\n"
        "auth [success=1 default=ignore] pam_unix.so nullok\n"
        "auth [default=die] pam_faillock.so authfail\n"
        "auth requisite pam_deny.so\n");
  const std::string base = "pam: {service: common-auth, type: auth, module: pam_faillock.so, ";
  EXPECT_EQ(outcome(base + "before: pam_unix.so}"), "pass");
  EXPECT_EQ(outcome(base + "args: {preauth: {present: true}}, before: pam_unix.so}"), "pass");
  EXPECT_EQ(outcome(base + "args: {authfail: {present: true}}, after: pam_unix.so}"), "pass");
  auto late = run(base + "args: {authfail: {present: true}}, before: pam_unix.so}");
  EXPECT_EQ(late.outcome, Outcome::kFail);
  EXPECT_NE(late.evidence.find("comes after auth [success=1 default=ignore] pam_unix.so nullok "
                               "(/etc/pam.d/common-auth:2)"),
            std::string::npos)
      << late.evidence;
  EXPECT_NE(outcome(base + "before: pam_nowhere.so}").find("pam_nowhere.so is not in the stack"), std::string::npos);
  write("/etc/pam.d/common-auth", "auth [success=1 default=ignore] pam_unix.so\nauth required pam_faillock.so\n");
  EXPECT_EQ(outcome(base + "before: pam_unix.so}").substr(0, 4), "fail");
}

TEST_F(PamCheck, ExistsFalseAndBasenames) {
  write("/etc/pam.d/login", "auth required /lib/x86_64-linux-gnu/security/pam_unix.so\n");
  EXPECT_EQ(outcome("pam: {service: login, type: auth, module: pam_unix.so}"), "pass");
  EXPECT_EQ(outcome("pam: {service: login, type: auth, module: /usr/lib/x86_64-linux-gnu/security/pam_unix.so}"),
            "pass");
  EXPECT_EQ(outcome("pam: {service: login, type: auth, module: pam_rhosts.so, exists: false}"), "pass");
  EXPECT_EQ(outcome("pam: {service: login, type: auth, module: pam_unix.so, exists: false}").substr(0, 4), "fail");
  auto missing = run("pam: {service: login, type: auth, module: pam_rhosts.so}");
  EXPECT_EQ(missing.evidence, "pam_rhosts.so is not in the login auth stack: pam_unix.so");
  // No entry of pam_unix with nullok: exists: false passes.
  EXPECT_EQ(outcome("pam: {service: login, type: auth, module: pam_unix.so, args: {nullok: {present: true}}, "
                    "exists: false}"),
            "pass");
}

TEST_F(PamCheck, IncludesExpandInPlaceWithTheirOrigin) {
  write("/etc/pam.d/sshd",
        "# sshd\n"
        "@include common-auth\n"
        "account    required     pam_nologin.so\n"
        "account include common-account\n"
        "session substack common-session\n"
        "password include common-password\n");
  auto unix_auth = run("pam: {service: sshd, type: auth, module: pam_unix.so, before: pam_deny.so}");
  EXPECT_EQ(unix_auth.outcome, Outcome::kPass);
  EXPECT_EQ(unix_auth.evidence,
            "auth [success=1 default=ignore] pam_unix.so nullok (/etc/pam.d/common-auth:2, included from "
            "/etc/pam.d/sshd:2)");
  EXPECT_EQ(outcome("pam: {service: sshd, type: account, module: pam_nologin.so, before: pam_unix.so}"), "pass");
  EXPECT_EQ(outcome("pam: {service: sshd, type: session, module: pam_systemd.so, control: optional}"), "pass");
  // An include takes only the lines of its own type.
  write("/etc/pam.d/mixed", "auth include common-session\nauth required pam_deny.so\n");
  EXPECT_EQ(outcome("pam: {service: mixed, type: auth, module: pam_unix.so, exists: false}"), "pass");
  EXPECT_EQ(outcome("pam: {service: mixed, type: session, module: pam_unix.so}"), "pass");  // from other
  // An include that brings no line of its type leaves the type to other, as PAM does.
  write("/etc/pam.d/mixed", "auth include common-session\n");
  EXPECT_NE(outcome("pam: {service: mixed, type: auth, module: pam_unix.so, exists: false}")
                .find("(/etc/pam.d/common-auth:2, included from /etc/pam.d/other:1)"),
            std::string::npos);
  // Nested includes name each site.
  write("/etc/pam.d/outer", "@include middle\n");
  write("/etc/pam.d/middle", "auth include common-auth\n");
  EXPECT_EQ(run("pam: {service: outer, type: auth, module: pam_deny.so}").evidence,
            "auth requisite pam_deny.so (/etc/pam.d/common-auth:3, included from /etc/pam.d/middle:1, included from "
            "/etc/pam.d/outer:1)");
}

TEST_F(PamCheck, OtherServesServicesWithoutFileOrLinesOfAType) {
  auto fallback = run("pam: {service: nosuch, type: password, module: pam_pwquality.so, exists: false}");
  EXPECT_EQ(fallback.outcome, Outcome::kFail);
  EXPECT_NE(fallback.evidence.find("common-password:1, included from /etc/pam.d/other:3"), std::string::npos)
      << fallback.evidence;
  write("/etc/pam.d/su", "auth sufficient pam_rootok.so\n");
  EXPECT_EQ(outcome("pam: {service: su, type: auth, module: pam_unix.so, exists: false}"), "pass");
  EXPECT_NE(outcome("pam: {service: su, type: session, module: pam_nope.so}")
                .find("su session stack (from /etc/pam.d/other (su has no session lines))"),
            std::string::npos);
  // /usr/lib/pam.d serves a service /etc/pam.d does not have.
  write("/usr/lib/pam.d/systemd-user", "session required pam_limits.so\n");
  EXPECT_EQ(outcome("pam: {service: systemd-user, type: session, module: pam_limits.so}"), "pass");
}

TEST_F(PamCheck, LineSyntaxAsPamReadsIt) {
  write("/etc/pam.d/syntax",
        "  auth   required \\\n"
        "# a comment inside a continued line is skipped\n"
        "\n"
        "      pam_env.so readenv=1 \\\n"
        "      envfile=/etc/default/locale # trailing comment \\\n"
        "AUTH Optional pam_limits.so [conf=/etc/my limits.conf] [a\\]b]\n"
        "-auth optional pam_not_installed.so\n"
        "-auth optional pam_unix.so\n"
        "auth [success=done default=2] pam_deny.so\n");
  EXPECT_EQ(outcome("pam: {service: syntax, type: auth, module: pam_env.so, control: required, "
                    "args: {readenv: '1', envfile: /etc/default/locale}}"),
            "pass");
  auto env = run("pam: {service: syntax, type: auth, module: pam_env.so}");
  EXPECT_EQ(env.evidence, "auth required pam_env.so readenv=1 envfile=/etc/default/locale (/etc/pam.d/syntax:1)");
  auto limits = run("pam: {service: syntax, type: auth, module: pam_limits.so, args: {conf: '/etc/my limits.conf'}}");
  EXPECT_EQ(limits.outcome, Outcome::kPass) << limits.evidence;
  EXPECT_EQ(limits.evidence, "auth Optional pam_limits.so [conf=/etc/my limits.conf] a]b (/etc/pam.d/syntax:6)");
  // A "-" line whose module is not installed is not in the stack; one that is installed is.
  auto skipped = run("pam: {service: syntax, type: auth, module: pam_not_installed.so}");
  EXPECT_EQ(skipped.outcome, Outcome::kFail);
  EXPECT_NE(skipped.evidence.find("skipped, not installed: pam_not_installed.so (/etc/pam.d/syntax:7)"),
            std::string::npos)
      << skipped.evidence;
  EXPECT_EQ(outcome("pam: {service: syntax, type: auth, module: pam_unix.so, control: optional}"), "pass");
  EXPECT_EQ(outcome("pam: {service: syntax, type: auth, module: pam_deny.so, control: '[default=2 success=done]'}"),
            "pass");
}

TEST_F(PamCheck, WhatIsNotReadExactlyIsAnErrorWithFileAndLine) {
  const std::string check = "pam: {service: svc, type: auth, module: pam_unix.so}";
  auto error_for = [&](const std::string& text) {
    write("/etc/pam.d/svc", "auth required pam_unix.so\n" + text);
    return error_of(check);
  };
  EXPECT_NE(error_for("authentication required pam_unix.so\n")
                .find("pam (line 7): /etc/pam.d/svc:2: type \"authentication\" is not one PAM knows"),
            std::string::npos);
  EXPECT_NE(error_for("- required pam_unix.so\n").find("svc:2: type \"-\""), std::string::npos);
  EXPECT_NE(error_for("auth [success=1 default=ignore pam_unix.so\n").find("svc:2: \"[\" without its \"]\""),
            std::string::npos);
  EXPECT_NE(error_for("auth [sucess=1 default=ignore] pam_unix.so\n")
                .find("svc:2: control \"sucess=1 default=ignore\" is not understood (unknown value \"sucess\")"),
            std::string::npos);
  EXPECT_NE(error_for("auth [success=maybe] pam_unix.so\n").find("unknown action \"maybe\""), std::string::npos);
  EXPECT_NE(error_for("auth [success=0] pam_unix.so\n").find("a jump of 0"), std::string::npos);
  EXPECT_NE(error_for("auth [success] pam_unix.so\n").find("is not value=action"), std::string::npos);
  EXPECT_NE(error_for("auth [] pam_unix.so\n").find("svc:2: an empty \"[]\""), std::string::npos);
  EXPECT_NE(error_for("auth required\n").find("svc:2: a line without a module"), std::string::npos);
  EXPECT_NE(error_for("auth\n").find("svc:2: a line without a control"), std::string::npos);
  EXPECT_NE(error_for("auth include\n").find("svc:2: include without a service name"), std::string::npos);
  // A malformed line of another type errs too: nothing read is left unchecked.
  EXPECT_NE(error_for("session [success=bogus] pam_unix.so\n").find("svc:2:"), std::string::npos);
  EXPECT_NE(error_for("@include nowhere\n")
                .find("svc:2: the included service \"nowhere\" does not exist (PAM fails the whole stack)"),
            std::string::npos);
  EXPECT_NE(error_for("auth substack nowhere\n").find("svc:2: the included service \"nowhere\""), std::string::npos);
  EXPECT_NE(error_for("@include common-auth extra\n").find("svc:2: @include takes one service name"),
            std::string::npos);
  EXPECT_NE(error_for("@import common-auth\n").find("svc:2: \"@import\" is not understood"), std::string::npos);
  EXPECT_NE(error_for("auth include ../shadow\n").find("service name \"../shadow\" is not understood"),
            std::string::npos);
  EXPECT_NE(error_for("auth required pam_unix.so " + std::string(1100, 'x') + "\n").find("svc:2: a line longer"),
            std::string::npos);
  // Include loops, direct and through another file.
  EXPECT_NE(error_for("@include svc\n").find("svc:2: including \"svc\" makes a loop"), std::string::npos);
  write("/etc/pam.d/a", "auth include b\n");
  write("/etc/pam.d/b", "auth include a\n");
  EXPECT_NE(error_of("pam: {service: a, type: auth, module: pam_unix.so}")
                .find("/etc/pam.d/b:1: including \"a\" makes a loop"),
            std::string::npos);
  EXPECT_NE(error_for("auth required pam_unix.so\r\n").find("svc:2: a carriage return is not understood"),
            std::string::npos);
  // PAM reads other for every service: what it cannot read fails them all.
  write("/etc/pam.d/other", "@include common-auth\nauth [success=1 default=ignor] pam_deny.so\n");
  EXPECT_NE(error_for("").find("/etc/pam.d/other:2: control \"success=1 default=ignor\" is not understood (unknown "
                               "action \"ignor\")"),
            std::string::npos);
  write("/etc/pam.d/other", "@include common-auth\n");
  // A module PAM cannot load makes its line fail, not vanish.
  write("/etc/pam.d/svc", "auth required pam_gone.so\n");
  EXPECT_NE(error_of("pam: {service: svc, type: auth, module: pam_gone.so}")
                .find("/etc/pam.d/svc:1: module pam_gone.so is not installed"),
            std::string::npos);
  write("/etc/pam.d/svc", "auth required pam_unix.so minlen=8 minlen=14\n");
  EXPECT_NE(error_of("pam: {service: svc, type: auth, module: pam_unix.so, args: {minlen: {at_least: 8}}}")
                .find("svc:1: argument minlen is given more than once"),
            std::string::npos);
}

TEST_F(PamCheck, PamConfIsReadOnlyWithoutPamD) {
  write("/etc/pam.conf", "# comments only\n");
  EXPECT_EQ(outcome("pam: {service: common-auth, type: auth, module: pam_unix.so}"), "pass");  // ignored
  write("/etc/pam.conf", "login auth required pam_unix.so\n");
  EXPECT_EQ(outcome("pam: {service: common-auth, type: auth, module: pam_unix.so}"), "pass");  // pam.d has it
  EXPECT_NE(error_of("pam: {service: login, type: auth, module: pam_unix.so}")
                .find("/etc/pam.d has no login and /etc/pam.conf has entries"),
            std::string::npos);
  fs::remove_all(dir_.path() / "etc/pam.d");
  EXPECT_NE(error_of("pam: {service: login, type: auth, module: pam_unix.so}")
                .find("/etc/pam.d does not exist: PAM reads /etc/pam.conf"),
            std::string::npos);
}

TEST_F(PamCheck, WithoutAModuleDirectoryInstalledStateIsUnknown) {
  fs::remove_all(dir_.path() / "lib");
  EXPECT_NE(error_of("pam: {service: common-auth, type: auth, module: pam_unix.so}")
                .find("cannot tell whether module pam_unix.so is installed"),
            std::string::npos);
}

TEST(PamParse, RefusesInvalidPamChecks) {
  std::string head = "policy: p\nversion: '1'\ncontrols:\n  - id: a\n    title: t\n    check:\n";
  for (const auto& [text, error] : std::vector<std::pair<std::string, std::string>>{
           {"      pam: {service: sshd, type: file, module: pam_unix.so}\n", "p.yaml:7: type must be auth, account"},
           {"      pam: {service: sshd, module: pam_unix.so}\n", "p.yaml:7: a pam check needs 'type'"},
           {"      pam: {type: auth, module: pam_unix.so}\n", "p.yaml:7: a pam check needs 'service'"},
           {"      pam: {service: sshd, type: auth}\n", "p.yaml:7: a pam check needs 'module'"},
           {"      pam: {service: sshd, type: auth, module: m, control: '[success=nope]'}\n",
            "p.yaml:7: control: control \"success=nope\" is not understood"},
           {"      pam: {service: sshd, type: auth, module: m, control: include}\n", "is not a module's control"},
           {"      pam: {service: sshd, type: auth, module: m, args: [minlen]}\n", "args takes argument names"},
           {"      pam: {service: sshd, type: auth, module: m, args: {minlen: {bigger: 3}}}\n",
            "unknown expectation 'bigger' for argument minlen"},
           {"      pam: {service: sshd, type: auth, module: m, equals: 3}\n", "unknown field 'equals' in a pam check"},
       }) {
    try {
      parse_policies(head + text, "p.yaml");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const PolicyError& problem) {
      EXPECT_NE(std::string(problem.what()).find(error), std::string::npos) << problem.what();
    }
  }
}

// This machine's own Debian 12 files parse, every service and type, without an error.
TEST(PamRealFiles, ThisMachinesPamDParses) {
  const std::vector<std::string> services = {"common-auth",
                                             "common-account",
                                             "common-password",
                                             "common-session",
                                             "common-session-noninteractive",
                                             "sshd",
                                             "login",
                                             "su",
                                             "sudo",
                                             "other"};
  test::TempDir root;
  int copied = 0;
  std::error_code ignored;
  for (const auto& name : fs::directory_iterator("/etc/pam.d", ignored)) {
    fs::create_directories(root.path() / "etc/pam.d");
    fs::copy_file(name.path(), root.path() / "etc/pam.d" / name.path().filename(), ignored);
    ++copied;
  }
  if (copied == 0) GTEST_SKIP() << "no /etc/pam.d on this machine";
  // The modules this machine has, as empty files: their names are what the reader looks for.
  for (const char* dir : {"/lib/x86_64-linux-gnu/security", "/usr/lib/x86_64-linux-gnu/security"}) {
    for (const auto& module : fs::directory_iterator(dir, ignored)) {
      fs::create_directories(root.path() / fs::path(dir).relative_path());
      std::ofstream(root.path() / fs::path(dir).relative_path() / module.path().filename());
    }
  }
  int stacks = 0;
  for (const auto& service : services) {
    if (!fs::exists("/etc/pam.d/" + service)) {
      std::cout << "[ SKIPPED  ] /etc/pam.d/" << service << " is not on this machine\n";
      continue;
    }
    for (const char* type : {"auth", "account", "password", "session"}) {
      try {
        PamStack stack = pam_stack(root.path(), service, type);
        for (const auto& entry : stack.entries) EXPECT_FALSE(entry.origin.empty());
        ++stacks;
      } catch (const std::exception& problem) {
        ADD_FAILURE() << service << " " << type << ": " << problem.what();
      }
    }
  }
  std::cout << "read " << stacks << " stacks of this machine's /etc/pam.d\n";
  // Debian's common-auth runs pam_unix.
  if (fs::exists("/etc/pam.d/common-auth")) {
    auto stack = pam_stack(root.path(), "common-auth", "auth");
    EXPECT_TRUE(std::any_of(stack.entries.begin(), stack.entries.end(),
                            [](const PamEntry& entry) { return entry.module == "pam_unix.so"; }));
  }
}

}  // namespace
}  // namespace vigil::policy
