// The limits reader and check kind against files built under a temp root:
// which line pam_limits 1.5.2 applies to a user (domains, their priority,
// later lines, limits.d after limits.conf, "<domain> -"), values, what is an
// error with its file:line, this machine's own limits.conf, and this
// machine's pam_limits itself as the oracle on generated files.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "policy_under_root.h"
#include "vigil/policy/limits_pwquality_grub.h"

namespace vigil::policy {
namespace {

namespace fs = std::filesystem;

// Whether this machine's /etc/passwd has every one of `names`.
bool accounts_named(const std::vector<std::string>& names) {
  std::ifstream passwd("/etc/passwd");
  std::string text((std::istreambuf_iterator<char>(passwd)), std::istreambuf_iterator<char>());
  for (const auto& name : names)
    if (text.find("\n" + name + ":") == std::string::npos && text.rfind(name + ":", 0) != 0) return false;
  return true;
}

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
  // Debian's pam_limits gives uid 0 no * or @group line.
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: root, equals: 0}"), "fail: hard core for root is not set");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, equals: 0}").substr(0, 4), "pass");
  write("/etc/security/limits.conf", "@dev hard core 20\nalice hard core 10\n");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: alice, equals: 10}").substr(0, 4), "pass");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: nobody, equals: 0}"),
            "error: limits (line 7): user nobody is not in /etc/passwd (pam_limits refuses the session)");
}

TEST_F(LimitsCheck, UidAndGidRanges) {
  write("/etc/security/limits.conf", "* hard core 0\n1000: hard core 7\n");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: alice, equals: 7}").substr(0, 4), "pass");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: root, present: false}").substr(0, 4), "pass");
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

TEST_F(LimitsCheck, RootOnlyByNameOrRange) {
  write("/etc/security/limits.conf", "* hard core 0\n@root hard nofile 5\n% - maxlogins 1\n");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: root, present: false}").substr(0, 4), "pass");
  EXPECT_EQ(outcome("limits: {item: nofile, type: hard, user: root, present: false}").substr(0, 4), "pass");
  EXPECT_EQ(outcome("limits: {item: maxlogins, user: root, present: false}").substr(0, 4), "pass");
  write("/etc/security/limits.conf", "root hard core 0\n@:0 hard nofile 5\n0: soft nofile 4\nroot - maxlogins 1\n");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: root, equals: 0}").substr(0, 4), "pass");
  EXPECT_EQ(outcome("limits: {item: nofile, type: hard, user: root, equals: 5}").substr(0, 4), "pass");
  EXPECT_EQ(outcome("limits: {item: nofile, type: soft, user: root, equals: 4}").substr(0, 4), "pass");
  // Between the lines that apply to root the last one wins, whatever their domain.
  write("/etc/security/limits.conf", "root hard core 0\n@0:0 hard core 9\n");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: root, equals: 9}").substr(0, 4), "pass");
  write("/etc/security/limits.conf", "root hard core 0\n@:0 hard nofile 5\n0: soft nofile 4\nroot - maxlogins 1\n");
  // pam_limits does not count root's logins.
  EXPECT_EQ(outcome("limits: {item: maxlogins, user: root, present: false}").substr(0, 4), "pass");
  // A "<domain> -" line by group name still stops pam_limits for root.
  write("/etc/security/limits.conf", "root hard core 0\n@root -\n");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: root, present: false}").substr(0, 4), "pass");
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
  // "%:N -" is read as the uid N; "* -" and "% -" stop nobody.
  write("/etc/security/limits.conf", "%:1000 -\n* -\n% -\n* hard core 0\n");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: alice, present: false}").substr(0, 4), "pass");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, user: bob, equals: 0}").substr(0, 4), "pass");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, equals: 0}").substr(0, 4), "pass");
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

