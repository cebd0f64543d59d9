// The kernel command line reader and check kind against files built under a
// temp root: /etc/default/grub and grub.d/*.cfg read as sh would (appends
// through $GRUB_CMDLINE_LINUX, quotes), the normal and recovery entries,
// grub.cfg's linux lines (and custom.cfg), the sources a check chooses, and
// what is an error with its file:line, and /bin/sh as the oracle on
// generated files.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "policy_under_root.h"
#include "vigil/policy/limits_pwquality_grub.h"

namespace vigil::policy {
namespace {

// Debian 12's grub.cfg around its linux lines, shortened.
std::string grub_cfg(const std::string& normal, const std::string& recovery) {
  return "### BEGIN /etc/grub.d/10_linux ###\n"
         "menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple-1234' {\n"
         "\tload_video\n"
         "\techo\t'Loading Linux 6.1.0-18-amd64 ...'\n"
         "\tlinux\t/vmlinuz-6.1.0-18-amd64 root=UUID=1234 ro " +
         normal +
         "\n"
         "\tinitrd\t/initrd.img-6.1.0-18-amd64\n"
         "}\n"
         "menuentry 'Debian GNU/Linux (recovery mode)' {\n"
         "\tlinux\t/vmlinuz-6.1.0-18-amd64 root=UUID=1234 ro single " +
         recovery +
         "\n"
         "}\n"
         "### BEGIN /etc/grub.d/41_custom ###\n"
         "if [ -f  ${config_directory}/custom.cfg ]; then\n"
         "  source ${config_directory}/custom.cfg\n"
         "elif [ -z \"${config_directory}\" -a -f  $prefix/custom.cfg ]; then\n"
         "  source $prefix/custom.cfg\n"
         "fi\n";
}

class KernelCmdlineCheck : public test_util::PolicyUnderRoot {
 protected:
  void SetUp() override {
    PolicyUnderRoot::SetUp();
    write("/etc/default/grub",
          "# If you change this file, run 'update-grub' afterwards.\n"
          "GRUB_DEFAULT=0\n"
          "GRUB_TIMEOUT=5\n"
          "GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`\n"
          "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
          "GRUB_CMDLINE_LINUX=\"audit=1 apparmor=1 security=apparmor\"\n");
    write("/boot/grub/grub.cfg",
          grub_cfg("audit=1 apparmor=1 security=apparmor quiet", "audit=1 apparmor=1 security=apparmor"));
  }
};

TEST_F(KernelCmdlineCheck, DebianDefaultGrubReads) {
  // Debian's own file runs lsb_release for GRUB_DISTRIBUTOR: not run, but no command line depends on it.
  EXPECT_EQ(outcome("kernel_cmdline: {parameter: audit, equals: 1, source: default_grub}"),
            "pass: audit=1 (/etc/default/grub:6); audit=1 (/etc/default/grub:6)");
  write("/etc/default/grub",
        "GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`\n"
        "GRUB_CMDLINE_LINUX=\"audit=1 distro=$GRUB_DISTRIBUTOR\"\n");
  EXPECT_NE(error_of("kernel_cmdline: {parameter: audit, equals: 1, source: default_grub}")
                .find("/etc/default/grub:2: $GRUB_DISTRIBUTOR, whose value comes from a command substitution at "
                      "/etc/default/grub:1"),
            std::string::npos);
}

class KernelCmdline : public KernelCmdlineCheck {
 protected:
  void SetUp() override {
    KernelCmdlineCheck::SetUp();
    write("/etc/default/grub",
          "GRUB_DEFAULT=0\n"
          "GRUB_DISTRIBUTOR=Debian\n"
          "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
          "GRUB_CMDLINE_LINUX=\"audit=1 apparmor=1 security=apparmor\"\n");
  }
};

TEST_F(KernelCmdline, EveryPlacePasses) {
  EXPECT_EQ(outcome("kernel_cmdline: {parameter: audit, equals: 1}"),
            "pass: audit=1 (/boot/grub/grub.cfg:5); audit=1 (/boot/grub/grub.cfg:9); audit=1 (/etc/default/grub:4); "
            "audit=1 (/etc/default/grub:4)");
  EXPECT_EQ(outcome("kernel_cmdline: {parameter: quiet, present: true, source: grub_cfg}"),
            "fail: quiet is not on the command line of /boot/grub/grub.cfg:9");
  EXPECT_EQ(outcome("kernel_cmdline: {parameter: audit_backlog_limit, at_least: 8192}"),
            "fail: audit_backlog_limit is not on the command line of /boot/grub/grub.cfg:5; audit_backlog_limit is "
            "not on the command line of /boot/grub/grub.cfg:9; audit_backlog_limit is not on the command line of "
            "/etc/default/grub normal entry; audit_backlog_limit is not on the command line of /etc/default/grub "
            "recovery entry");
  EXPECT_EQ(outcome("kernel_cmdline: {parameter: apparmor, not_equals: 0}").substr(0, 4), "pass");
}

TEST_F(KernelCmdline, OnlyInDefaultMissesRecovery) {
  write("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet audit=1\"\nGRUB_CMDLINE_LINUX=\"\"\n");
  EXPECT_EQ(outcome("kernel_cmdline: {parameter: audit, equals: 1, source: default_grub}"),
            "fail: audit is not on the command line of /etc/default/grub recovery entry");
  write("/etc/default/grub",
        "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet audit=1\"\nGRUB_CMDLINE_LINUX=\"\"\nGRUB_DISABLE_RECOVERY=\"true\"\n");
  EXPECT_EQ(outcome("kernel_cmdline: {parameter: audit, equals: 1, source: default_grub}"),
            "pass: audit=1 (/etc/default/grub:1)");
}

TEST_F(KernelCmdline, GrubCfgBehindDefaultGrub) {
  write("/boot/grub/grub.cfg", grub_cfg("quiet", ""));
  EXPECT_EQ(outcome("kernel_cmdline: {parameter: audit, equals: 1}"),
            "fail: audit is not on the command line of /boot/grub/grub.cfg:5; audit is not on the command line of "
            "/boot/grub/grub.cfg:9");
  EXPECT_EQ(outcome("kernel_cmdline: {parameter: audit, equals: 1, source: default_grub}").substr(0, 4), "pass");
  write("/boot/grub/grub.cfg", grub_cfg("audit=1", "audit=1"));
  write("/boot/grub/custom.cfg", "menuentry 'x' {\n  linux /vmlinuz audit=0\n}\n");
  EXPECT_EQ(outcome("kernel_cmdline: {parameter: audit, equals: 1, source: grub_cfg}"),
            "fail: audit=0 (/boot/grub/custom.cfg:2), expected 1");
}

TEST_F(KernelCmdline, GrubDAppendsAndShellQuoting) {
  write("/etc/default/grub.d/50-audit.cfg",
        "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX audit_backlog_limit=8192\"\n"
        "GRUB_CMDLINE_LINUX=\"${GRUB_CMDLINE_LINUX} \\\n  lockdown=integrity\"\n"
        "export GRUB_CMDLINE_LINUX GRUB_X='a b'\n");
  EXPECT_EQ(outcome("kernel_cmdline: {parameter: audit_backlog_limit, at_least: 8192, source: default_grub}"),
            "pass: audit_backlog_limit=8192 (/etc/default/grub.d/50-audit.cfg:1); audit_backlog_limit=8192 "
            "(/etc/default/grub.d/50-audit.cfg:1)");
  // Words keep where they were first written; the kernel reads - and _ alike in names.
  EXPECT_EQ(outcome("kernel_cmdline: {parameter: audit, equals: 1, source: default_grub}"),
            "pass: audit=1 (/etc/default/grub:4); audit=1 (/etc/default/grub:4)");
  EXPECT_EQ(
      outcome("kernel_cmdline: {parameter: audit-backlog-limit, at_least: 8192, source: default_grub}").substr(0, 4),
      "pass");
  EXPECT_EQ(outcome("kernel_cmdline: {parameter: lockdown, equals: integrity, source: default_grub}").substr(0, 4),
            "pass");
  // grub.d files come after /etc/default/grub: a later plain assignment replaces.
  write("/etc/default/grub.d/60-reset.cfg", "GRUB_CMDLINE_LINUX=quiet\n");
  EXPECT_EQ(outcome("kernel_cmdline: {parameter: audit, equals: 1, source: default_grub}").substr(0, 4), "fail");
}

TEST_F(KernelCmdline, RepeatedParameters) {
  write("/etc/default/grub", "GRUB_CMDLINE_LINUX=\"audit=1 audit=1\"\n");
  EXPECT_EQ(outcome("kernel_cmdline: {parameter: audit, equals: 1, source: default_grub}").substr(0, 4), "pass");
  write("/etc/default/grub", "GRUB_CMDLINE_LINUX=\"audit=1 audit=0\"\n");
  EXPECT_NE(error_of("kernel_cmdline: {parameter: audit, equals: 1, source: default_grub}")
                .find("/etc/default/grub normal entry: audit is given more than once with different values"),
            std::string::npos);
  // After -- the words go to init.
  write("/etc/default/grub", "GRUB_CMDLINE_LINUX=\"quiet -- audit=1\"\n");
  EXPECT_EQ(outcome("kernel_cmdline: {parameter: audit, equals: 1, source: default_grub}").substr(0, 4), "fail");
}

TEST_F(KernelCmdline, WhatIsAnError) {
  auto error_for = [&](const std::string& text, const std::string& what) {
    write("/etc/default/grub", "GRUB_DEFAULT=0\n" + text + "\n");
    auto evidence = error_of("kernel_cmdline: {parameter: audit, equals: 1, source: default_grub}");
    EXPECT_NE(evidence.find(what), std::string::npos) << text << " -> " << evidence;
  };
  error_for(
      "GRUB_CMDLINE_LINUX=\"$(cat /etc/x)\"",
      "GRUB_CMDLINE_LINUX comes from a command substitution at /etc/default/grub:2, which the reader does not run");
  error_for("GRUB_CMDLINE_LINUX=`cat /etc/x`", "GRUB_CMDLINE_LINUX comes from a command substitution at");
  error_for("GRUB_DISABLE_RECOVERY=$(cat /etc/x)", "GRUB_DISABLE_RECOVERY comes from a command substitution at");
  error_for("X=\"$(echo \"a b\")\"", "/etc/default/grub:2: a command substitution with quotes");
  error_for("X=$(echo $(date))", "/etc/default/grub:2: a command substitution with quotes, parentheses");
  error_for("X=`date", "/etc/default/grub:2: an unterminated command substitution");
  error_for("X=`echo GRUB_CMDLINE_LINUX=x > /etc/default/grub.d/z.cfg`", "redirects output to a file");
  error_for("$(touch /tmp/x)", "is a command");
  error_for("GRUB_CMDLINE_LINUX=$((1+1))", "a command substitution with quotes, parentheses");
  error_for("GRUB_CMDLINE_LINUX=\"${X:-audit=1}\"", "/etc/default/grub:2: the expansion ${X:-audit=1}");
  error_for("GRUB_CMDLINE_LINUX=\"$EXTRA audit=1\"", "/etc/default/grub:2: $EXTRA, which these files do not set");
  error_for("if true; then GRUB_CMDLINE_LINUX=audit=1; fi", "/etc/default/grub:2: the shell construct ';'");
  error_for("source /etc/other", "/etc/default/grub:2: 'source' is a command");
  error_for("GRUB_CMDLINE_LINUX=\"audit=1", "an unterminated double quote");
  error_for("GRUB_CMDLINE_LINUX='audit=1", "an unterminated single quote");
  error_for("GRUB_CMDLINE_LINUX=\"x=\\\"a b\\\"\"", "holds quoting or a variable");
  error_for("GRUB_CMDLINE_LINUX=\"audit=1\nquiet\"", "/etc/default/grub:2: a newline in the kernel command line");
  write("/etc/default/grub", "GRUB_CMDLINE_LINUX=audit=1\n");
  write("/boot/grub/grub.cfg", "menuentry 'x' {\n  linux /vmlinuz audit=1 $vt_handoff\n}\n");
  EXPECT_NE(error_of("kernel_cmdline: {parameter: audit, equals: 1}")
                .find("/boot/grub/grub.cfg:2: '$vt_handoff' holds quoting or a variable"),
            std::string::npos);
  write("/boot/grub/grub.cfg", "blscfg\n");
  EXPECT_NE(error_of("kernel_cmdline: {parameter: audit, equals: 1}").find("/boot/grub/grub.cfg:1: 'blscfg' loads"),
            std::string::npos);
  write("/boot/grub/grub.cfg", "set timeout=5\n");
  EXPECT_NE(error_of("kernel_cmdline: {parameter: audit, equals: 1}").find("/boot/grub/grub.cfg has no linux line"),
            std::string::npos);
  std::filesystem::remove(dir_.path() / "boot/grub/grub.cfg");
  EXPECT_NE(error_of("kernel_cmdline: {parameter: audit, equals: 1}").find("cannot read /boot/grub/grub.cfg"),
            std::string::npos);
  EXPECT_THROW(parse_policies("policy: t\nversion: '1'\ncontrols:\n  - id: c\n    title: t\n    check:\n"
                              "      kernel_cmdline: {parameter: audit, equals: 1, source: efi}\n",
                              "t.yaml"),
               PolicyError);
}

// /bin/sh (dash on Debian, which runs grub-mkconfig) as the oracle: it
// sources seeded random /etc/default/grub and grub.d files, and the command
// lines it gives update-grub must be the reader's, word for word, for every
// file the reader accepts.
TEST(KernelCmdlineOracle, ShAndTheReaderAgree) {
  if (!std::filesystem::exists("/bin/sh")) GTEST_SKIP() << "no /bin/sh";
  test::TempDir dir;
  const std::filesystem::path root = dir.path();
  const std::vector<std::string> lines = {
      "GRUB_CMDLINE_LINUX=\"audit=1\"",
      "GRUB_CMDLINE_LINUX='quiet  splash'",
      "GRUB_CMDLINE_LINUX_DEFAULT=quiet",
      "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX apparmor=1\"",
      "GRUB_CMDLINE_LINUX=\"${GRUB_CMDLINE_LINUX} security=apparmor\"",
      "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT audit_backlog_limit=8192\"",
      "GRUB_CMDLINE_LINUX=audit=1\\ quiet",
      "GRUB_CMDLINE_LINUX=\"audit=1 \\\nquiet\"",
      "export GRUB_CMDLINE_LINUX",
      "GRUB_DISABLE_RECOVERY=true",
      "GRUB_DISABLE_RECOVERY=\"false\"",
      "export GRUB_DISABLE_RECOVERY='true'",
      "# GRUB_CMDLINE_LINUX=\"audit=0\"",
      "GRUB_CMDLINE_LINUX=\"\"",
      "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX\"'lockdown=integrity'",
      "GRUB_TIMEOUT=5",
      "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\" # trailing comment",
      "  GRUB_CMDLINE_LINUX=$GRUB_CMDLINE_LINUX_DEFAULT",
      "A=\"x=1\"\nGRUB_CMDLINE_LINUX_DEFAULT=\"$A\"",
      "GRUB_CMDLINE_LINUX=\"audit=1\\\\\"",
      "GRUB_CMDLINE_LINUX=\"\\$X\"",
  };
  // Lines the reader refuses, drawn less often.
  const std::vector<std::string> refused_lines = {
      "GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`", "GRUB_CMDLINE_LINUX=\"$UNSET audit=1\"",
      "GRUB_CMDLINE_LINUX=\"$(echo audit=1)\"", "GRUB_CMDLINE_LINUX=\"${GRUB_CMDLINE_LINUX:-audit=1}\"",
      "GRUB_CMDLINE_LINUX=\"audit=1\nquiet\""};
  std::mt19937 random(21);
  int agreed = 0, refused = 0;
  for (int round = 0; round < 200; ++round) {
    std::filesystem::remove_all(root / "etc");
    std::vector<std::string> files = {"/etc/default/grub"};
    for (int more = static_cast<int>(random() % 3); more > 0; --more)
      files.push_back("/etc/default/grub.d/" + std::to_string(10 + random() % 90) + ".cfg");
    std::string shown;
    for (const auto& file : files) {
      // As Debian's file does, /etc/default/grub sets both before anything appends to them.
      std::string text = file == files.front() ? "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"\"\n" : "";
      for (int count = static_cast<int>(random() % 5); count > 0; --count)
        text += (random() % 10 == 0 ? refused_lines[random() % refused_lines.size()] : lines[random() % lines.size()]) +
                "\n";
      test_util::write_under(root, file, text);
      shown += file + ":\n" + text;
    }
    std::vector<KernelCommandLine> read;
    try {
      read = default_grub_command_lines(root);
    } catch (const std::runtime_error&) {
      ++refused;
      continue;
    }
    // The lines 10_linux writes, from what sh leaves after sourcing the files in the reader's order.
    std::string script = "for f in " + (root / "etc/default/grub").string() + " " +
                         (root / "etc/default/grub.d").string() +
                         "/*.cfg; do [ -e \"$f\" ] && . \"$f\"; done; "
                         "printf '%s %s\\n' \"$GRUB_CMDLINE_LINUX\" \"$GRUB_CMDLINE_LINUX_DEFAULT\"; "
                         "[ \"x$GRUB_DISABLE_RECOVERY\" != xtrue ] && printf 'single %s\\n' \"$GRUB_CMDLINE_LINUX\"";
    std::ofstream(root / "oracle.sh", std::ios::trunc) << script << "\n";
    std::string command = "env -i /bin/sh " + (root / "oracle.sh").string();
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char buffer[512];
    while (std::fgets(buffer, sizeof(buffer), pipe)) output += buffer;
    ::pclose(pipe);
    std::string words;
    for (const auto& line : read) {
      std::string text;
      for (const auto& word : line.words) text += (text.empty() ? "" : " ") + word.text;
      words += text + "\n";
    }
    std::string expected;
    std::istringstream sh_lines(output);
    for (std::string line; std::getline(sh_lines, line);) {
      std::istringstream split(line);
      std::string text;
      for (std::string word; split >> word;) text += (text.empty() ? "" : " ") + word;
      expected += text + "\n";
    }
    EXPECT_EQ(words, expected) << shown;
    ++agreed;
  }
  std::cout << agreed << " configurations read as sh reads them, " << refused << " refused by the reader\n";
}

}  // namespace
}  // namespace vigil::policy
