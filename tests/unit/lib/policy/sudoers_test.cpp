// The sudoers reader and the sudoers check kind against files built under a
// temp root: effective Defaults (last one wins, scoped Defaults), includes,
// the NOPASSWD and !authenticate rules with their file:line, what is an error,
// visudo -c itself as the oracle on generated files, and this machine's own
// /etc/sudoers.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>

#include "policy_under_root.h"
#include "test_support.h"
#include "vigil/policy/config_formats.h"
#include "vigil/policy/policy.h"

namespace vigil::policy {
namespace {

namespace fs = std::filesystem;

using test_util::write_under;

class SudoersCheck : public test_util::PolicyUnderRoot {};

// Debian 12's /etc/sudoers, comments shortened.
const char* const kDebian =
    "# This file MUST be edited with the 'visudo' command as root.\n"
    "Defaults\tenv_reset\n"
    "Defaults\tmail_badpass\n"
    "Defaults\tsecure_path=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\n"
    "Defaults\tuse_pty\n"
    "# User privilege specification\n"
    "root\tALL=(ALL:ALL) ALL\n"
    "%sudo\tALL=(ALL:ALL) ALL\n"
    "@includedir /etc/sudoers.d\n";

TEST_F(SudoersCheck, GlobalDefaultsLastOneWins) {
  write("/etc/sudoers", std::string(kDebian) + "Defaults timestamp_timeout=30\nDefaults timestamp_timeout=10\n");
  EXPECT_EQ(outcome("sudoers: {key: use_pty, equals: 'on'}"), "pass: Defaults use_pty = on (/etc/sudoers:5)");
  EXPECT_EQ(outcome("sudoers: {key: timestamp_timeout, at_most: 15}"),
            "pass: Defaults timestamp_timeout = 10 (/etc/sudoers:11)");
  EXPECT_EQ(outcome("sudoers: {key: timestamp_timeout, at_most: 5}"),
            "fail: Defaults timestamp_timeout = 10 (/etc/sudoers:11), expected at most 5");
  EXPECT_EQ(outcome("sudoers: {key: logfile, present: true}"), "fail: Defaults logfile is not set");
  EXPECT_EQ(outcome("sudoers: {key: logfile, default: none, equals: none}"), "pass: Defaults logfile = none (default)");
  EXPECT_EQ(outcome("sudoers: {key: secure_path, matches: '^/usr/local/sbin:'}").substr(0, 5), "pass:");
  // A later !use_pty in an included file wins.
  write("/etc/sudoers.d/zz", "Defaults !use_pty\nDefaults logfile=\"/var/log/sudo.log\"\n");
  EXPECT_EQ(outcome("sudoers: {key: use_pty, equals: 'on'}"),
            "fail: Defaults use_pty = off (/etc/sudoers.d/zz:1), expected on");
  EXPECT_EQ(outcome("sudoers: {key: logfile, equals: /var/log/sudo.log}"),
            "pass: Defaults logfile = /var/log/sudo.log (/etc/sudoers.d/zz:2)");
  EXPECT_EQ(outcome("sudoers: {key: logfile, matches: '^/var/log/'}").substr(0, 5), "pass:");
  EXPECT_EQ(outcome("sudoers: {key: logfile, matches: '^/tmp/'}").substr(0, 5), "fail:");
}

TEST_F(SudoersCheck, ValuesAsSudoAppliesThem) {
  write("/etc/sudoers",
        "Defaults timestamp_timeout=-1, !lecture, passwd_tries=3\n"
        "Defaults env_keep=\"HOME EDITOR\"\nDefaults env_keep += TERM\nDefaults env_keep -= HOME\n"
        "Defaults !logfile\n");
  EXPECT_EQ(outcome("sudoers: {key: timestamp_timeout, at_most: 15}"),
            "fail: Defaults timestamp_timeout = never (/etc/sudoers:1), which is not a number");
  EXPECT_EQ(outcome("sudoers: {key: lecture, equals: never}"), "pass: Defaults lecture = never (/etc/sudoers:1)");
  EXPECT_EQ(outcome("sudoers: {key: env_keep, equals: EDITOR TERM}"),
            "pass: Defaults env_keep = EDITOR TERM (/etc/sudoers:4)");
  EXPECT_EQ(outcome("sudoers: {key: logfile, present: false}"), "pass: Defaults logfile is not set");
  // += on sudo's built-in list: the value is not known.
  write("/etc/sudoers", "Defaults env_keep += TERM\n");
  EXPECT_NE(error_of("sudoers: {key: env_keep, matches: TERM}").find("/etc/sudoers:1: Defaults env_keep += edits"),
            std::string::npos);
}

TEST_F(SudoersCheck, ScopedDefaultsAreCheckedOrNamed) {
  write("/etc/sudoers",
        "Defaults use_pty\nDefaults:alice !use_pty\nDefaults@db1 use_pty\nDefaults timestamp_timeout=5\n"
        "Defaults>root timestamp_timeout=60\nDefaults!/usr/bin/less timestamp_timeout=1\n");
  EXPECT_EQ(outcome("sudoers: {key: use_pty, equals: 'on'}"),
            "fail: Defaults use_pty = on (/etc/sudoers:1); Defaults:alice use_pty = off (/etc/sudoers:2), expected on "
            "(scoped: Defaults@db1 use_pty = on (/etc/sudoers:3))");
  EXPECT_EQ(outcome("sudoers: {key: use_pty, equals: 'on', scope: global}"),
            "pass: Defaults use_pty = on (/etc/sudoers:1) (scoped, not checked: Defaults:alice use_pty = off "
            "(/etc/sudoers:2), expected on; Defaults@db1 use_pty = on (/etc/sudoers:3))");
  EXPECT_EQ(outcome("sudoers: {key: timestamp_timeout, at_most: 15}"),
            "fail: Defaults timestamp_timeout = 5 (/etc/sudoers:4); Defaults>root timestamp_timeout = 60 "
            "(/etc/sudoers:5), expected at most 15 (scoped: Defaults!/usr/bin/less timestamp_timeout = 1 "
            "(/etc/sudoers:6))");
  write("/etc/sudoers", "Defaults logfile=/var/log/sudo.log\nDefaults:%ops !logfile\n");
  EXPECT_EQ(outcome("sudoers: {key: logfile, present: true}"),
            "fail: Defaults logfile = /var/log/sudo.log (/etc/sudoers:1); Defaults:%ops logfile is switched off "
            "(/etc/sudoers:2)");
}

TEST_F(SudoersCheck, NoNopasswdWithFileAndLine) {
  write("/etc/sudoers", kDebian);
  write("/etc/sudoers.d/ops",
        "Cmnd_Alias UPDATE = /usr/bin/apt update, /usr/bin/apt upgrade\n"
        "%ops ALL = (root) NOPASSWD: UPDATE, PASSWD: /bin/systemctl restart nginx\n"
        "alice ALL = NOPASSWD: !/bin/su\n");
  EXPECT_EQ(outcome("sudoers: {rule: no_authenticate_off}"),
            "pass: nothing grants !authenticate (2 files read from /etc/sudoers)");
  EXPECT_EQ(outcome("sudoers: {rule: no_nopasswd}"), "fail: %ops ALL = (root) NOPASSWD: UPDATE (/etc/sudoers.d/ops:2)");
  // Tags carry over to the next commands of the line until changed.
  write("/etc/sudoers.d/ops", "bob host1 = NOEXEC: NOPASSWD: /bin/ls, /bin/cat : host2 = /bin/df\n");
  EXPECT_EQ(outcome("sudoers: {rule: no_nopasswd}"),
            "fail: bob host1 = NOPASSWD: /bin/ls (/etc/sudoers.d/ops:1); bob host1 = NOPASSWD: /bin/cat "
            "(/etc/sudoers.d/ops:1)");
  write("/etc/sudoers.d/ops", "bob ALL = PASSWD: /bin/ls\n");
  EXPECT_EQ(outcome("sudoers: {rule: no_nopasswd}").substr(0, 5), "pass:");
}

TEST_F(SudoersCheck, NoAuthenticateOff) {
  write("/etc/sudoers", "Defaults:deploy !authenticate\nDefaults !authenticate\nDefaults authenticate\n");
  EXPECT_EQ(outcome("sudoers: {rule: no_authenticate_off}"), "fail: Defaults:deploy !authenticate (/etc/sudoers:1)");
  write("/etc/sudoers", "Defaults !authenticate\n");
  EXPECT_EQ(outcome("sudoers: {rule: no_authenticate_off}"), "fail: Defaults !authenticate (/etc/sudoers:1)");
  write("/etc/sudoers", "Defaults authenticate\n");
  EXPECT_EQ(outcome("sudoers: {rule: no_authenticate_off}").substr(0, 5), "pass:");
}

TEST_F(SudoersCheck, IncludesAsSudoReadsThem) {
  write("/etc/sudoers", "Defaults logfile=/a\n@includedir /etc/sudoers.d\n#include extra/more\n");
  write("/etc/sudoers.d/10-b", "Defaults logfile=/b\n");
  write("/etc/sudoers.d/20-c", "Defaults logfile=/c\n");
  write("/etc/sudoers.d/30-d~", "Defaults logfile=/skipped-tilde\n");
  write("/etc/sudoers.d/40.conf", "Defaults logfile=/skipped-dot\n");
  write("/etc/extra/more", "Defaults logfile=/more\n#includedir ../sudoers.d\n");
  EXPECT_EQ(outcome("sudoers: {key: logfile, equals: /c}"), "pass: Defaults logfile = /c (/etc/sudoers.d/20-c:1)");
  // Relative to the including file's directory.
  write("/etc/extra/more", "Defaults logfile=/more\n");
  EXPECT_EQ(outcome("sudoers: {key: logfile, equals: /more}"), "pass: Defaults logfile = /more (/etc/extra/more:1)");
  write("/etc/extra/more", "Defaults logfile=/more\n#includedir ../sudoers.d\n");
  EXPECT_EQ(outcome("sudoers: {key: logfile, equals: /c}"), "pass: Defaults logfile = /c (/etc/sudoers.d/20-c:1)");
  write("/etc/sudoers.d/20-c", "");
  EXPECT_EQ(outcome("sudoers: {key: logfile, equals: /b}"), "pass: Defaults logfile = /b (/etc/sudoers.d/10-b:1)");
  // "# include" and an indented "#include" are comments; a missing includedir is nothing.
  write("/etc/sudoers", "# include nowhere\n  #include nowhere\n@includedir /none\nDefaults use_pty\n");
  EXPECT_EQ(outcome("sudoers: {key: use_pty, equals: 'on'}"), "pass: Defaults use_pty = on (/etc/sudoers:4)");
  // Continued lines and a uid are not comments.
  write("/etc/sudoers", "Defaults \\\n  use_pty, \\\n  !lecture\n#1000 ALL = NOPASSWD: /bin/ls\n");
  EXPECT_EQ(outcome("sudoers: {key: lecture, equals: never}"), "pass: Defaults lecture = never (/etc/sudoers:1)");
  EXPECT_EQ(outcome("sudoers: {rule: no_nopasswd}"), "fail: #1000 ALL = NOPASSWD: /bin/ls (/etc/sudoers:4)");
}

TEST_F(SudoersCheck, WhatIsNotReadExactlyIsAnErrorWithFileAndLine) {
  const std::string check = "sudoers: {key: use_pty, equals: 'on'}";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Defaults use_pty=1\n", "/etc/sudoers:1: Defaults use_pty takes no value"},
      {"Defaults no_such_thing\n", "/etc/sudoers:1: unknown Defaults setting \"no_such_thing\""},
      {"Defaults logfile\n", "/etc/sudoers:1: Defaults logfile without a value"},
      {"Defaults logfile=relative\n", "value \"relative\" of Defaults logfile must be an absolute path"},
      {"\nDefaults timestamp_timeout=1m\n", "/etc/sudoers:2: value \"1m\" of Defaults timestamp_timeout"},
      {"Defaults lecture=sometimes\n", "value \"sometimes\" of Defaults lecture is not one it takes"},
      {"Defaults use_pty+=x\n", "Defaults use_pty takes no value"},
      {"Defaults !!use_pty\n", "more than one '!'"},
      {"Defaults rlimit_core=0\n", "Defaults rlimit_core (resource limits) is not understood"},
      {"alice ALL = /bin/ls a:b\n", "/etc/sudoers:1: expected '=' after the host list"},
      {"alice ALL = \n", "a user specification without a command"},
      {"alice = /bin/ls\n", "/etc/sudoers:1: an empty entry in a list"},
      {"alice ALL = ls\n", "command \"ls\" is not a full path"},
      {"alice ALL = (root /bin/ls\n", "expected ')'"},
      {"alice ALL = sha256:abc /bin/ls\n", "a command digest (sha256:) is not understood"},
      {"User_Alias A = bob\nUser_Alias A = carl\n", "/etc/sudoers:2: alias \"A\" is defined twice"},
      {"User_Alias lower = bob\n", "\"lower\" is not an alias name"},
      {"@include missing\n", "/etc/sudoers:1: /etc/missing does not exist"},
      {"@include /etc/sudoers\n", "/etc/sudoers:1: including /etc/sudoers makes a loop"},
      {"@include /etc/sudoers.%h\n", "'%' escapes in an include path (such as %h) are not understood"},
      {"Defaults use_pty # x \\\nDefaults !use_pty\n", "/etc/sudoers:1: a '#' in a continued line"},
      {"Defaults passprompt=\"abc\n", "a '\"' without its closing one"},
      {"Defaults use_pty\r\n", "a carriage return is not understood"},
  };
  for (const auto& [text, error] : cases) {
    write("/etc/sudoers", text);
    std::string evidence = error_of(check);
    EXPECT_NE(evidence.find(error), std::string::npos) << text << " -> " << evidence;
  }
  fs::remove(dir_.path() / "etc/sudoers");
  EXPECT_NE(error_of(check).find("/etc/sudoers does not exist"), std::string::npos);
}

TEST(SudoersParse, RefusesInvalidSudoersChecks) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"sudoers: {key: use_pty}", "needs an expectation"},
      {"sudoers: {key: no_such, equals: x}", "'no_such' is not a Defaults setting"},
      {"sudoers: {rule: no_nopasswd, key: use_pty, equals: 'on'}", "'key' or 'rule' (one of them)"},
      {"sudoers: {rule: maybe}", "unknown sudoers rule 'maybe'"},
      {"sudoers: {rule: no_nopasswd, scope: global}", "takes no expectation, scope or default"},
      {"sudoers: {key: use_pty, equals: 'on', scope: some}", "scope must be all or global"},
      {"sudoers: {}", "'key' or 'rule'"},
  };
  for (const auto& [check, error] : cases) {
    std::string text = "policy: t\nversion: '1'\ncontrols:\n  - id: c\n    title: t\n    check:\n      " + check + "\n";
    try {
      parse_policies(text, "test.yaml");
      ADD_FAILURE() << check << " parsed";
    } catch (const PolicyError& problem) {
      EXPECT_NE(std::string(problem.what()).find(error), std::string::npos) << problem.what();
    }
  }
}