TEST_F(LimitsCheck, DebianChrootLinesSetNoLimit) {
  write("/etc/security/limits.conf", "ftp - chroot /ftp\n* hard core 0\n");
  EXPECT_EQ(outcome("limits: {item: core, type: hard, at_most: 0}").substr(0, 4), "pass");
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

// This machine's libpam and pam_limits (Debian's, with its patches) run in a
// child process with a private PAM configuration whose pam_limits line reads
// `conf=` a generated file; the limits the child has after opening the
// session are what the reader must predict.
class PamLimitsOracle {
 public:
  struct Limits {
    int status = -1;
    rlim_t core_soft = 0, core_hard = 0, nofile_soft = 0, nofile_hard = 0;
    rlim_t inherited_core = 0, inherited_nofile = 0;  // soft and hard before the session
  };

  explicit PamLimitsOracle(const fs::path& dir) : dir_(dir) {
    library_ = ::dlopen("libpam.so.0", RTLD_NOW);
    if (!library_) return;
    start_ = reinterpret_cast<Start>(::dlsym(library_, "pam_start_confdir"));
    open_ = reinterpret_cast<OpenSession>(::dlsym(library_, "pam_open_session"));
  }
  ~PamLimitsOracle() {
    if (library_) ::dlclose(library_);
  }
  // Why the oracle cannot run here ("" when it can).
  std::string unavailable() const {
    if (::geteuid() != 0) return "not root (pam_limits raises limits)";
    if (!start_ || !open_) return "no libpam.so.0 with pam_start_confdir";
    if (!fs::exists("/lib/x86_64-linux-gnu/security/pam_limits.so") &&
        !fs::exists("/usr/lib/x86_64-linux-gnu/security/pam_limits.so"))
      return "no pam_limits.so";
    return "";
  }

  Limits run(const std::string& user, const fs::path& limits_file) {
    std::ofstream(dir_ / "limitsoracle", std::ios::trunc)
        << "session required pam_limits.so conf=" << limits_file.string() << "\n";
    int pipe_ends[2];
    if (::pipe(pipe_ends) != 0) return {};
    pid_t child = ::fork();
    if (child == 0) {
      ::close(pipe_ends[0]);
      // Soft limits raised to the hard ones, which this process may not raise.
      rlimit core{}, nofile{};
      ::getrlimit(RLIMIT_CORE, &core);
      ::getrlimit(RLIMIT_NOFILE, &nofile);
      core.rlim_cur = core.rlim_max;
      nofile.rlim_cur = nofile.rlim_max;
      ::setrlimit(RLIMIT_CORE, &core);
      ::setrlimit(RLIMIT_NOFILE, &nofile);
      Conversation conversation{[](int, const void**, void** reply, void*) {
                                  *reply = nullptr;
                                  return 0;
                                },
                                nullptr};
      void* handle = nullptr;
      Limits seen;
      seen.inherited_core = core.rlim_max;
      seen.inherited_nofile = nofile.rlim_max;
      seen.status = start_("limitsoracle", user.c_str(), &conversation, dir_.c_str(), &handle);
      if (seen.status == 0) seen.status = open_(handle, 0);
      ::getrlimit(RLIMIT_CORE, &core);
      ::getrlimit(RLIMIT_NOFILE, &nofile);
      seen.core_soft = core.rlim_cur;
      seen.core_hard = core.rlim_max;
      seen.nofile_soft = nofile.rlim_cur;
      seen.nofile_hard = nofile.rlim_max;
      ssize_t written = ::write(pipe_ends[1], &seen, sizeof(seen));
      ::_exit(written == sizeof(seen) ? 0 : 1);
    }
    ::close(pipe_ends[1]);
    Limits seen;
    if (::read(pipe_ends[0], &seen, sizeof(seen)) != sizeof(seen)) seen.status = -1;
    ::close(pipe_ends[0]);
    int ignored = 0;
    ::waitpid(child, &ignored, 0);
    return seen;
  }

 private:
  struct Conversation {
    int (*converse)(int, const void**, void**, void*);
    void* data;
  };
  using Start = int (*)(const char*, const char*, const Conversation*, const char*, void**);
  using OpenSession = int (*)(void*, int);
  fs::path dir_;
  void* library_ = nullptr;
  Start start_ = nullptr;
  OpenSession open_ = nullptr;
};

// What the reader's value means for the limit the session gets.
rlim_t predicted(const LimitsValue& limit, const std::string& item, rlim_t inherited) {
  if (!limit.stopped_by.empty() || !limit.value) return inherited;
  if (limit.value->value == "unlimited") return RLIM_INFINITY;
  rlim_t number = std::stoull(limit.value->value);
  return item == "core" ? number * 1024 : number;
}

TEST(LimitsOracle, PamLimitsAndTheReaderAgree) {
  test::TempDir dir;
  PamLimitsOracle oracle(dir.path());
  if (std::string why = oracle.unavailable(); !why.empty()) GTEST_SKIP() << "pam_limits cannot run here: " << why;
  if (!accounts_named({"root", "daemon"})) GTEST_SKIP() << "no daemon account here";
  fs::path root = dir.path() / "root";
  fs::create_directories(root / "etc/security");
  fs::copy("/etc/passwd", root / "etc/passwd");
  fs::copy("/etc/group", root / "etc/group");
  // Read, not copied: a /proc file has no size.
  std::ifstream init_limits("/proc/1/limits");
  test_util::write_under(root, "/proc/1/limits",
                         std::string((std::istreambuf_iterator<char>(init_limits)), std::istreambuf_iterator<char>()));
  const std::vector<std::string> domains = {"*",   "root", "daemon", "@root", "@daemon", "@:0", "@:1",
                                            "@1:", "0:",   ":1",     "1:5",   "@0:0",    "2:"};
  const std::vector<std::string> types = {"soft", "hard", "-"};
  const std::vector<std::string> core_values = {"0", "5", "100", "unlimited", "-1", "infinity"};
  const std::vector<std::string> nofile_values = {"64", "1024", "4096"};
  std::mt19937 random(21);
  auto pick = [&](const std::vector<std::string>& from) { return from[random() % from.size()]; };
  int compared = 0, unraisable = 0;
  for (int round = 0; round < 150; ++round) {
    std::string text;
    for (int lines = 1 + static_cast<int>(random() % 7); lines > 0; --lines) {
      std::string domain = pick(domains);
      if (random() % 12 == 0) {
        text += domain + " -\n";
        continue;
      }
      bool core = random() % 2 == 0;
      text +=
          domain + " " + pick(types) + (core ? " core " + pick(core_values) : " nofile " + pick(nofile_values)) + "\n";
    }
    test_util::write_under(root, "/etc/security/limits.conf", text);
    for (const std::string user : {"root", "daemon"}) {
      auto seen = oracle.run(user, root / "etc/security/limits.conf");
      ASSERT_EQ(seen.status, 0) << user << " with\n" << text;
      auto value = [&](const char* item, const char* type) { return limits_value(root, user, item, type); };
      rlim_t core_hard = predicted(value("core", "hard"), "core", seen.inherited_core);
      rlim_t nofile_hard = predicted(value("nofile", "hard"), "nofile", seen.inherited_nofile);
      // A soft limit left alone is still lowered to a lower hard one.
      rlim_t core_soft = std::min(predicted(value("core", "soft"), "core", seen.inherited_core), core_hard);
      rlim_t nofile_soft = std::min(predicted(value("nofile", "soft"), "nofile", seen.inherited_nofile), nofile_hard);
      EXPECT_EQ(seen.core_hard, core_hard) << user << " with\n" << text;
      EXPECT_EQ(seen.core_soft, core_soft) << user << " with\n" << text;
      // Without CAP_SYS_RESOURCE (a container) pam_limits cannot raise a hard limit: it then changes nothing.
      if (nofile_hard > seen.inherited_nofile) {
        ++unraisable;
      } else {
        EXPECT_EQ(seen.nofile_hard, nofile_hard) << user << " with\n" << text;
        EXPECT_EQ(seen.nofile_soft, nofile_soft) << user << " with\n" << text;
      }
      ++compared;
    }
  }
  std::cout << compared << " sessions opened by pam_limits, each agreeing with the reader (" << unraisable
            << " nofile limits it could not raise here not compared)\n";
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
