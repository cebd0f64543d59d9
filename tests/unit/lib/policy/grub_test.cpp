// The kernel command line reader and check kind against files built under a
// temp root: /etc/default/grub and grub.d/*.cfg read as sh would (appends
// through $GRUB_CMDLINE_LINUX, quotes), the normal and recovery entries,
// grub.cfg's linux lines (and custom.cfg), the sources a check chooses, and
// what is an error with its file:line.
#include <gtest/gtest.h>

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
  std::string outcome(const std::string& check) {
    auto result = run(check);
    return std::string(outcome_name(result.outcome)) + ": " + result.evidence;
  }
};

TEST_F(KernelCmdlineCheck, DebianDefaultGrubNeedsNoCommandSubstitution) {
  // Debian's own file runs lsb_release: the reader does not, so the file is an error.
  EXPECT_NE(
      error_of("kernel_cmdline: {parameter: audit, equals: 1}").find("/etc/default/grub:4: the shell construct '`'"),
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
  error_for("GRUB_CMDLINE_LINUX=\"$(cat /etc/x)\"", "/etc/default/grub:2: a '$' other than $NAME");
  error_for("GRUB_CMDLINE_LINUX=\"`cat /etc/x`\"", "/etc/default/grub:2: a command substitution");
  error_for("GRUB_CMDLINE_LINUX=\"${X:-audit=1}\"", "/etc/default/grub:2: the expansion ${X:-audit=1}");
  error_for("GRUB_CMDLINE_LINUX=\"$EXTRA audit=1\"", "/etc/default/grub:2: $EXTRA, which these files do not set");
  error_for("if true; then GRUB_CMDLINE_LINUX=audit=1; fi", "/etc/default/grub:2: the shell construct ';'");
  error_for("source /etc/other", "/etc/default/grub:2: 'source' is a command");
  error_for("GRUB_CMDLINE_LINUX=\"audit=1", "an unterminated double quote");
  error_for("GRUB_CMDLINE_LINUX='audit=1", "an unterminated single quote");
  error_for("GRUB_CMDLINE_LINUX=\"x=\\\"a b\\\"\"", "holds quoting or a variable");
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

}  // namespace
}  // namespace vigil::policy