// visudo -c -f as the oracle: what it refuses the reader refuses; what it
// accepts the reader reads, unless the error names a construct documented as
// not understood.
TEST(SudoersOracle, VisudoAndTheReaderAgree) {
  const char* visudo = nullptr;
  for (const char* candidate : {"/usr/sbin/visudo", "/sbin/visudo"})
    if (fs::exists(candidate)) visudo = candidate;
  if (!visudo) GTEST_SKIP() << "visudo is not installed (package sudo): the oracle test cannot run";
  const std::vector<std::string> valid = {
      "Defaults use_pty",
      "Defaults !use_pty",
      "Defaults logfile=/var/log/sudo.log",
      "Defaults logfile=\"/var/log/sudo x.log\"",
      "Defaults !logfile",
      "Defaults timestamp_timeout=5",
      "Defaults timestamp_timeout=-1",
      "Defaults timestamp_timeout=2.5",
      "Defaults:alice !authenticate",
      "Defaults:%admin,bob timestamp_timeout=0",
      "Defaults:alice, bob use_pty",
      "Defaults@host1 requiretty",
      "Defaults!/usr/bin/less noexec",
      "Defaults>root !set_logname",
      "Defaults env_keep+=\"HOME EDITOR\"",
      "Defaults env_keep -= HOME",
      "Defaults lecture",
      "Defaults lecture=always",
      "Defaults !lecture",
      "Defaults passwd_tries=3, insults, !mail_badpass",
      "Defaults secure_path=\"/usr/sbin:/usr/bin\"",
      "Defaults secure_path=/usr/sbin:/usr/bin",
      "Defaults umask=0022",
      "Defaults syslog=authpriv",
      "Defaults syslog_badpri=alert",
      "Defaults log_format=json",
      "Defaults iolog_dir=/var/log/sudo-io",
      "Defaults \\\n  use_pty, \\\n  log_input",
      "User_Alias ADMINS = alice, bob, %wheel",
      "Cmnd_Alias SHUT = /sbin/reboot, /sbin/halt : PKG = /usr/bin/apt",
      "Host_Alias SERVERS = 10.0.0.0/8, host1",
      "Runas_Alias OP = root, operator",
      "root ALL=(ALL:ALL) ALL",
      "%sudo ALL=(ALL:ALL) ALL",
      "alice ALL = NOPASSWD: /usr/bin/apt update",
      "bob host1 = (root) NOEXEC: SETENV: /usr/bin/vi, PASSWD: /bin/ls",
      "#1000 ALL = /bin/true",
      "carol ALL = (operator) /bin/ls -l, !/bin/su",
      "dave ALL = /bin/cat \\\n  , /bin/ls",
      "frank ALL = CWD=/tmp /bin/pwd",
      "gina ALL = LOG_INPUT: LOG_OUTPUT: ALL",
      "harry ALL = /bin/echo a\\,b",
      "ivan ALL = /bin/ls a=b",
      "%admin ALL = (ALL) NOPASSWD: ALL : host1 = /bin/ls",
      "# a comment",
      "",
      "  # include nothing",
      "jack ALL = (:adm) /bin/ls",
      "kate ALL, !host2 = sudoedit /etc/hosts",
  };
  const std::vector<std::string> invalid = {
      "Defaults use_pty=1",
      "Defaults nosuch",
      "Defaults logfile",
      "Defaults timestamp_timeout=1m",
      "Defaults lecture=sometimes",
      "Defaults use_pty+=x",
      "alice ALL = ",
      "alice ALL = /bin/ls a:b",
      "alice = /bin/ls",
      "Defaults umask=0999",
      "alice ALL = (root /bin/ls",
      "Defaults logfile=relative",
      "Cmnd_Alias lower = /bin/ls",
      "@include missing-file",
      "User_Alias ADMINS = carl",
      "alice ALL = sha256:abc /bin/ls",
      "Defaults passwd_tries=x",
  };
  const std::vector<std::string> unsupported = {"Defaults rlimit_core=0", "Defaults !!use_pty", "@include %h"};
  std::mt19937 random(21);
  auto pick = [&](const std::vector<std::string>& from) {
    return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(random)];
  };
  auto fragment = [&] {
    unsigned roll = std::uniform_int_distribution<unsigned>(0, 99)(random);
    if (roll < 6) return pick(invalid);
    if (roll < 8) return pick(unsupported);
    return pick(valid);
  };
  int cases = 0, agreed = 0, refused = 0, unsupported_seen = 0;
  test::TempDir dir;
  for (int round = 0; round < 300; ++round) {
    fs::path root = dir.path() / std::to_string(round);
    std::string main, included;
    int lines = std::uniform_int_distribution<int>(0, 5)(random);
    for (int i = 0; i < lines; ++i) main += fragment() + "\n";
    if (round % 3 == 0) main += "@includedir sudoers.d\n";
    int more = std::uniform_int_distribution<int>(0, 3)(random);
    for (int i = 0; i < more; ++i) included += fragment() + "\n";
    write_under(root, "/etc/sudoers", main);
    write_under(root, "/etc/sudoers.d/a", included);
    ::chmod((root / "etc/sudoers").c_str(), 0440);
    ::chmod((root / "etc/sudoers.d/a").c_str(), 0440);
    std::string command = std::string(visudo) + " -c -f '" + (root / "etc/sudoers").string() + "' >/dev/null 2>&1";
    int status = std::system(command.c_str());
    bool accepted = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    std::string error;
    try {
      (void)read_sudoers(root, "/etc/sudoers");
    } catch (const std::runtime_error& problem) {
      error = problem.what();
    }
    ++cases;
    if (!accepted) ++refused;
    if (accepted && !error.empty() && error.find("not understood") != std::string::npos) {
      ++unsupported_seen;
      continue;
    }
    if (accepted == error.empty()) {
      ++agreed;
      continue;
    }
    ADD_FAILURE() << "visudo " << (accepted ? "accepts" : "refuses") << " and the reader "
                  << (error.empty() ? "reads it" : "says: " + error) << "\n--- sudoers\n"
                  << main << "--- sudoers.d/a\n"
                  << included;
  }
  std::cout << cases << " files: " << agreed << " agreed with visudo (" << refused << " refused by it), "
            << unsupported_seen << " accepted by visudo but not understood by the reader\n";
}

