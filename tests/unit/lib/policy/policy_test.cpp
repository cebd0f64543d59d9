// The policy engine against real files built under a temp root: every check
// kind, the config-format semantics (sshd Match and first-value-wins,
// sysctl.d precedence, last-value-wins formats), combinations, results and
// the parser's errors, and the table of check kinds against docs/policies.md.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "policy_under_root.h"
#include "test_support.h"
#include "vigil/policy/check_kinds.h"
#include "vigil/policy/policy.h"

namespace vigil::policy {
namespace {

namespace fs = std::filesystem;

class PolicyEngine : public test_util::PolicyUnderRoot {
 protected:
  void SetUp() override {
    PolicyUnderRoot::SetUp();
    environment_.run = [](const std::vector<std::string>& argv) {
      auto result = test::run(argv);
      return CommandOutput{result.exit_code, result.out};
    };
    // Files the test makes belong to the user running it: "me:mine" (root:root when that is root).
    write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nme:x:" + std::to_string(::getuid()) + ":" +
                             std::to_string(::getgid()) + "::/home/me:/bin/sh\n");
    write("/etc/group", "root:x:0:\nmine:x:" + std::to_string(::getgid()) + ":\n");
    me_ = ::getuid() == 0 ? "root" : "me";
    mine_ = ::getgid() == 0 ? "root" : "mine";
  }

  std::string outcome(const std::string& check, const std::string& applies = "") {
    auto result = run(check, applies);
    return std::string(outcome_name(result.outcome)) +
           (result.outcome == Outcome::kError ? ": " + result.evidence : "");
  }

