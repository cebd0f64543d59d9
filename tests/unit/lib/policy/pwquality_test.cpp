// The pwquality reader and check kind against files built under a temp
// root: libpwquality 1.4.5's defaults, pwquality.conf.d before
// pwquality.conf, the line syntax, pam_pwquality's arguments on top, the
// module missing from the stack, what is an error with its file:line, and
// libpwquality itself as the oracle on generated files.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>

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
};

TEST_F(PwqualityCheck, DefaultsWithoutFiles) {
  EXPECT_EQ(outcome("pwquality: {key: minlen, at_least: 14}"), "fail: minlen = 8 (default), expected at least 14");
  EXPECT_EQ(outcome("pwquality: {key: dictcheck, equals: 1}"), "pass: dictcheck = 1 (default)");
  EXPECT_EQ(outcome("pwquality: {key: enforce_for_root, equals: 1}").substr(0, 4), "fail");
  EXPECT_EQ(outcome("pwquality: {key: badwords, present: false}"), "pass: badwords is not set");
  auto settings = pwquality_files(dir_.path());
  EXPECT_EQ(settings.size(), 19u);
  EXPECT_EQ(settings.at("dictpath").value, "/var/cache/cracklib/cracklib_dict");
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

// libpwquality itself (through python3-pwquality, which scripts/bootstrap
// installs) as the oracle: on seeded random pwquality.conf and
// pwquality.conf.d files and module arguments it must refuse what the reader
// refuses and give every setting the reader gives.
TEST(PwqualityOracle, LibpwqualityAndTheReaderAgree) {
  const char* python = "/usr/bin/python3";
  if (!std::filesystem::exists(python) ||
      std::system((std::string(python) + " -c 'import pwquality' 2>/dev/null").c_str()) != 0)
    GTEST_SKIP() << "python3-pwquality is not installed (scripts/bootstrap installs it)";
  test::TempDir dir;
  const std::filesystem::path root = dir.path();
  const std::string script = (root / "oracle.py").string();
  // Every setting as NAME=VALUE lines ("-" for none), or "error" when libpwquality refuses.
  std::ofstream(script) << "import sys, pwquality\n"
                           "s = pwquality.PWQSettings()\n"
                           "try:\n"
                           "    s.read_config(sys.argv[1])\n"
                           "    for arg in sys.argv[2:]:\n"
                           "        s.set_option(arg)\n"
                           "except Exception:\n"
                           "    print('error'); sys.exit(0)\n"
                           "for name in sorted(n for n in dir(s) if not n.startswith('_') and n not in\n"
                           "                   ('check', 'generate', 'read_config', 'set_option')):\n"
                           "    value = getattr(s, name)\n"
                           "    print(name + '=' + ('-' if value is None else str(value)))\n";
  const std::vector<std::string> lines = {"minlen = 14",
                                          "minlen=9",
                                          "MinLen 12",
                                          "minlen = 3",
                                          "minclass = 7",
                                          "dcredit = -1",
                                          "ucredit=-2",
                                          "maxrepeat = 3",
                                          "maxsequence=0",
                                          "dictcheck = 0",
                                          "enforce_for_root",
                                          "enforce_for_root = 0",
                                          "local_users_only",
                                          "badwords = foo bar",
                                          "badwords =",
                                          "dictpath = /usr/share/dict/words",
                                          "retry = 3",
                                          "difok = 5",
                                          "# comment",
                                          "",
                                          "   ",
                                          "minlen = 14 # trailing",
                                          "gecoscheck=1",
                                          "usersubstr = 4",
                                          "enforcing = 0",
                                          "maxclassrepeat = 2",
                                          "minlen = +5",
                                          "minlen\t=\t11",
                                          "lcredit = -1",
                                          "ocredit=-1",
                                          "usercheck = 0",
                                          "minlen == 3",
                                          "minlen = 1x",
                                          "minlength = 3",
                                          "=5",
                                          "minlen = 99999999999"};
  const std::vector<std::string> args = {"minlen=15",   "retry=2",   "enforce_for_root", "dcredit=-3", "minclass=3",
                                         "maxrepeat=2", "badwords=", "minlen=x",         "nosuch=1"};
  std::mt19937 random(21);
  auto pick = [&](const std::vector<std::string>& from) { return from[random() % from.size()]; };
  int agreed = 0, refused = 0;
  for (int round = 0; round < 120; ++round) {
    std::filesystem::remove_all(root / "etc");
    auto file_text = [&](int count) {
      std::string text;
      for (int i = 0; i < count; ++i) text += pick(lines) + "\n";
      return text;
    };
    test_util::write_under(root, "/etc/security/pwquality.conf", file_text(static_cast<int>(random() % 5)));
    for (int files = static_cast<int>(random() % 3); files > 0; --files)
      test_util::write_under(root, "/etc/security/pwquality.conf.d/" + std::to_string(random() % 100) + ".conf",
                             file_text(1 + static_cast<int>(random() % 3)));
    std::vector<std::string> module_args;
    for (int count = static_cast<int>(random() % 3); count > 0; --count) module_args.push_back(pick(args));
    std::string command = std::string(python) + " " + script + " " + (root / "etc/security/pwquality.conf").string();
    for (const auto& arg : module_args) command += " '" + arg + "'";
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string oracle;
    char buffer[512];
    while (std::fgets(buffer, sizeof(buffer), pipe)) oracle += buffer;
    ::pclose(pipe);
    std::string reader;
    try {
      auto settings = pwquality_files(root);
      pwquality_apply_args(settings, module_args, "args");
      for (const auto& name : {"badwords",         "dcredit",   "dictcheck",   "dictpath",  "difok",
                               "enforce_for_root", "enforcing", "gecoscheck",  "lcredit",   "local_users_only",
                               "maxclassrepeat",   "maxrepeat", "maxsequence", "minclass",  "minlen",
                               "ocredit",          "retry",     "ucredit",     "usercheck", "usersubstr"})
        reader += std::string(name) + "=" + (settings.count(name) ? settings.at(name).value : "-") + "\n";
    } catch (const std::runtime_error&) {
      reader = "error\n";
    }
    std::string files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root / "etc"))
      if (entry.is_regular_file()) files += entry.path().string() + ":\n" + read_text("/", entry.path()) + "\n";
    EXPECT_EQ(reader, oracle) << files;
    (reader == "error\n" ? refused : agreed) += 1;
  }
  std::cout << agreed << " configurations read alike, " << refused << " refused by both\n";
}

}  // namespace
}  // namespace vigil::policy