// Every Defaults name the reader knows, in each form, against visudo -c.
TEST(SudoersOracle, EveryDefaultsNameInEveryForm) {
  const char* visudo = nullptr;
  for (const char* candidate : {"/usr/sbin/visudo", "/sbin/visudo"})
    if (fs::exists(candidate)) visudo = candidate;
  if (!visudo) GTEST_SKIP() << "visudo is not installed (package sudo): the oracle test cannot run";
  test::TempDir dir;
  int runs = 0, agreed = 0, refused = 0, unsupported = 0;
  for (const auto& name : sudoers_default_names()) {
    for (const std::string form : {"", "!", "=/var/x", "=5", "=abc", "=never", "+=A"}) {
      std::string text = "Defaults " + (form == "!" ? "!" + name : name + form) + "\n";
      write_under(dir.path(), "/etc/sudoers", text);
      ::chmod((dir.path() / "etc/sudoers").c_str(), 0440);
      std::string command =
          std::string(visudo) + " -c -f '" + (dir.path() / "etc/sudoers").string() + "' >/dev/null 2>&1";
      int status = std::system(command.c_str());
      bool accepted = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      std::string error;
      try {
        auto sudoers = read_sudoers(dir.path(), "/etc/sudoers");
        (void)sudoers_value(sudoers.defaults, name, "");
      } catch (const std::runtime_error& problem) {
        error = problem.what();
      }
      ++runs;
      if (!accepted) ++refused;
      if (accepted && error.find("not understood") != std::string::npos) {
        ++unsupported;
        continue;
      }
      if (accepted == error.empty()) {
        ++agreed;
        continue;
      }
      ADD_FAILURE() << text << "visudo " << (accepted ? "accepts" : "refuses") << ", the reader "
                    << (error.empty() ? "reads it" : "says: " + error);
    }
  }
  std::cout << runs << " visudo runs on one Defaults line: " << agreed << " agreed (" << refused
            << " refused by visudo), " << unsupported << " accepted by visudo but not understood by the reader\n";
}

// This machine's own /etc/sudoers (and sudoers.d) parse without an error.
TEST(SudoersRealFiles, ThisMachinesSudoersParses) {
  std::error_code ignored;
  if (!fs::exists("/etc/sudoers", ignored)) GTEST_SKIP() << "no /etc/sudoers on this machine";
  test::TempDir root;
  fs::create_directories(root.path() / "etc");
  fs::copy_file("/etc/sudoers", root.path() / "etc/sudoers", ignored);
  if (ignored) GTEST_SKIP() << "/etc/sudoers cannot be read: " << ignored.message();
  if (fs::is_directory("/etc/sudoers.d", ignored))
    fs::copy("/etc/sudoers.d", root.path() / "etc/sudoers.d", fs::copy_options::recursive, ignored);
  try {
    Sudoers sudoers = read_sudoers(root.path(), "/etc/sudoers");
    std::cout << "read " << sudoers.files.size() << " files, " << sudoers.defaults.size() << " Defaults, "
              << sudoers.commands.size() << " commands\n";
    for (const auto& entry : sudoers.defaults) EXPECT_FALSE(entry.origin.empty());
  } catch (const std::exception& problem) {
    ADD_FAILURE() << problem.what();
  }
}

}  // namespace
}  // namespace vigil::policy