  std::string me_, mine_;
};

TEST_F(PolicyEngine, FileExistsAndPermissions) {
  write("/etc/app.conf", "x\n", 0640);
  EXPECT_EQ(outcome("file_exists: {path: /etc/app.conf}"), "pass");
  EXPECT_EQ(outcome("file_exists: {path: /etc/app.conf, type: directory}"), "fail");
  EXPECT_EQ(outcome("file_exists: {path: /etc, type: directory}"), "pass");
  EXPECT_EQ(outcome("file_exists: {path: /etc/none, exists: false}"), "pass");
  EXPECT_EQ(outcome("permissions: {path: /etc/app.conf, max_mode: '0640'}"), "pass");
  EXPECT_EQ(outcome("permissions: {path: /etc/app.conf, max_mode: '0600'}"), "fail");
  EXPECT_EQ(outcome("permissions: {path: /etc/app.conf, owner: " + me_ + ", group: " + mine_ + ", max_mode: '0644'}"),
            "pass");
  auto wrong = run("permissions: {path: /etc/app.conf, owner: nobody}");
  EXPECT_EQ(wrong.outcome, Outcome::kFail);
  EXPECT_EQ(wrong.evidence, "/etc/app.conf " + me_ + ":" + mine_ + " 0640, expected owner nobody");
}

TEST_F(PolicyEngine, FileContentLines) {
  write("/etc/motd", "Authorized use only\n# comment\nPermitThing yes\n");
  EXPECT_EQ(outcome("file_content: {path: /etc/motd, line_matches: '^Authorized'}"), "pass");
  EXPECT_EQ(outcome("file_content: {path: /etc/motd, no_line_matches: '^PermitThing\\s+yes'}"), "fail");
  EXPECT_EQ(outcome("file_content: {path: /etc/missing, no_line_matches: 'x'}"), "pass");
  EXPECT_EQ(outcome("file_content: {path: /etc/missing, line_matches: 'x'}"), "fail");
  auto found = run("file_content: {path: /etc/motd, no_line_matches: 'yes$'}");
  EXPECT_EQ(found.evidence, "/etc/motd:3: PermitThing yes");
}

TEST_F(PolicyEngine, Sshd_FirstValueWins_IncludesInPlace_MatchBlocksForTheirConnection) {
  write("/etc/ssh/sshd_config",
        "Include /etc/ssh/sshd_config.d/*.conf\n"
        "PermitRootLogin yes\n"
        "passwordauthentication yes\n"
        "X11Forwarding=no\n"
        "Match User backup,!root\n"
        "  PasswordAuthentication no\n"
        "  PermitRootLogin no\n"
        "Match all\n"
        "  PasswordAuthentication yes\n");
  write("/etc/ssh/sshd_config.d/50-site.conf", "PermitRootLogin no\n");
  EXPECT_EQ(outcome("config: {format: sshd, key: PermitRootLogin, equals: 'no'}"), "pass");  // included first
  EXPECT_EQ(outcome("config: {format: sshd, key: PasswordAuthentication, equals: 'yes'}"), "pass");
  EXPECT_EQ(outcome("config: {format: sshd, key: PasswordAuthentication, match: {user: backup}, equals: 'no'}"),
            "pass");
  EXPECT_EQ(outcome("config: {format: sshd, key: PasswordAuthentication, match: {user: root}, equals: 'yes'}"), "pass");
  EXPECT_EQ(outcome("config: {format: sshd, key: X11Forwarding, equals: 'no'}"), "pass");
  EXPECT_EQ(outcome("config: {format: sshd, key: MaxAuthTries, at_most: 4}"), "fail");  // unset, no default
  EXPECT_EQ(outcome("config: {format: sshd, key: MaxAuthTries, default: '6', at_most: 4}"), "fail");
  EXPECT_EQ(outcome("config: {format: sshd, key: MaxAuthTries, present: false}"), "pass");
  auto origin = run("config: {format: sshd, key: PermitRootLogin, equals: 'no'}");
  EXPECT_NE(origin.evidence.find("sshd_config.d/50-site.conf:1"), std::string::npos) << origin.evidence;
}

TEST_F(PolicyEngine, Sshd_WhatTheReaderCannotInterpretIsAnError_NeverAPassOrFail) {
  const std::string check = "config: {format: sshd, key: PermitRootLogin, equals: 'no'}";
  auto error_of = [&](const std::string& conf) {
    write("/etc/ssh/sshd_config", "PermitRootLogin no\nInclude sshd_config.d/*.conf\n");
    write("/etc/ssh/sshd_config.d/x.conf", conf);
    auto result = run(check);
    EXPECT_EQ(result.outcome, Outcome::kError) << conf << " -> " << result.evidence;
    return result.evidence;
  };
  // The brief's example: an unknown criterion names itself and the file:line.
  EXPECT_NE(error_of("# 1\n#2\n\n\n\n\nMatch Foo bar\n  PermitRootLogin yes\n")
                .find("/etc/ssh/sshd_config.d/x.conf:7: Match criterion \"Foo\" is not understood"),
            std::string::npos);
  // sshd refuses these files: they never yield a value.
  EXPECT_NE(error_of("Match Canonical\n").find("x.conf:1: Match criterion \"Canonical\""), std::string::npos);
  EXPECT_NE(error_of("Match final all\n").find("\"final\""), std::string::npos);
  EXPECT_NE(error_of("Match all User root\n").find("x.conf:1: Match all cannot be combined"), std::string::npos);
  EXPECT_NE(error_of("Match User root all\n").find("cannot be combined"), std::string::npos);
  EXPECT_NE(error_of("Match User\n").find("without a value"), std::string::npos);
  EXPECT_NE(error_of("Match Address 10.1.2.3/8\n").find("invalid network \"10.1.2.3/8\""), std::string::npos);
  EXPECT_NE(error_of("Match Address 10.0.0.0/33\n").find("invalid network"), std::string::npos);
  EXPECT_NE(error_of("Match LocalAddress 2001:db8::1/32\n").find("invalid network"), std::string::npos);
  EXPECT_NE(error_of("Match Address 10.0.0.0/8,,!10.1.0.0/16\n").find("empty entry"), std::string::npos);
  EXPECT_NE(error_of("Match LocalPort 22,2222\n").find("LocalPort \"22,2222\""), std::string::npos);
  EXPECT_NE(error_of("PermitRootLogin maybe\n").find("x.conf:1: value \"maybe\" of permitrootlogin"),
            std::string::npos);
  EXPECT_NE(error_of("PermitRootLogin no extra\n").find("takes one value"), std::string::npos);
  EXPECT_NE(error_of("MaxAuthTries 0x10\n").find("value \"0x10\""), std::string::npos);
  EXPECT_NE(error_of("NoSuchKeyword yes\n").find("x.conf:1: keyword \"NoSuchKeyword\""), std::string::npos);
  EXPECT_NE(error_of("Match User backup\n  Port 2222\n").find("x.conf:2: Port is not allowed within a Match"),
            std::string::npos);
  EXPECT_NE(error_of("Banner \"unbalanced\n").find("unbalanced quotes"), std::string::npos);
  EXPECT_NE(error_of("Include /etc/ssh/sshd_config.d/x.conf\n").find("x.conf:1: Include nested more than 16 deep"),
            std::string::npos);
  // Read as sshd would, but not exactly by us: an error too.
  EXPECT_NE(error_of("Match Address 10.1\n").find("address \"10.1\" is not understood"), std::string::npos);
  EXPECT_NE(error_of("Match LocalPort ssh\n").find("LocalPort \"ssh\""), std::string::npos);
  // Only when the value a check reads is the one not understood.
  write("/etc/ssh/sshd_config", "Ciphers +aes128-cbc\nBanner issue.net\nBanner /etc/issue.net\n");
  write("/etc/ssh/sshd_config.d/x.conf", "");
  EXPECT_EQ(outcome("config: {format: sshd, key: PermitRootLogin, present: false}"), "pass");
  EXPECT_EQ(run("config: {format: sshd, key: Ciphers, matches: aes}").outcome, Outcome::kError);
  EXPECT_EQ(run("config: {format: sshd, key: Banner, equals: /etc/issue.net}").outcome, Outcome::kError);
  // Keywords sshd accumulates over lines in a form not reproduced, and keywords it ignores.
  write("/etc/ssh/sshd_config", "Subsystem sftp /x\nSubsystem other /y\nProtocol 2\n");
  EXPECT_NE(outcome("config: {format: sshd, key: Subsystem, matches: sftp}").find("several lines"), std::string::npos);
  EXPECT_NE(outcome("config: {format: sshd, key: Protocol, equals: '2'}").find("sshd ignores it"), std::string::npos);
  EXPECT_NE(outcome("config: {format: sshd, key: NoSuchKeyword, equals: '2'}").find("not an sshd keyword"),
            std::string::npos);
}

TEST_F(PolicyEngine, Sshd_MatchCriteriaAsOpenSsh92) {
  write("/etc/ssh/sshd_config",
        "PasswordAuthentication yes\n"
        "MATCH address !10.1.0.0/16,10.0.0.0/8\n"
        "  PasswordAuthentication no\n"
        "Match LocalAddress 2001:db8::/32 LocalPort 2222\n"
        "  X11Forwarding yes\n"
        "Match RDomain blue,!red* Host *.example.org\n"
        "  MaxAuthTries 2\n"
        "Match Group adm,!wheel\n"
        "  AllowTcpForwarding no\n"
        "Match Address 192.168.1.*\n"
        "  PermitRootLogin no\n");
  auto value = [&](const std::string& key, const std::string& match) {
    auto result = run("config: {format: sshd, key: " + key + ", match: {" + match + "}, present: true}");
    if (result.outcome == Outcome::kError) return "error: " + result.evidence;
    auto at = result.evidence.find(" = ");
    return at == std::string::npos ? std::string("unset")
                                   : result.evidence.substr(at + 3, result.evidence.find(' ', at + 3) - at - 3);
  };
  EXPECT_EQ(value("PasswordAuthentication", "address: 10.2.3.4"), "no");
  EXPECT_EQ(value("PasswordAuthentication", "address: 10.1.3.4"), "yes");  // the negated network wins
  EXPECT_EQ(value("PasswordAuthentication", "address: 11.0.0.1"), "yes");
  EXPECT_EQ(value("PasswordAuthentication", "address: '2001:db8::1'"), "yes");
  EXPECT_EQ(value("X11Forwarding", "local_address: '2001:db8:ff::1', local_port: '2222'"), "yes");
  EXPECT_EQ(value("X11Forwarding", "local_address: '2001:db9::1', local_port: '2222'"), "unset");
  EXPECT_EQ(value("X11Forwarding", "local_address: '2001:db8::1', local_port: '22'"), "unset");
  EXPECT_EQ(value("MaxAuthTries", "rdomain: blue, host: ssh.EXAMPLE.org"), "2");  // hosts without case
  EXPECT_EQ(value("MaxAuthTries", "rdomain: red1, host: ssh.example.org"), "unset");
  EXPECT_EQ(value("AllowTcpForwarding", "group: 'users,adm'"), "no");
  EXPECT_EQ(value("AllowTcpForwarding", "group: 'adm,wheel'"), "unset");  // any group on a negated entry
  EXPECT_EQ(value("PermitRootLogin", "address: 192.168.1.77"), "no");     // wildcards still work
  EXPECT_EQ(value("PermitRootLogin", "address: 192.168.10.7"), "unset");
}

TEST_F(PolicyEngine, Sshd_MatchAllAndIncludesKeepTheirMatchState) {
  write("/etc/ssh/sshd_config",
        "Include /etc/ssh/sshd_config.d/*.conf\n"
        "PasswordAuthentication yes\n"
        "Match User backup\n"
        "  Include /etc/ssh/inner.conf\n"
        "Match all\n"
        "  X11Forwarding no\n"
        "  LoginGraceTime 30\n");
  // A Match in an included file ends with that file: what follows is global again.
  write("/etc/ssh/sshd_config.d/10-a.conf", "Match User alice\n  PasswordAuthentication no\n");
  write("/etc/ssh/inner.conf", "X11Forwarding yes\n");
  EXPECT_EQ(outcome("config: {format: sshd, key: PasswordAuthentication, match: {user: alice}, equals: 'no'}"), "pass");
  EXPECT_EQ(outcome("config: {format: sshd, key: PasswordAuthentication, match: {user: bob}, equals: 'yes'}"), "pass");
  // inner.conf is read inside "Match User backup"; "Match all" applies to everyone else.
  EXPECT_EQ(outcome("config: {format: sshd, key: X11Forwarding, match: {user: backup}, equals: 'yes'}"), "pass");
  EXPECT_EQ(outcome("config: {format: sshd, key: X11Forwarding, match: {user: bob}, equals: 'no'}"), "pass");
  EXPECT_EQ(outcome("config: {format: sshd, key: X11Forwarding, equals: 'no'}"), "pass");
  // A global-only keyword after "Match all" is global.
  EXPECT_EQ(outcome("config: {format: sshd, key: LoginGraceTime, equals: '30'}"), "pass");
}

TEST_F(PolicyEngine, Sshd_AllowUsersAndTheLikeAccumulate_AMatchBlockReplacesTheGlobalLines) {
  write("/etc/ssh/sshd_config",
        "AllowUsers alice bob\n"
        "AllowUsers carol\n"
        "Match User carol\n"
        "  AllowUsers carol\n"
        "  AllowUsers dave\n");
  auto global = run("config: {format: sshd, key: AllowUsers, matches: bob}");
  EXPECT_EQ(global.outcome, Outcome::kPass);
  EXPECT_EQ(global.evidence, "AllowUsers = alice bob carol (/etc/ssh/sshd_config:1, /etc/ssh/sshd_config:2)");
  EXPECT_EQ(outcome("config: {format: sshd, key: AllowUsers, match: {user: carol}, equals: carol dave}"), "pass");
}

TEST_F(PolicyEngine, Sshd_AliasesAndSpellingsAsSshdTPrintsThem) {
  write("/etc/ssh/sshd_config",
        "PermitRootLogin Prohibit-Password\n"
        "ChallengeResponseAuthentication NO\n"
        "LoginGraceTime 1m30s\n"
        "AllowTcpForwarding all\n"
        "MaxAuthTries = +04\n"
        "Banner \"/etc/issue net\" # the banner\n");
  EXPECT_EQ(outcome("config: {format: sshd, key: PermitRootLogin, equals: without-password}"), "pass");
  EXPECT_EQ(outcome("config: {format: sshd, key: PermitRootLogin, equals: prohibit-password}"), "pass");
  EXPECT_EQ(outcome("config: {format: sshd, key: PermitRootLogin, one_of: [prohibit-password, 'no']}"), "pass");
  EXPECT_EQ(outcome("config: {format: sshd, key: PermitRootLogin, not_equals: without-password}"), "fail");
  EXPECT_EQ(outcome("config: {format: sshd, key: KbdInteractiveAuthentication, equals: 'no'}"), "pass");
  EXPECT_EQ(outcome("config: {format: sshd, key: challengeresponseauthentication, equals: 'no'}"), "pass");
  EXPECT_EQ(outcome("config: {format: sshd, key: LoginGraceTime, at_most: 90}"), "pass");
  EXPECT_EQ(outcome("config: {format: sshd, key: LoginGraceTime, equals: 1m30s}"), "pass");
  EXPECT_EQ(outcome("config: {format: sshd, key: AllowTcpForwarding, equals: 'yes'}"), "pass");
  EXPECT_EQ(outcome("config: {format: sshd, key: MaxAuthTries, equals: '4'}"), "pass");
  EXPECT_EQ(outcome("config: {format: sshd, key: Banner, equals: /etc/issue net}"), "pass");
  auto shown = run("config: {format: sshd, key: PermitRootLogin, equals: 'no'}");
  EXPECT_EQ(shown.evidence, "PermitRootLogin = without-password (/etc/ssh/sshd_config:1), expected no");
  // A default is spelled the same way.
  EXPECT_EQ(outcome("config: {format: sshd, key: X11Forwarding, default: 'NO', equals: 'no'}"), "pass");
}

TEST_F(PolicyEngine, Sysctl_LaterFilesOverride_EtcHidesTheSameNameElsewhere_SysctlConfLast) {
  write("/usr/lib/sysctl.d/10-base.conf", "net.ipv4.ip_forward = 1\nkernel.x = 5\n");
  write("/etc/sysctl.d/10-base.conf", "net.ipv4.ip_forward = 0\n");  // hides /usr/lib's 10-base.conf entirely
  write("/usr/lib/sysctl.d/50-later.conf", "net/ipv4/tcp_syncookies = 0\n");
  write("/etc/sysctl.d/90-last.conf", "net.ipv4.tcp_syncookies=1\n# net.ipv4.ip_forward = 1\n");
  write("/etc/sysctl.conf", "-fs.suid_dumpable = 0\n");
  EXPECT_EQ(outcome("config: {format: sysctl, key: net.ipv4.ip_forward, equals: '0'}"), "pass");
  EXPECT_EQ(outcome("config: {format: sysctl, key: kernel.x, present: false}"), "pass");
  EXPECT_EQ(outcome("config: {format: sysctl, key: net.ipv4.tcp_syncookies, equals: '1'}"), "pass");
  EXPECT_EQ(outcome("config: {format: sysctl, key: fs.suid_dumpable, equals: '0'}"), "pass");
  // Runtime values come from /proc/sys.
  write("/proc/sys/net/ipv4/ip_forward", "1\n");
  EXPECT_EQ(outcome("sysctl: {key: net.ipv4.ip_forward, equals: '0'}"), "fail");
  EXPECT_EQ(outcome("sysctl: {key: net.ipv4.ip_forward, at_least: 1}"), "pass");
  EXPECT_EQ(outcome("sysctl: {key: net.ipv6.none, equals: '0'}"), "fail");
  // A key written with slashes keeps the dots of an interface name.
  write("/etc/sysctl.d/95-vlan.conf", "net/ipv4/conf/eth0.5/rp_filter = 1\n");
  EXPECT_EQ(outcome("config: {format: sysctl, key: net.ipv4.conf.eth0/5.rp_filter, equals: '1'}"), "pass");
  // procps and systemd-sysctl apply a pattern to every key that matches it now: not read here.
  write("/etc/sysctl.d/95-vlan.conf", "net.ipv4.conf.*.rp_filter = 1\n");
  EXPECT_EQ(outcome("config: {format: sysctl, key: net.ipv4.conf.all.rp_filter, equals: '1'}"),
            "error: config (line 7): /etc/sysctl.d/95-vlan.conf:1: the pattern in key net.ipv4.conf.*.rp_filter is not "
            "understood");
}

TEST_F(PolicyEngine, KeyValueShellAndIni_LastValueWins) {
  write("/etc/login.defs", "PASS_MAX_DAYS 99999\n# PASS_MAX_DAYS 1\nPASS_MAX_DAYS\t365\nUMASK 027\n");
  write("/etc/default/useradd", "export SHELL=\"/bin/sh\"\nINACTIVE=30 # days\nINACTIVE='45'\n");
  write("/etc/app.ini", "top = 1\n[Journal]\nStorage=volatile\n; Storage=auto\n[Journal]\nStorage = persistent\n");
  EXPECT_EQ(outcome("config: {path: /etc/login.defs, format: keyvalue, key: PASS_MAX_DAYS, at_most: 365}"), "pass");
  EXPECT_EQ(outcome("config: {path: /etc/login.defs, format: keyvalue, key: UMASK, one_of: ['027', '077']}"), "pass");
  EXPECT_EQ(outcome("config: {path: /etc/default/useradd, format: shell, key: SHELL, equals: /bin/sh}"), "pass");
  EXPECT_EQ(outcome("config: {path: /etc/default/useradd, format: shell, key: INACTIVE, equals: '45'}"), "pass");
  EXPECT_EQ(outcome("config: {path: /etc/app.ini, format: ini, key: Journal.Storage, equals: persistent}"), "pass");
  EXPECT_EQ(outcome("config: {path: /etc/app.ini, format: ini, key: top, equals: '1'}"), "pass");
  EXPECT_EQ(outcome("config: {path: /etc/none.ini, format: ini, key: a, default: x, equals: x}"), "pass");
}

TEST_F(PolicyEngine, KeyValue_ReadsLoginDefsAsShadowsGetdefDoes) {
  // A key alone leaves the earlier value; quotes around a value are dropped, and it ends at a quote.
  write("/etc/login.defs", "PASS_MAX_DAYS 365\nPASS_MAX_DAYS\nENCRYPT_METHOD \"SHA512\"\nUMASK\t\"027\" # x\n");
  EXPECT_EQ(outcome("config: {path: /etc/login.defs, format: keyvalue, key: PASS_MAX_DAYS, equals: '365'}"), "pass");
  EXPECT_EQ(outcome("config: {path: /etc/login.defs, format: keyvalue, key: ENCRYPT_METHOD, matches: '^SHA512$'}"),
            "pass");
  EXPECT_EQ(outcome("config: {path: /etc/login.defs, format: keyvalue, key: UMASK, equals: '027'}"), "pass");
}

TEST_F(PolicyEngine, PackagesServicesMountsModules) {
  write("/var/lib/dpkg/status",
        "Package: openssh-server\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:9.2p1-2+deb12u3\n\n"
        "Package: telnetd\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 0.17-44\n\n");
  EXPECT_EQ(outcome("package: {name: openssh-server, installed: true}"), "pass");
  EXPECT_EQ(outcome("package: {name: telnetd, installed: false}"), "pass");  // config files only
  EXPECT_EQ(outcome("package: {name: openssh-server, version_at_least: '1:9.2p1-2+deb12u2'}"), "pass");
  EXPECT_EQ(outcome("package: {name: openssh-server, version_before: '1:9.2p1-2+deb12u3'}"), "fail");

  write("/usr/lib/systemd/system/cron.service", "[Unit]\n");
  write("/usr/lib/systemd/system/cups.service", "[Unit]\n");
  fs::create_directories(dir_.path() / "etc/systemd/system/multi-user.target.wants");
  fs::create_symlink("/usr/lib/systemd/system/cron.service",
                     dir_.path() / "etc/systemd/system/multi-user.target.wants/cron.service");
  fs::create_symlink("/dev/null", dir_.path() / "etc/systemd/system/cups.service");
  EXPECT_EQ(outcome("service: {unit: cron.service, enabled: true}"), "pass");
  EXPECT_EQ(run("service: {unit: cups.service, enabled: false}").evidence, "cups.service is masked");
  EXPECT_EQ(outcome("service: {unit: none.service, enabled: false}"), "pass");
  EXPECT_EQ(run("service: {unit: cron.service, active: true}").outcome, Outcome::kError);  // no systemd here
  write("/run/systemd/system/.keep", "");
  write("/run/systemd/units/invocation:cron.service", "");
  EXPECT_EQ(outcome("service: {unit: cron.service, active: true}"), "pass");

  write("/proc/mounts", "tmpfs /tmp tmpfs rw,nosuid,nodev 0 0\n/dev/sda1 / ext4 rw 0 0\n");
  EXPECT_EQ(outcome("mount: {path: /tmp, options: [nodev, nosuid]}"), "pass");
  EXPECT_EQ(run("mount: {path: /tmp, options: [noexec]}").evidence, "/tmp (tmpfs) rw,nosuid,nodev, missing noexec");
  EXPECT_EQ(outcome("mount: {path: /var, mounted: false}"), "pass");

  write("/proc/modules", "usb_storage 81920 0 - Live 0x0\next4 1 0 - Live 0x0\n");
  write("/etc/modprobe.d/cis.conf", "install cramfs /bin/false\nblacklist usb-storage\n");
  EXPECT_EQ(outcome("kernel_module: {name: usb-storage, loaded: true, disabled: true}"), "pass");
  EXPECT_EQ(outcome("kernel_module: {name: cramfs, loaded: false, disabled: true}"), "pass");
  EXPECT_EQ(outcome("kernel_module: {name: ext4, disabled: true}"), "fail");
}

TEST_F(PolicyEngine, Accounts) {
  write("/etc/passwd",
        "root:x:0:0::/root:/bin/sh\ntoor:x:0:0::/root:/bin/sh\nbob:x:1000:1000::/h:/bin/sh\n"
        "old:pw:1001:1001::/h:/bin/sh\n+::::::\n");
  write("/etc/shadow",
        "root:$6$x:19000:0:99999:7:::\nbob:$6$y:19000:1:90:7:::\nnopw::19000:0:99999:7:::\n"
        "locked:!:19000:0:99999:7:::\n",
        0640);
  write("/etc/group", "root:x:0:\nbob:x:1000:\nbob:x:1001:\n");
  EXPECT_EQ(run("accounts: {rule: only_root_has_uid_0}").evidence, "accounts other than root with UID 0: toor");
  EXPECT_EQ(run("accounts: {rule: no_empty_passwords}").evidence, "accounts with an empty password: nopw");
  EXPECT_EQ(outcome("accounts: {rule: unique_uids}"), "fail");
  EXPECT_EQ(outcome("accounts: {rule: unique_gids}"), "pass");
  EXPECT_EQ(outcome("accounts: {rule: unique_group_names}"), "fail");
  EXPECT_EQ(run("accounts: {rule: shadow_hashed_passwords}").evidence,
            "accounts with a password outside /etc/shadow: old, +");
  EXPECT_EQ(outcome("accounts: {rule: no_legacy_plus_entries}"), "fail");
  EXPECT_EQ(run("accounts: {rule: password_max_days, at_most: 365}").evidence,
            "password accounts outside the limit (password_max_days): root (99999)");
  EXPECT_EQ(outcome("accounts: {rule: password_min_days, at_least: 1}"), "fail");
}

TEST_F(PolicyEngine, AccountsLoginShellsHomesAndDotFiles) {
  const std::string me = std::to_string(::getuid()), mine = std::to_string(::getgid());
  write("/etc/shells", "# valid login shells\n/bin/sh\n/bin/bash\n/usr/sbin/nologin\n");
  write("/etc/login.defs", "UID_MIN 1000\n");
  write("/etc/group", "root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\nmine:x:" + mine + ":\n");
  // System accounts: below UID_MIN, only root and the one-program accounts may have a login shell.
  write("/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\nsync:x:4:65534:sync:/bin:/bin/sync\n"
        "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\nuser:x:1000:1:::/bin/bash\n");
  EXPECT_EQ(outcome("accounts: {rule: system_accounts_no_login_shell}"), "pass");
  EXPECT_EQ(outcome("accounts: {rule: primary_groups_exist}"), "pass");
  write("/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/bin/bash\n"
        "lost:x:1001:4242::/home/lost:/bin/bash\n");
  EXPECT_EQ(run("accounts: {rule: system_accounts_no_login_shell}").evidence,
            "system accounts with a login shell: daemon (/bin/bash)");
  EXPECT_EQ(run("accounts: {rule: primary_groups_exist}").evidence,
            "accounts whose primary group does not exist: lost (GID 4242)");
  write("/etc/shadow", "root:$y$x:19700::::::\ndaemon:*:19700::::::\nlost:!$y$x:19700::::::\n");
  EXPECT_EQ(outcome("accounts: {rule: locked_without_login_shell}"), "pass");
  write("/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"
        "lost:x:1001:4242::/home/lost:/usr/sbin/nologin\n");
  write("/etc/shadow", "root:$y$x:19700::::::\ndaemon:*:19700::::::\nlost:$y$x:19700::::::\n");
  EXPECT_EQ(run("accounts: {rule: locked_without_login_shell}").evidence,
            "accounts without a login shell whose password is not locked: lost");
  write("/etc/login.defs", "UID_MIN many\n");
  EXPECT_EQ(outcome("accounts: {rule: system_accounts_no_login_shell}"),
            "error: accounts (line 7): UID_MIN many (/etc/login.defs:1) is not a UID");
  write("/etc/login.defs", "UID_MIN 1000\n");

  // Login accounts' homes and dot files: the test's own files, so "me" is the test's UID.
  write("/etc/passwd",
        "me:x:" + me + ":" + mine + "::/home/me:/bin/sh\nnologin:x:1002:1::/nonexistent:/usr/sbin/nologin\n");
  fs::create_directories(dir_.path() / "home/me");
  ::chmod((dir_.path() / "home/me").c_str(), 0750);
  write("/home/me/.profile", "umask 027\n", 0644);
  write("/home/me/.bash_history", "ls\n", 0600);
  EXPECT_EQ(outcome("accounts: {rule: interactive_homes}"), "pass");
  EXPECT_EQ(outcome("accounts: {rule: interactive_dot_files}"), "pass");
  ::chmod((dir_.path() / "home/me").c_str(), 0755);
  EXPECT_EQ(run("accounts: {rule: interactive_homes}").evidence,
            "login accounts' home directories not their own: me: /home/me 0755, expected at most 0750");
  write("/etc/passwd", "me:x:" + me + ":" + mine + "::/home/gone:/bin/sh\n");
  EXPECT_EQ(run("accounts: {rule: interactive_homes}").evidence,
            "login accounts' home directories not their own: me: /home/gone does not exist");
  write("/etc/passwd", "me:x:" + me + ":" + mine + "::/home/me:/bin/sh\n");
  write("/home/me/.rhosts", "+ +\n");
  write("/home/me/.bash_history", "ls\n", 0640);
  write("/home/me/.profile", "umask 027\n", 0666);
  auto dots = run("accounts: {rule: interactive_dot_files}");
  EXPECT_EQ(dots.outcome, Outcome::kFail);
  for (const char* offence : {"/home/me/.rhosts exists", "/home/me/.bash_history 0640", "/home/me/.profile 0666"})
    EXPECT_NE(dots.evidence.find(offence), std::string::npos) << offence << " in " << dots.evidence;
}

TEST_F(PolicyEngine, FileHashFindAndCommands) {
  write("/etc/abc", "abc");
  EXPECT_EQ(
      outcome("file_hash: {path: /etc/abc, equals: BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD}"),
      "pass");
  EXPECT_EQ(outcome("file_hash: {path: /etc/abc, algorithm: md5, equals: 900150983cd24fb0d6963f7d28e17f72}"), "pass");
  EXPECT_EQ(outcome("file_hash: {path: /etc/abc, algorithm: sha512, equals: '00'}"), "fail");

  write("/srv/a/open.txt", "x", 0666);
  write("/srv/a/b/deep.txt", "x", 0666);
  write("/srv/a/closed.txt", "x", 0600);
  write("/srv/a/tool", "x", 04755);
  EXPECT_EQ(run("find: {path: /srv, depth: 2, type: file, world_writable: true}").evidence,
            "1 match under /srv: /srv/a/open.txt, expected at most 0");
  EXPECT_EQ(run("find: {path: /srv, depth: 8, type: file, world_writable: true, at_most: 2}").outcome, Outcome::kPass);
  EXPECT_EQ(outcome("find: {path: /srv, depth: 8, name: '*.txt', at_least: 3}"), "pass");
  EXPECT_EQ(outcome("find: {path: /srv, depth: 8, suid: true, equals: 1}"), "pass");
  EXPECT_EQ(outcome("find: {path: /srv, depth: 8, type: directory, no_owner: true}"), "pass");
  EXPECT_EQ(outcome("find: {path: /srv, depth: 8, no_group: true}"), "pass");
  write("/etc/group", "root:x:0:\n");  // the test's files now belong to a group that does not exist
  EXPECT_EQ(outcome("find: {path: /srv, depth: 8, no_group: true}"), ::getgid() == 0 ? "pass" : "fail");

  // Permissions over a tree: only what breaks them matches.
  EXPECT_EQ(run("find: {path: /srv/a, depth: 8, type: file, max_mode: '0644'}").evidence.substr(0, 21),
            "3 match under /srv/a:");  // open.txt, deep.txt and the set-uid tool
  EXPECT_EQ(outcome("find: {path: /srv/a, depth: 8, type: file, max_mode: '0666', equals: 1}"), "pass");  // the tool
  EXPECT_EQ(outcome("find: {path: /srv/a, depth: 8, owner: " + me_ + ", group: " + mine_ + "}"), "pass");
  EXPECT_EQ(run("find: {path: /srv/a, depth: 8, type: file, name: 'closed*', owner: nobody}").evidence,
            "1 match under /srv/a: /srv/a/closed.txt, expected at most 0");

  // A long walk stops when the scan is cancelled: the checkpoint's exception goes past the control.
  for (int i = 0; i < 1100; ++i) std::ofstream(dir_.path() / "srv/a" / ("f" + std::to_string(i)));
  int checkpoints = 0;
  struct Stop {};
  environment_.checkpoint = [&checkpoints] {
    if (++checkpoints == 1) throw Stop();
  };
  EXPECT_THROW(run("find: {path: /srv, depth: 8, world_writable: true}"), Stop);
  environment_.checkpoint = nullptr;

  // local_only: what is mounted from proc or the network is not walked.
  write("/srv/share/open.txt", "x", 0666);
  write("/proc/mounts", "/dev/sda1 / ext4 rw 0 0\nserver:/export /srv/share nfs4 rw 0 0\nproc /proc proc rw 0 0\n");
  std::string all = run("find: {path: /srv, depth: 8, type: file, world_writable: true}").evidence;
  EXPECT_TRUE(all.starts_with("3 match under /srv: ") && all.find("/srv/share/open.txt") != std::string::npos) << all;
  std::string local = run("find: {path: /srv, depth: 8, type: file, world_writable: true, local_only: true}").evidence;
  EXPECT_TRUE(local.starts_with("2 match under /srv: ") && local.find("/srv/share") == std::string::npos) << local;
  EXPECT_EQ(outcome("find: {path: /srv/share, depth: 8, local_only: true}"),
            "error: /srv/share is not on a local disk filesystem, which local_only does not walk");

  EXPECT_EQ(outcome("command: {argv: [/bin/sh, -c, 'echo hello; exit 3'], exit_code: 3, equals: hello}"), "pass");
  EXPECT_EQ(outcome("command: {argv: [/bin/sh, -c, 'echo 42'], at_least: 40}"), "pass");
  EXPECT_EQ(outcome("command: {argv: [/bin/sh, -c, 'echo no'], matches: '^yes'}"), "fail");
}

TEST_F(PolicyEngine, Combinations_NotApplicable_AndErrorsStayInTheirControl) {
  write("/etc/a", "a");
  EXPECT_EQ(outcome("all: [{file_exists: {path: /etc/a}}, {file_exists: {path: /etc/b}}]"), "fail");
  EXPECT_EQ(outcome("any: [{file_exists: {path: /etc/a}}, {file_exists: {path: /etc/b}}]"), "pass");
  EXPECT_EQ(outcome("none: [{file_exists: {path: /etc/b}}]"), "pass");
  EXPECT_EQ(outcome("file_exists: {path: /etc/a}", "file_exists: {path: /etc/b}"), "not_applicable");
  EXPECT_EQ(outcome("file_exists: {path: /etc/a}", "file_exists: {path: /etc/a}"), "pass");
  // shadow unreadable: an error naming why, and the next control still runs.
  std::string text =
      "policy: p\nversion: '1'\ncontrols:\n"
      "  - {id: one, title: t, check: {accounts: {rule: no_empty_passwords}}}\n"
      "  - {id: two, title: t, check: {any: [{accounts: {rule: no_empty_passwords}}, {file_exists: {path: /etc/a}}]}}\n"
      "  - {id: three, title: t, check: {file_exists: {path: /etc/a}}}\n";
  auto policies = parse_policies(text, "p.yaml");
  auto one = evaluate(policies[0].controls[0], environment_);
  EXPECT_EQ(one.outcome, Outcome::kError);
  EXPECT_NE(one.evidence.find("accounts (line 4): cannot read /etc/shadow"), std::string::npos) << one.evidence;
  EXPECT_EQ(evaluate(policies[0].controls[1], environment_).outcome, Outcome::kPass);
  EXPECT_EQ(evaluate(policies[0].controls[2], environment_).outcome, Outcome::kPass);
}

TEST(PolicyParse, RefusesInvalidPoliciesWithFileLineAndReason) {
  struct Case {
    std::string text;
    std::string error;
  };
  std::string head = "policy: p\nversion: '1'\ncontrols:\n  - id: a\n    title: t\n    check:\n";
  for (const Case& bad :
       {Case{head + "      registry: {key: x}\n", "p.yaml:7: unknown check 'registry'"},
        Case{head + "      file_exists: {path: relative}\n", "p.yaml:7: path must be absolute"},
        Case{head + "      file_content: {path: /a, line_matches: '('}\n",
             "p.yaml:7: line_matches is not a valid regular expression"},
        Case{head + "      permissions: {path: /a, max_mode: '0999'}\n", "p.yaml:7: max_mode must be an octal mode"},
        Case{head + "      config: {path: /a, format: toml, key: k}\n", "p.yaml:7: format must be sshd"},
        Case{head + "      config: {path: /a, format: ini}\n", "p.yaml:7: a config check needs 'key'"},
        Case{head + "      sysctl: {key: a, colour: red}\n", "p.yaml:7: unknown field 'colour' in a sysctl check"},
        Case{head + "      all: []\n", "p.yaml:7: all takes a non-empty list"},
        Case{head + "      accounts: {rule: everything_fine}\n", "p.yaml:7: unknown accounts rule"},
        Case{"policy: p\nversion: '1'\ncontrols:\n  - id: a\n    title: t\n    severity: extreme\n"
             "    check: {file_exists: {path: /a}}\n",
             "p.yaml:6: severity must be low, medium, high or critical"},
        Case{"policy: p\nversion: '1'\ncontrols:\n  - title: t\n    check: {file_exists: {path: /a}}\n",
             "p.yaml:4: a control needs an id"},
        Case{"policy: p\nversion: '1'\ncontrols:\n  - {id: a, title: t, check: {file_exists: {path: /a}}}\n"
             "  - {id: a, title: t, check: {file_exists: {path: /a}}}\n",
             "p.yaml:5: control id 'a' is used twice"},
        Case{"policy: p\ncontrols: [\n", "p.yaml:3: not valid YAML"}, Case{"", "p.yaml: no policy in the document"},
        Case{"policy: p\ncontrols: []\n", "needs a version"}}) {
    try {
      parse_policies(bad.text, "p.yaml");
      ADD_FAILURE() << "accepted: " << bad.text;
    } catch (const PolicyError& error) {
      EXPECT_NE(std::string(error.what()).find(bad.error), std::string::npos) << error.what();
    }
  }
}

TEST(PolicyParse, UnknownCheckNamesEveryKnownKind) {
  std::string text = "policy: p\nversion: '1'\ncontrols:\n  - {id: a, title: t, check: {registry: {key: x}}}\n";
  try {
    parse_policies(text, "p.yaml");
    ADD_FAILURE() << "accepted an unknown check";
  } catch (const PolicyError& error) {
    for (const CheckKind& kind : check_kinds())
      EXPECT_NE(std::string(error.what()).find(kind.name), std::string::npos) << error.what();
  }
}

// Every field a kind lists has a parser: a value is taken or refused with a
// PolicyError, never an exception of the parser's own.
TEST(PolicyParse, EveryFieldOfEveryKindIsRead) {
  for (const CheckKind& kind : check_kinds()) {
    for (std::string_view field : kind.fields) {
      std::string text = "policy: p\nversion: '1'\ncontrols:\n  - {id: a, title: t, check: {" + std::string(kind.name) +
                         ": {" + std::string(field) + ": x}}}\n";
      try {
        parse_policies(text, "p.yaml");
      } catch (const PolicyError&) {
      } catch (const std::exception& error) {
        ADD_FAILURE() << kind.name << "." << field << ": " << error.what();
      }
    }
  }
}

// docs/policies.md lists the kinds this table has, in its order, with the
// table's words: the docs cannot drift from the code.
TEST(PolicyDocs, CheckKindsTableMatchesTheEngine) {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/docs/policies.md");
  ASSERT_TRUE(in);
  std::vector<std::string> documented;
  bool in_section = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("## ")) in_section = line == "## Check kinds";
    if (in_section && line.starts_with("| `")) documented.push_back(line);
  }
  std::string expected;
  for (const CheckKind& kind : check_kinds()) expected += check_kind_doc_row(kind) + "\n";
  std::string actual;
  for (const std::string& row : documented) actual += row + "\n";
  EXPECT_EQ(actual, expected) << "the rows docs/policies.md's \"Check kinds\" table should have:\n" << expected;
}

}  // namespace
}  // namespace vigil::policy
