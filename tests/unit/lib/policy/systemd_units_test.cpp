// The systemd reader against files built under a temp root: which unit file
// and drop-ins systemd 252 loads (search path order, masking, templates,
// prefix and type drop-ins, a name hiding the same name later), how values
// merge (last wins, lists, booleans, continuation lines), systemd's own
// configuration files with their drop-ins, what is an error, and
// `systemd-analyze cat-config --root` as the oracle for the order of a
// configuration file's drop-ins.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <random>

#include "policy_under_root.h"
#include "vigil/policy/policy.h"
#include "vigil/policy/systemd_units.h"

namespace vigil::policy {
namespace {

namespace fs = std::filesystem;

class SystemdUnits : public test_util::PolicyUnderRoot {
 protected:
  void link(const std::string& path, const std::string& target) {
    fs::path at = dir_.path() / fs::path(path).relative_path();
    fs::create_directories(at.parent_path());
    fs::create_symlink(target, at);
  }
  std::vector<std::string> dropins(const std::string& unit) {
    std::vector<std::string> names;
    for (const auto& file : find_unit_files(dir_.path(), unit).dropins) names.push_back(file.string());
    return names;
  }
  std::string value_error(const std::string& unit, const std::string& key) {
    try {
      systemd_unit_value(dir_.path(), find_unit_files(dir_.path(), unit), key);
    } catch (const std::runtime_error& problem) {
      return problem.what();
    }
    return "no error";
  }
};

TEST_F(SystemdUnits, FragmentFromTheSearchPath) {
  write("/lib/systemd/system/foo.service", "[Service]\nUser=lib\n");
  write("/usr/lib/systemd/system/foo.service", "[Service]\nUser=usr\n");
  EXPECT_EQ(outcome("systemd_unit: {unit: foo.service, key: Service.User, equals: lib}"),
            "pass: foo.service Service.User = lib (/lib/systemd/system/foo.service:2)");
  write("/etc/systemd/system/foo.service", "[Service]\nUser=etc\n");
  EXPECT_EQ(outcome("systemd_unit: {unit: foo.service, key: Service.User, equals: lib}"),
            "fail: foo.service Service.User = etc (/etc/systemd/system/foo.service:2), expected lib");
  // Masked: by a link to /dev/null or an empty file.
  fs::remove(dir_.path() / "etc/systemd/system/foo.service");
  link("/etc/systemd/system/foo.service", "/dev/null");
  EXPECT_EQ(outcome("systemd_unit: {unit: foo.service, key: Service.User, present: true}"),
            "fail: foo.service is masked (/etc/systemd/system/foo.service)");
  fs::remove(dir_.path() / "etc/systemd/system/foo.service");
  write("/run/systemd/system/foo.service", "");
  EXPECT_TRUE(find_unit_files(dir_.path(), "foo.service").masked);
  EXPECT_EQ(outcome("systemd_unit: {unit: bar.service, key: Service.User, present: false}"),
            "pass: bar.service has no unit file");
  // A linked unit file (same name elsewhere) is read; an alias is not.
  write("/opt/units/baz.service", "[Service]\nUser=opt\n");
  link("/etc/systemd/system/baz.service", "/opt/units/baz.service");
  EXPECT_EQ(outcome("systemd_unit: {unit: baz.service, key: Service.User, equals: opt}"),
            "pass: baz.service Service.User = opt (/etc/systemd/system/baz.service:2)");
  link("/etc/systemd/system/qux.service", "/lib/systemd/system/foo.service");
  EXPECT_NE(error_of("systemd_unit: {unit: qux.service, key: Service.User, equals: x}").find("is an alias of"),
            std::string::npos);
  // Drop-ins of an alias of the unit asked for.
  write("/etc/systemd/system/qux.service.d/a.conf", "[Service]\nUser=alias\n");
  EXPECT_NE(value_error("foo.service", "Service.User").find("an alias of foo.service, are not understood"),
            std::string::npos);
}

TEST_F(SystemdUnits, DropInsInSystemdsOrder) {
  write("/lib/systemd/system/foo-bar-baz.service", "[Service]\nUser=a\n");
  write("/usr/lib/systemd/system/foo-bar-baz.service.d/10-usr.conf", "[Service]\nUser=usr\n");
  write("/usr/lib/systemd/system/foo-bar-baz.service.d/50-same.conf", "[Service]\nUser=hidden\n");
  write("/etc/systemd/system/foo-bar-baz.service.d/50-same.conf", "[Service]\nUser=etc\n");
  write("/run/systemd/system/foo-.service.d/30-prefix.conf", "[Service]\nUser=prefix\n");
  write("/lib/systemd/system/foo-bar-.service.d/20-prefix.conf", "[Service]\nGroup=g\n");
  write("/usr/lib/systemd/system/service.d/40-type.conf", "[Service]\nUser=type\n");
  write("/etc/systemd/system/foo-bar-baz.service.d/60-not-conf.txt", "[Service]\nUser=no\n");
  write("/etc/systemd/system/foo-bar-baz.service.d/.70-hidden.conf", "[Service]\nUser=no\n");
  EXPECT_EQ(
      dropins("foo-bar-baz.service"),
      (std::vector<std::string>{
          "/usr/lib/systemd/system/foo-bar-baz.service.d/10-usr.conf",
          "/lib/systemd/system/foo-bar-.service.d/20-prefix.conf", "/run/systemd/system/foo-.service.d/30-prefix.conf",
          "/usr/lib/systemd/system/service.d/40-type.conf", "/etc/systemd/system/foo-bar-baz.service.d/50-same.conf"}));
  EXPECT_EQ(outcome("systemd_unit: {unit: foo-bar-baz.service, key: Service.User, equals: etc}"),
            "pass: foo-bar-baz.service Service.User = etc (/etc/systemd/system/foo-bar-baz.service.d/50-same.conf:2)");
  // An empty drop-in (or a link to /dev/null) hides the same name and sets nothing.
  link("/etc/systemd/system/foo-bar-baz.service.d/40-type.conf", "/dev/null");
  fs::remove(dir_.path() / "etc/systemd/system/foo-bar-baz.service.d/50-same.conf");
  write("/etc/systemd/system/foo-bar-baz.service.d/50-same.conf", "");
  EXPECT_EQ(outcome("systemd_unit: {unit: foo-bar-baz.service, key: Service.User, equals: prefix}"),
            "pass: foo-bar-baz.service Service.User = prefix (/run/systemd/system/foo-.service.d/30-prefix.conf:2)");
  // A directory named *.conf is not a drop-in systemd reads.
  fs::create_directories(dir_.path() / "etc/systemd/system/foo-bar-baz.service.d/80-dir.conf");
  EXPECT_NE(error_of("systemd_unit: {unit: foo-bar-baz.service, key: Service.User, equals: x}")
                .find("80-dir.conf is not a file systemd reads"),
            std::string::npos);
}

TEST_F(SystemdUnits, Templates) {
  write("/lib/systemd/system/getty@.service", "[Service]\nType=idle\nRestart=always\n");
  write("/etc/systemd/system/getty@.service.d/a.conf", "[Service]\nRestart=no\n");
  write("/etc/systemd/system/getty@tty1.service.d/b.conf", "[Service]\nType=simple\n");
  EXPECT_EQ(outcome("systemd_unit: {unit: getty@tty1.service, key: Service.Type, equals: simple}"),
            "pass: getty@tty1.service Service.Type = simple (/etc/systemd/system/getty@tty1.service.d/b.conf:2)");
  EXPECT_EQ(outcome("systemd_unit: {unit: getty@tty2.service, key: Service.Type, equals: idle}"),
            "pass: getty@tty2.service Service.Type = idle (/lib/systemd/system/getty@.service:2)");
  EXPECT_EQ(outcome("systemd_unit: {unit: getty@tty2.service, key: Service.Restart, equals: 'no'}"),
            "pass: getty@tty2.service Service.Restart = no (/etc/systemd/system/getty@.service.d/a.conf:2)");
  // An instance's own file wins over the template.
  write("/usr/lib/systemd/system/getty@tty3.service", "[Service]\nType=oneshot\n");
  EXPECT_EQ(outcome("systemd_unit: {unit: getty@tty3.service, key: Service.Type, equals: oneshot}").substr(0, 5),
            "pass:");
  // Prefix drop-ins of an instance: foo-@inst and its template.
  write("/lib/systemd/system/a-b@x.service", "[Service]\n");
  write("/etc/systemd/system/a-@x.service.d/1.conf", "[Service]\n");
  write("/etc/systemd/system/a-@.service.d/2.conf", "[Service]\n");
  write("/etc/systemd/system/a-.service.d/3.conf", "[Service]\n");
  EXPECT_EQ(dropins("a-b@x.service"), (std::vector<std::string>{"/etc/systemd/system/a-@x.service.d/1.conf",
                                                                "/etc/systemd/system/a-@.service.d/2.conf",
                                                                "/etc/systemd/system/a-.service.d/3.conf"}));
}

TEST_F(SystemdUnits, ValuesAsSystemdMergesThem) {
  write("/lib/systemd/system/foo.service",
        "# comment\n; another\n[Unit]\nDescription=A long \\\n"
        "# skipped inside a continuation\n"
        "  description\n[Service]\nNoNewPrivileges=true\nProtectSystem=strict\nProtectHome=1\n"
        "[Install]\nWantedBy=multi-user.target\nWantedBy=a.target  b.target\n[X-Vendor]\nAnything=goes\n");
  EXPECT_EQ(outcome("systemd_unit: {unit: foo.service, key: Unit.Description, equals: A long    description}"),
            "pass: foo.service Unit.Description = A long    description (/lib/systemd/system/foo.service:4)");
  EXPECT_EQ(outcome("systemd_unit: {unit: foo.service, key: Service.NoNewPrivileges, equals: 'on'}"),
            "pass: foo.service Service.NoNewPrivileges = yes (/lib/systemd/system/foo.service:8)");
  EXPECT_EQ(outcome("systemd_unit: {unit: foo.service, key: Service.ProtectSystem, one_of: [strict, full]}"),
            "pass: foo.service Service.ProtectSystem = strict (/lib/systemd/system/foo.service:9)");
  EXPECT_EQ(outcome("systemd_unit: {unit: foo.service, key: Service.ProtectHome, equals: true}"),
            "pass: foo.service Service.ProtectHome = yes (/lib/systemd/system/foo.service:10)");
  EXPECT_EQ(outcome("systemd_unit: {unit: foo.service, key: Install.WantedBy, equals: multi-user.target a.target "
                    "b.target}"),
            "pass: foo.service Install.WantedBy = multi-user.target a.target b.target "
            "(/lib/systemd/system/foo.service:12, /lib/systemd/system/foo.service:13)");
  EXPECT_EQ(outcome("systemd_unit: {unit: foo.service, key: Service.PrivateTmp, default: 'no', equals: 'no'}"),
            "pass: foo.service Service.PrivateTmp = no (default)");
  // An empty assignment empties a list.
  write("/etc/systemd/system/foo.service.d/x.conf", "[Install]\nWantedBy=\nWantedBy=c.target\n");
  EXPECT_EQ(outcome("systemd_unit: {unit: foo.service, key: Install.WantedBy, equals: c.target}"),
            "pass: foo.service Install.WantedBy = c.target (/etc/systemd/system/foo.service.d/x.conf:3)");
}

TEST_F(SystemdUnits, WhatIsAnError) {
  auto unit_error = [&](const std::string& text, const std::string& key = "Service.User") {
    write("/etc/systemd/system/e.service", text);
    return value_error("e.service", key);
  };
  EXPECT_EQ(unit_error("User=x\n"), "/etc/systemd/system/e.service:1: User= outside of a section");
  EXPECT_EQ(unit_error("[Service\nUser=x\n"), "/etc/systemd/system/e.service:1: invalid section header [Service");
  EXPECT_EQ(unit_error("[Service]\nUser\n"), "/etc/systemd/system/e.service:2: a line without '=': User");
  EXPECT_EQ(unit_error("[Service]\n=x\n"), "/etc/systemd/system/e.service:2: an assignment without a key");
  EXPECT_EQ(unit_error("[Service]\n.include /x\n"), "/etc/systemd/system/e.service:2: '.include /x' is not understood");
  EXPECT_EQ(unit_error("[Service]\nUser=\n"),
            "/etc/systemd/system/e.service:2: Service.User=: an empty assignment is not understood");
  EXPECT_EQ(unit_error("[Service]\nUser=%i\n"),
            "/etc/systemd/system/e.service:2: the specifier %i is not expanded by this reader");
  EXPECT_EQ(unit_error("[Service]\nNoNewPrivileges=maybe\n", "Service.NoNewPrivileges"),
            "/etc/systemd/system/e.service:2: Service.NoNewPrivileges=maybe: not a boolean (systemd ignores the line)");
  EXPECT_EQ(unit_error("[Service]\nType=simpel\n", "Service.Type"),
            "/etc/systemd/system/e.service:2: Service.Type=simpel: not a value systemd takes");
  EXPECT_EQ(unit_error("[Install]\nWantedBy=\"a b\"\n", "Install.WantedBy"),
            "/etc/systemd/system/e.service:2: Install.WantedBy=\"a b\": quotes and escapes in a list are not "
            "understood");
  // A comment ending in a backslash continues nothing; a blank line ends a continued one.
  EXPECT_EQ(unit_error("[Service]\n# x \\\nUser=a\n"), "no error");
  EXPECT_EQ(unit_error("[Service]\nUser=a \\\n\nb\n"), "/etc/systemd/system/e.service:4: a line without '=': b");
  EXPECT_EQ(unit_error("[Service]\r\nUser=a\n"),
            "/etc/systemd/system/e.service:1: a carriage return is not understood");
  // An even number of backslashes does not continue the line.
  EXPECT_EQ(unit_error("[Service]\nUser=a\\\\\n"), "no error");
  // At policy load: unknown keys, a section of another type, bad unit names.
  auto load = [](const std::string& check) {
    try {
      parse_policies("policy: p\nversion: '1'\ncontrols:\n  - id: c\n    title: t\n    check:\n      " + check + "\n",
                     "t.yaml");
    } catch (const PolicyError& problem) {
      return std::string(problem.what());
    }
    return std::string("loaded");
  };
  EXPECT_EQ(load("systemd_unit: {unit: tmp.mount, key: Mount.Options, matches: nodev}"), "loaded");
  EXPECT_EQ(load("systemd_unit: {unit: tmp.mount, key: Service.User, equals: x}"),
            "t.yaml:7: a .mount unit has no [Service] section");
  EXPECT_EQ(load("systemd_unit: {unit: tmp.mount, key: Mount.Frobnicate, equals: x}"),
            "t.yaml:7: 'Mount.Frobnicate' is not a property this reader reads (see docs/policies.md)");
  EXPECT_EQ(load("systemd_unit: {unit: tmp.mount, key: Options, equals: x}"),
            "t.yaml:7: key must be Section.Key, such as Mount.Options, not 'Options'");
  EXPECT_EQ(load("systemd_unit: {unit: tmp.frob, key: Unit.Description, equals: x}"),
            "t.yaml:7: 'tmp.frob' is not a unit name systemd accepts");
  EXPECT_EQ(load("systemd_unit: {unit: tmp.mount, key: Mount.Options}"),
            "t.yaml:7: a systemd_unit check needs an expectation");
  EXPECT_EQ(load("config: {format: systemd, path: /etc/systemd/journald.conf, key: Journal.Frob, equals: x}"),
            "t.yaml:7: 'Journal.Frob' is not a key of journald.conf this reader reads (see docs/policies.md)");
  EXPECT_EQ(load("config: {format: systemd, path: /etc/systemd/resolved.conf, key: Resolve.DNS, equals: x}"),
            "t.yaml:7: format systemd reads /etc/systemd/ coredump.conf, journal-upload.conf, journald.conf, "
            "logind.conf, timesyncd.conf, not /etc/systemd/resolved.conf");
}

TEST_F(SystemdUnits, MountUnitNames) {
  EXPECT_EQ(mount_unit_name("/tmp"), "tmp.mount");
  EXPECT_EQ(mount_unit_name("/var/log/audit/"), "var-log-audit.mount");
  EXPECT_EQ(mount_unit_name("/"), "-.mount");
  EXPECT_EQ(mount_unit_name("/srv/my-data"), "srv-my\\x2ddata.mount");
  EXPECT_EQ(mount_unit_name("/.snapshots"), "\\x2esnapshots.mount");
  EXPECT_EQ(mount_unit_name("//dev//shm"), "dev-shm.mount");
}

TEST_F(SystemdUnits, ConfigFilesWithDropIns) {
  write("/etc/systemd/journald.conf", "[Journal]\n#Storage=auto\nStorage=volatile\nCompress=yes\n");
  const std::string storage = "config: {format: systemd, path: /etc/systemd/journald.conf, key: Journal.Storage, ";
  EXPECT_EQ(outcome(storage + "equals: volatile}"), "pass: Journal.Storage = volatile (/etc/systemd/journald.conf:3)");
  write("/usr/lib/systemd/journald.conf.d/10-a.conf", "[Journal]\nStorage=persistent\n");
  write("/usr/lib/systemd/journald.conf.d/20-b.conf", "[Journal]\nStorage=none\n");
  write("/etc/systemd/journald.conf.d/20-b.conf", "[Journal]\nForwardToSyslog=no\n");
  EXPECT_EQ(outcome(storage + "equals: persistent}"),
            "pass: Journal.Storage = persistent (/usr/lib/systemd/journald.conf.d/10-a.conf:2)");
  EXPECT_EQ(outcome("config: {format: systemd, path: /etc/systemd/journald.conf, key: Journal.ForwardToSyslog, "
                    "equals: false}"),
            "pass: Journal.ForwardToSyslog = no (/etc/systemd/journald.conf.d/20-b.conf:2)");
  EXPECT_EQ(outcome("config: {format: systemd, path: /etc/systemd/journald.conf, key: Journal.Seal, default: yes, "
                    "equals: 'on'}"),
            "pass: Journal.Seal = yes (default)");
  write("/run/systemd/journald.conf.d/30-c.conf", "[Journal]\nStorage=persistant\n");
  EXPECT_NE(
      error_of(storage + "equals: persistent}")
          .find("/run/systemd/journald.conf.d/30-c.conf:2: Journal.Storage=persistant: not a value systemd takes"),
      std::string::npos);
  // NTP servers add up; an empty assignment starts again.
  write("/etc/systemd/timesyncd.conf", "[Time]\nNTP=0.debian.pool.ntp.org 1.debian.pool.ntp.org\n");
  const std::string ntp = "config: {format: systemd, path: /etc/systemd/timesyncd.conf, key: Time.NTP, ";
  write("/etc/systemd/timesyncd.conf.d/a.conf", "[Time]\nNTP=time.example.org\n");
  EXPECT_EQ(outcome(ntp + "equals: 0.debian.pool.ntp.org 1.debian.pool.ntp.org time.example.org}"),
            "pass: Time.NTP = 0.debian.pool.ntp.org 1.debian.pool.ntp.org time.example.org "
            "(/etc/systemd/timesyncd.conf:2, /etc/systemd/timesyncd.conf.d/a.conf:2)");
  write("/etc/systemd/timesyncd.conf.d/b.conf", "[Time]\nNTP=\n");
  EXPECT_EQ(outcome(ntp + "present: true}"), "fail: Time.NTP is not set");
  // Text values as written, the last one winning.
  write("/etc/systemd/journal-upload.conf", "[Upload]\nURL=https://a.example:19532\n");
  write("/usr/lib/systemd/journal-upload.conf.d/b.conf", "[Upload]\nURL=https://logs.example.org:19532\n");
  EXPECT_EQ(outcome("config: {format: systemd, path: /etc/systemd/journal-upload.conf, key: Upload.URL, matches: "
                    "'^https://logs'}"),
            "pass: Upload.URL = https://logs.example.org:19532 (/usr/lib/systemd/journal-upload.conf.d/b.conf:2)");
  // No file at all: nothing is set.
  EXPECT_EQ(outcome("config: {format: systemd, path: /etc/systemd/coredump.conf, key: Coredump.Storage, default: "
                    "external, equals: none}"),
            "fail: Coredump.Storage = external (default), expected none");
}

// The configuration files and drop-ins `systemd-analyze cat-config --root` prints, in its order.
std::vector<std::string> cat_config_files(const fs::path& root, const std::string& name) {
  std::string command = "systemd-analyze cat-config --root='" + root.string() + "' " + name + " 2>&1";
  std::vector<std::string> files;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return files;
  char line[4096];
  std::string prefix = "# " + root.string();
  while (std::fgets(line, sizeof(line), pipe) != nullptr) {
    std::string text(line);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    if (text.starts_with(prefix)) files.push_back(text.substr(prefix.size()));
  }
  ::pclose(pipe);
  return files;
}

TEST_F(SystemdUnits, ConfigDropInOrderAgreesWithSystemdAnalyze) {
  if (std::system("systemd-analyze --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "systemd-analyze is not installed";
  std::mt19937 random(21);
  const std::vector<std::string> directories = {"/etc/systemd/journald.conf.d", "/run/systemd/journald.conf.d",
                                                "/usr/local/lib/systemd/journald.conf.d",
                                                "/usr/lib/systemd/journald.conf.d", "/lib/systemd/journald.conf.d"};
  int compared = 0;
  for (int round = 0; round < 40; ++round) {
    fs::remove_all(dir_.path());
    fs::create_directories(dir_.path());
    write("/etc/systemd/journald.conf", "[Journal]\n");
    for (int i = 0; i < 6; ++i) {
      std::string name = std::string(1, static_cast<char>('a' + random() % 4)) + std::to_string(random() % 3) +
                         (random() % 5 == 0 ? ".txt" : ".conf");
      write(directories[random() % directories.size()] + "/" + name, "[Journal]\n");
    }
    std::vector<std::string> ours;
    for (const auto& file : systemd_config_files(dir_.path(), "/etc/systemd/journald.conf"))
      ours.push_back(file.string());
    EXPECT_EQ(ours, cat_config_files(dir_.path(), "systemd/journald.conf")) << "round " << round;
    ++compared;
  }
  EXPECT_EQ(compared, 40);
}

// This machine's unit files and systemd configuration files read without
// an error (where it has them).
TEST_F(SystemdUnits, ThisMachinesFilesParse) {
  int files = 0;
  std::error_code ignored;
  for (const char* directory : {"/lib/systemd/system", "/etc/systemd/system", "/etc/systemd"}) {
    for (const auto& entry : fs::directory_iterator(directory, ignored)) {
      std::string name = entry.path().filename().string();
      bool unit = name.ends_with(".service") || name.ends_with(".mount") || name.ends_with(".socket") ||
                  name.ends_with(".timer") || name.ends_with(".target");
      if (!(unit || name.ends_with(".conf")) || !fs::is_regular_file(entry.path(), ignored)) continue;
      EXPECT_NO_THROW(systemd_file_assignments("/", entry.path())) << entry.path();
      ++files;
    }
  }
  if (files == 0) GTEST_SKIP() << "no systemd files on this machine";
  std::cout << files << " of this machine's systemd files read\n";
  for (const char* key : {"Journal.Storage", "Journal.Compress", "Journal.ForwardToSyslog"})
    EXPECT_NO_THROW(systemd_config_value("/", "/etc/systemd/journald.conf", key)) << key;
  EXPECT_NO_THROW(find_unit_files("/", "systemd-journald.service"));
}

// What `systemd-analyze verify` says about `unit`: the keys it reports as
// unknown, in its order, and whether it ignored a line without '='.
struct VerifyReport {
  std::vector<std::string> unknown_keys;
  bool missing_equals = false;
};

VerifyReport verify_with_systemd(const fs::path& unit) {
  std::string command = "systemd-analyze verify --man=no '" + unit.string() + "' 2>&1";
  VerifyReport report;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return report;
  char line[4096];
  while (std::fgets(line, sizeof(line), pipe) != nullptr) {
    std::string text(line);
    if (!text.starts_with(unit.string() + ":")) continue;
    if (text.find("Missing '='") != std::string::npos) report.missing_equals = true;
    size_t at = text.find(": Unknown key '");
    if (at == std::string::npos) continue;
    at += 15;
    report.unknown_keys.push_back(text.substr(at, text.find('\'', at) - at));
  }
  ::pclose(pipe);
  return report;
}

// Random lines in systemd's syntax (comments, blank lines, continued lines
// with comments and blank lines inside, even and odd backslashes) with keys
// systemd does not know: the keys systemd-analyze verify warns about are the
// keys the reader sees, in the same order.
TEST_F(SystemdUnits, LinesAgreeWithSystemdAnalyzeVerify) {
  if (std::system("systemd-analyze --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "systemd-analyze is not installed";
  const std::vector<std::string> pieces = {"# comment", "; comment", "# comment \\", "  # indented \\", "",
                                           "   ",       "\t",        "K=a \\",       "K=a\\\\",         "K=a \\\\\\",
                                           "  K = b",   "K=",        "\tK=c d",      "more words \\",   "K=x # y"};
  std::mt19937 random(252);
  int agreed = 0, refused = 0;
  for (int round = 0; round < 60; ++round) {
    std::string text = "[Unit]\nDescription=oracle\n[Service]\nExecStart=/bin/true\n";
    for (int i = 0; i < 14; ++i) {
      std::string line = pieces[random() % pieces.size()];
      if (auto at = line.find('K'); at != std::string::npos) line.replace(at, 1, "Zk" + std::to_string(i));
      text += line + "\n";
    }
    text += "Zkend=1\n";
    write("/etc/systemd/system/oracle.service", text);
    auto systemd = verify_with_systemd(dir_.path() / "etc/systemd/system/oracle.service");
    std::vector<std::string> ours;
    try {
      for (const auto& assignment : systemd_file_assignments(dir_.path(), "/etc/systemd/system/oracle.service"))
        if (assignment.key.starts_with("Service.") && assignment.key != "Service.ExecStart")
          ours.push_back(assignment.key.substr(8));
    } catch (const std::runtime_error& problem) {
      // The reader refuses a line without '=', which systemd ignores with a warning.
      EXPECT_NE(std::string(problem.what()).find("a line without '='"), std::string::npos) << problem.what();
      EXPECT_TRUE(systemd.missing_equals) << text;
      ++refused;
      continue;
    }
    EXPECT_EQ(ours, systemd.unknown_keys) << text;
    ++agreed;
  }
  std::cout << "systemd-analyze verify: " << agreed << " files read alike, " << refused
            << " refused (a line without '=')\n";
  EXPECT_GE(agreed, 20);
}

// The files `systemd-analyze verify --root` loads for `unit`, in its order
// (each file of the tree sets one key systemd does not know).
std::vector<std::string> files_loaded_by_systemd(const fs::path& root, const std::string& unit) {
  std::string command = "systemd-analyze verify --man=no --root='" + root.string() + "' " + unit + " 2>&1";
  std::vector<std::string> files;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return files;
  char line[4096];
  while (std::fgets(line, sizeof(line), pipe) != nullptr) {
    std::string text(line);
    size_t colon = text.find(':');
    if (!text.starts_with(root.string() + "/") || text.find(": Unknown key '") == std::string::npos) continue;
    files.push_back(text.substr(root.string().size(), colon - root.string().size()));
  }
  ::pclose(pipe);
  return files;
}

// Random trees of unit files and drop-ins (the unit's own, its template's,
// its prefixes', the type's; names repeated across directories) in the
// search path: the unit file and drop-ins the reader finds, in its order, are
// those systemd-analyze verify --root loads.
TEST_F(SystemdUnits, UnitFilesAgreeWithSystemdAnalyzeVerify) {
  if (std::system("systemd-analyze --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "systemd-analyze is not installed";
  const std::vector<std::string> directories = {"/etc/systemd/system", "/run/systemd/system",
                                                "/usr/local/lib/systemd/system", "/lib/systemd/system",
                                                "/usr/lib/systemd/system"};
  const std::vector<std::pair<std::string, std::vector<std::string>>> units = {
      {"a-b-c.service", {"a-b-c.service.d", "a-b-.service.d", "a-.service.d", "service.d"}},
      {"a-b@x.service",
       {"a-b@x.service.d", "a-b@.service.d", "a-@x.service.d", "a-@.service.d", "a-.service.d", "service.d"}},
      {"plain.service", {"plain.service.d", "service.d"}}};
  std::mt19937 random(2521);
  int compared = 0;
  for (int round = 0; round < 60; ++round) {
    fs::remove_all(dir_.path());
    fs::create_directories(dir_.path());
    const auto& [unit, dropin_directories] = units[random() % units.size()];
    int key = 0;
    auto file_text = [&](bool fragment) {
      return std::string("[Service]\n") + (fragment ? "ExecStart=/bin/true\n" : "") + "Zk" + std::to_string(key++) +
             "=1\n";
    };
    // The unit file (an instance's template sometimes), once or twice in the path.
    std::string fragment = unit.find('@') != std::string::npos && random() % 2 ? "a-b@.service" : unit;
    for (int copies = 1 + random() % 2; copies > 0; --copies)
      write(directories[random() % directories.size()] + "/" + fragment, file_text(true));
    // Some drop-ins are empty: they hide the same name later and set nothing.
    for (int i = 0; i < 6; ++i) {
      write(directories[random() % directories.size()] + "/" +
                dropin_directories[random() % dropin_directories.size()] + "/" +
                std::to_string(10 * (1 + random() % 4)) + ".conf",
            random() % 5 == 0 ? "" : file_text(false));
    }
    auto files = find_unit_files(dir_.path(), unit);
    std::vector<std::string> ours = {files.fragment->string()};
    for (const auto& dropin : files.dropins)
      if (fs::file_size(dir_.path() / dropin.relative_path()) > 0) ours.push_back(dropin.string());
    EXPECT_EQ(ours, files_loaded_by_systemd(dir_.path(), unit)) << "round " << round << ", " << unit;
    ++compared;
  }
  EXPECT_EQ(compared, 60);
}

// What `systemd-analyze security --offline=true --root` says of each of
// `keys` for `unit`: its line ("✓ NoNewPrivileges=  Service processes …").
std::map<std::string, std::string> security_by_systemd(const fs::path& root, const std::string& unit,
                                                       const std::vector<std::string>& keys) {
  std::string command =
      "systemd-analyze security --offline=true --root='" + root.string() + "' " + unit + " 2>/dev/null";
  std::map<std::string, std::string> lines;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return lines;
  char line[4096];
  while (std::fgets(line, sizeof(line), pipe) != nullptr) {
    std::string text(line);
    for (const auto& key : keys)
      if (text.find(" " + key.substr(key.find('.') + 1) + "= ") != std::string::npos) lines[key] = text;
  }
  ::pclose(pipe);
  return lines;
}

// The value a line of systemd-analyze security stands for.
std::string security_value(const std::string& key, const std::string& line) {
  if (key == "Service.ProtectSystem") {
    for (const auto& [text, value] : std::vector<std::pair<std::string, std::string>>{
             {"full access", "no"}, {"very limited write", "full"}, {"limited write", "yes"}, {"strict", "strict"}})
      if (line.find(text) != std::string::npos) return value;
  }
  if (key == "Service.ProtectHome") {
    for (const auto& [text, value] : std::vector<std::pair<std::string, std::string>>{
             {"full access", "no"}, {"no access", "yes"}, {"read-only", "read-only"}, {"fake empty", "tmpfs"}})
      if (line.find(text) != std::string::npos) return value;
  }
  return line.starts_with("\u2713 ") ? "yes" : "no";
}

// Boolean service settings in every spelling, and ProtectSystem= and
// ProtectHome= with their words, set in the unit file and drop-ins of
// several directories: the value the reader merges is the one
// systemd-analyze security --offline evaluates (a boolean's yes is its ✓;
// no or not set its ✗), or the reader refuses a value systemd ignores.
TEST_F(SystemdUnits, BooleansAgreeWithSystemdAnalyzeSecurity) {
  if (std::system("systemd-analyze --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "systemd-analyze is not installed";
  const std::vector<std::string> keys = {"Service.NoNewPrivileges",
                                         "Service.PrivateTmp",
                                         "Service.PrivateDevices",
                                         "Service.PrivateNetwork",
                                         "Service.ProtectKernelTunables",
                                         "Service.ProtectKernelModules",
                                         "Service.ProtectControlGroups",
                                         "Service.ProtectSystem",
                                         "Service.ProtectHome"};
  const std::vector<std::string> values = {"yes", "no",  "true",  "false",     "1",     "0",      "on",
                                           "off", "YES", "maybe", "read-only", "tmpfs", "strict", "full"};
  const std::vector<std::string> files = {"/lib/systemd/system/sec.service", "/etc/systemd/system/sec.service.d/b.conf",
                                          "/usr/lib/systemd/system/sec.service.d/a.conf",
                                          "/usr/lib/systemd/system/service.d/c.conf"};
  std::mt19937 random(2522);
  int compared = 0, refused = 0, words = 0;
  for (int round = 0; round < 60; ++round) {
    fs::remove_all(dir_.path());
    fs::create_directories(dir_.path());
    for (size_t f = 0; f < files.size(); ++f) {
      std::string text = f == 0 ? "[Service]\nExecStart=/bin/true\n" : "[Service]\n";
      for (const auto& key : keys)
        if (random() % 3 == 0) text += key.substr(8) + "=" + values[random() % values.size()] + "\n";
      write(files[f], text);
    }
    auto systemd = security_by_systemd(dir_.path(), "sec.service", keys);
    auto unit = find_unit_files(dir_.path(), "sec.service");
    for (const auto& key : keys) {
      std::optional<ConfigValue> value;
      try {
        value = systemd_unit_value(dir_.path(), unit, key);
      } catch (const std::runtime_error& problem) {
        std::string why = problem.what();
        EXPECT_TRUE(why.find("not a boolean") != std::string::npos ||
                    why.find("not a value systemd takes") != std::string::npos)
            << why;
        ++refused;
        continue;
      }
      ASSERT_TRUE(systemd.count(key)) << key << " not in systemd-analyze security's output";
      EXPECT_EQ(value ? value->value : "no", security_value(key, systemd[key])) << key << " round " << round;
      ++compared;
      if (key == "Service.ProtectSystem" || key == "Service.ProtectHome") ++words;
    }
  }
  std::cout << "systemd-analyze security: " << compared << " values alike (" << words
            << " of ProtectSystem and ProtectHome), " << refused << " refused\n";
  EXPECT_GE(compared, 200);
  EXPECT_GE(words, 30);
}

}  // namespace
}  // namespace vigil::policy
