// The fstab reader and the mount check's `configured` form against files
// built under a temp root: fields, escapes, comments, defaults of the last
// fields, errors with file:line; the configured mount from fstab or a .mount
// unit in systemd's order, and options as mount(8) applies them.
#include <gtest/gtest.h>

#include <cstdio>
#include <iostream>
#include <random>

#include "policy_under_root.h"
#include "vigil/policy/fstab.h"
#include "vigil/policy/policy.h"

namespace vigil::policy {
namespace {

namespace fs = std::filesystem;

class FstabCheck : public test_util::PolicyUnderRoot {
 protected:
  std::string read_error(const std::string& text) {
    write("/etc/fstab", text);
    try {
      read_fstab(dir_.path(), "/etc/fstab");
    } catch (const std::runtime_error& problem) {
      return problem.what();
    }
    return "no error";
  }
  void link(const std::string& path, const std::string& target) {
    fs::path at = dir_.path() / fs::path(path).relative_path();
    fs::create_directories(at.parent_path());
    fs::create_symlink(target, at);
  }
};

// Debian 12's installer writes this.
const char* const kDebianFstab =
    "# /etc/fstab: static file system information.\n"
    "#\n"
    "# <file system> <mount point>   <type>  <options>       <dump>  <pass>\n"
    "UUID=0a3407de-014b-458b-b5c1-848e92a327a3 /               ext4    errors=remount-ro 0       1\n"
    "# /home was on /dev/sda6 during installation\n"
    "UUID=5e4f2b1c-2a6b-4b5e-9d55-2b5a2f2d1f10 /home           ext4    defaults,nodev,nosuid        0       2\n"
    "\n"
    "LABEL=scratch\t/srv/my\\040data\txfs\n"
    "PARTUUID=1234-02 none swap sw 0 0\n"
    "  tmpfs /dev/shm tmpfs defaults,nodev,nosuid,noexec 0\n";

TEST_F(FstabCheck, ReadsFieldsAsLibmountDoes) {
  write("/etc/fstab", kDebianFstab);
  auto entries = read_fstab(dir_.path(), "/etc/fstab");
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries[0].source, "UUID=0a3407de-014b-458b-b5c1-848e92a327a3");
  EXPECT_EQ(entries[0].target, "/");
  EXPECT_EQ(entries[0].options, "errors=remount-ro");
  EXPECT_EQ(entries[0].passno, 1);
  EXPECT_EQ(entries[0].origin, "/etc/fstab:4");
  EXPECT_EQ(entries[1].freq, 0);
  EXPECT_EQ(entries[1].passno, 2);
  // \040 is a blank; missing options, dump and pass.
  EXPECT_EQ(entries[2].source, "LABEL=scratch");
  EXPECT_EQ(entries[2].target, "/srv/my data");
  EXPECT_EQ(entries[2].options, "");
  EXPECT_EQ(entries[2].freq, 0);
  EXPECT_EQ(entries[2].passno, 0);
  EXPECT_EQ(entries[2].origin, "/etc/fstab:8");
  EXPECT_EQ(entries[3].target, "none");
  EXPECT_EQ(entries[4].target, "/dev/shm");
  EXPECT_EQ(entries[4].passno, 0);
  // A backslash without three octal digits stays.
  write("/etc/fstab", "//srv/share /mnt/a\\b cifs ro\n");
  EXPECT_EQ(read_fstab(dir_.path(), "/etc/fstab")[0].target, "/mnt/a\\b");
  // No fstab: no entries.
  fs::remove(dir_.path() / "etc/fstab");
  EXPECT_TRUE(read_fstab(dir_.path(), "/etc/fstab").empty());
}

TEST_F(FstabCheck, MalformedLinesNameFileAndLine) {
  EXPECT_EQ(read_error("# c\n/dev/sda1 /\n"), "/etc/fstab:2: fewer than three fields: /dev/sda1 /");
  EXPECT_EQ(read_error("/dev/sda1 / ext4 defaults 0 1 extra\n"),
            "/etc/fstab:1: more than six fields: /dev/sda1 / ext4 defaults 0 1 extra");
  EXPECT_EQ(read_error("/dev/sda1 / ext4 defaults x 1\n"), "/etc/fstab:1: field 5 is not a number: x");
  EXPECT_EQ(read_error("\n/dev/sda1 / ext4 defaults 0 #root\n"), "/etc/fstab:2: field 6 is not a number: #root");
  EXPECT_EQ(read_error("/dev/sda1 /a\\777 ext4\n"), "/etc/fstab:1: the escape \\777 is not a byte");
  EXPECT_EQ(read_error(std::string("/dev/sda1 / ext4\0\n", 17)), "/etc/fstab:1: a NUL byte is not understood");
  // The check errs with it.
  write("/etc/fstab", "/dev/sda1\n");
  EXPECT_NE(error_of("mount: {path: /tmp, configured: true}").find("/etc/fstab:1: fewer than three fields"),
            std::string::npos);
}

TEST_F(FstabCheck, ConfiguredFromFstab) {
  write("/etc/fstab", kDebianFstab);
  EXPECT_EQ(outcome("mount: {path: /home, configured: true, options: [nodev, nosuid]}"),
            "pass: /etc/fstab:6: UUID=5e4f2b1c-2a6b-4b5e-9d55-2b5a2f2d1f10 /home ext4 defaults,nodev,nosuid");
  EXPECT_EQ(outcome("mount: {path: /home, configured: true, options: [noexec]}"),
            "fail: /etc/fstab:6: UUID=5e4f2b1c-2a6b-4b5e-9d55-2b5a2f2d1f10 /home ext4 defaults,nodev,nosuid, "
            "noexec is not in effect");
  EXPECT_EQ(outcome("mount: {path: /dev/shm/, configured: true, options: [nodev, nosuid, noexec]}"),
            "pass: /etc/fstab:10: tmpfs /dev/shm tmpfs defaults,nodev,nosuid,noexec");
  EXPECT_EQ(outcome("mount: {path: /srv/my data, configured: true}"),
            "pass: /etc/fstab:8: LABEL=scratch /srv/my data xfs (no options)");
  EXPECT_EQ(outcome("mount: {path: /tmp, configured: true}"),
            "fail: /tmp has no entry in /etc/fstab and there is no tmp.mount");
  EXPECT_EQ(outcome("mount: {path: /tmp, configured: false}"),
            "pass: /tmp has no entry in /etc/fstab and there is no tmp.mount");
  EXPECT_EQ(outcome("mount: {path: /home, configured: false}").substr(0, 25), "fail: /etc/fstab:6: UUID=");
  // /dev/shm: systemd mounts it itself unless fstab says otherwise.
  write("/etc/fstab", "");
  EXPECT_EQ(outcome("mount: {path: /dev/shm, configured: true, options: [nodev, nosuid]}"),
            "pass: systemd mounts /dev/shm itself (tmpfs mode=1777,nosuid,nodev,strictatime; no entry in /etc/fstab)");
  EXPECT_EQ(outcome("mount: {path: /dev/shm, configured: true, options: [noexec]}").substr(0, 5), "fail:");
  // noauto: not mounted at boot.
  write("/etc/fstab", "/dev/sdb1 /var ext4 noauto,nodev 0 2\n");
  EXPECT_EQ(outcome("mount: {path: /var, configured: true}"),
            "fail: /etc/fstab:1: /dev/sdb1 /var ext4 noauto,nodev, noauto: not mounted at boot");
  // Twice: which one systemd uses is not modelled.
  write("/etc/fstab", "/dev/sdb1 /var ext4 nodev\n/dev/sdc1 /var/ ext4 defaults\n");
  EXPECT_EQ(error_of("mount: {path: /var, configured: true}"),
            "mount (line 7): /var is in /etc/fstab twice (/etc/fstab:1, /etc/fstab:2)");
}

TEST_F(FstabCheck, OptionsAsMountAppliesThem) {
  EXPECT_TRUE(mount_option_in_effect("nodev", "nodev", "x"));
  EXPECT_FALSE(mount_option_in_effect("nodev,dev", "nodev", "x"));
  EXPECT_TRUE(mount_option_in_effect("dev,nodev", "nodev", "x"));
  EXPECT_FALSE(mount_option_in_effect("nodev,defaults", "nodev", "x"));
  EXPECT_TRUE(mount_option_in_effect("defaults,noexec", "noexec", "x"));
  EXPECT_TRUE(mount_option_in_effect("", "rw", "x"));
  EXPECT_FALSE(mount_option_in_effect("ro", "rw", "x"));
  EXPECT_TRUE(mount_option_in_effect("size=2G,nr_inodes=1m", "size=2G", "x"));
  EXPECT_FALSE(mount_option_in_effect("size=2G", "size=1G", "x"));
  EXPECT_THROW(mount_option_in_effect("user,exec", "nodev", "x"), std::runtime_error);
  EXPECT_TRUE(mount_option_in_effect("user,ro", "ro", "x"));
  EXPECT_THROW(mount_option_in_effect("context=\"a,b\"", "nodev", "x"), std::runtime_error);
  write("/etc/fstab", "tmpfs /tmp tmpfs nodev,nosuid,noexec,dev 0 0\n");
  EXPECT_EQ(outcome("mount: {path: /tmp, configured: true, options: [nodev]}"),
            "fail: /etc/fstab:1: tmpfs /tmp tmpfs nodev,nosuid,noexec,dev, nodev is not in effect");
}

// Debian's /usr/share/systemd/tmp.mount, copied into /etc/systemd/system.
const char* const kTmpMount =
    "[Unit]\nDescription=Temporary Directory /tmp\nConditionPathIsSymbolicLink=!/tmp\nDefaultDependencies=no\n"
    "Conflicts=umount.target\nBefore=local-fs.target umount.target\nAfter=swap.target\n\n"
    "[Mount]\nWhat=tmpfs\nWhere=/tmp\nType=tmpfs\nOptions=mode=1777,strictatime,nosuid,nodev,size=50%%,nr_inodes=1m\n"
    "\n[Install]\nWantedBy=local-fs.target\n";

TEST_F(FstabCheck, ConfiguredByMountUnit) {
  write("/etc/systemd/system/tmp.mount", kTmpMount);
  EXPECT_EQ(outcome("mount: {path: /tmp, configured: true}"),
            "fail: /tmp has no entry in /etc/fstab and tmp.mount (/etc/systemd/system/tmp.mount) is not enabled");
  link("/etc/systemd/system/local-fs.target.wants/tmp.mount", "/etc/systemd/system/tmp.mount");
  EXPECT_EQ(outcome("mount: {path: /tmp, configured: true, options: [nodev, nosuid, size=50%]}"),
            "pass: tmp.mount (/etc/systemd/system/tmp.mount) Options=mode=1777,strictatime,nosuid,nodev,size=50%,"
            "nr_inodes=1m (/etc/systemd/system/tmp.mount:13)");
  EXPECT_EQ(outcome("mount: {path: /tmp, configured: true, options: [noexec]}").substr(0, 5), "fail:");
  // A drop-in adds noexec.
  write("/etc/systemd/system/tmp.mount.d/50-noexec.conf",
        "[Mount]\nOptions=mode=1777,strictatime,nosuid,nodev,noexec\n");
  EXPECT_EQ(outcome("mount: {path: /tmp, configured: true, options: [noexec]}"),
            "pass: tmp.mount (/etc/systemd/system/tmp.mount) Options=mode=1777,strictatime,nosuid,nodev,noexec "
            "(/etc/systemd/system/tmp.mount.d/50-noexec.conf:2)");
  // A unit in /etc wins over fstab; fstab wins over one in /usr/lib.
  write("/etc/fstab", "tmpfs /tmp tmpfs defaults 0 0\n");
  EXPECT_EQ(outcome("mount: {path: /tmp, configured: true, options: [noexec]}").substr(0, 5), "pass:");
  fs::remove_all(dir_.path() / "etc/systemd");
  write("/usr/lib/systemd/system/tmp.mount", kTmpMount);
  link("/etc/systemd/system/local-fs.target.wants/tmp.mount", "/usr/lib/systemd/system/tmp.mount");
  EXPECT_EQ(outcome("mount: {path: /tmp, configured: true, options: [nodev]}"),
            "fail: /etc/fstab:1: tmpfs /tmp tmpfs defaults, nodev is not in effect");
  // Drop-ins on the unit fstab makes: not modelled.
  write("/etc/systemd/system/tmp.mount.d/x.conf", "[Mount]\nOptions=nodev\n");
  EXPECT_NE(error_of("mount: {path: /tmp, configured: true}").find("drop-ins for the unit of an fstab entry"),
            std::string::npos);
  // Masked in /etc: nothing is mounted, whatever fstab says.
  fs::remove_all(dir_.path() / "etc/systemd");
  link("/etc/systemd/system/tmp.mount", "/dev/null");
  EXPECT_EQ(outcome("mount: {path: /tmp, configured: true}"),
            "fail: /tmp has no entry in /etc/fstab and tmp.mount (/etc/systemd/system/tmp.mount) is masked");
}

TEST_F(FstabCheck, MountUnitErrors) {
  write("/etc/systemd/system/var-tmp.mount", "[Mount]\nWhat=/dev/sdb2\nWhere=/var/tmpx\n");
  link("/etc/systemd/system/local-fs.target.wants/var-tmp.mount", "../var-tmp.mount");
  EXPECT_EQ(error_of("mount: {path: /var/tmp, configured: true}"),
            "mount (line 7): /etc/systemd/system/var-tmp.mount:3: Where=/var/tmpx is not /var/tmp: systemd refuses "
            "the unit");
  write("/etc/systemd/system/var-tmp.mount", "[Mount]\nWhere=/var/tmp\n");
  EXPECT_EQ(error_of("mount: {path: /var/tmp, configured: true}"),
            "mount (line 7): var-tmp.mount (/etc/systemd/system/var-tmp.mount) has no What=: systemd refuses the unit");
  write("/etc/systemd/system/var-tmp.mount", "[Mount]\nWhat=/dev/sdb2\nOptions=nodev,%i\n");
  EXPECT_NE(error_of("mount: {path: /var/tmp, configured: true}").find("the specifier %i is not expanded"),
            std::string::npos);
}

TEST_F(FstabCheck, PolicyFields) {
  EXPECT_THROW(parse_policies("policy: p\nversion: '1'\ncontrols:\n  - id: c\n    title: t\n    check:\n      mount: "
                              "{path: /tmp, configured: true, "
                              "mounted: true}\n",
                              "t.yaml"),
               PolicyError);
  EXPECT_THROW(parse_policies("policy: p\nversion: '1'\ncontrols:\n  - id: c\n    title: t\n    check:\n      mount: "
                              "{path: /tmp, configured: "
                              "false, options: [nodev]}\n",
                              "t.yaml"),
               PolicyError);
  // Without configured, mount reads /proc/mounts as before.
  write("/proc/mounts", "tmpfs /tmp tmpfs rw,nosuid,nodev 0 0\n");
  EXPECT_EQ(outcome("mount: {path: /tmp, options: [nodev]}"), "pass: /tmp (tmpfs) rw,nosuid,nodev");
}

// What `findmnt -F FILE -P` (libmount 2.38 itself) reads from an fstab file:
// its entries as "source|target|type|options|freq|passno", or "parse error".
std::vector<std::string> read_by_findmnt(const fs::path& file) {
  std::string command = "findmnt -F '" + file.string() + "' -o SOURCE,TARGET,FSTYPE,OPTIONS,FREQ,PASSNO -P 2>&1";
  std::vector<std::string> entries;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return entries;
  char line[4096];
  while (std::fgets(line, sizeof(line), pipe) != nullptr) {
    std::string text(line);
    if (text.find("parse error") != std::string::npos) {
      entries.push_back("parse error");
      continue;
    }
    // NAME="value" pairs; findmnt writes unprintable bytes and backslashes as \xNN.
    std::string entry;
    for (size_t at = text.find("=\""); at != std::string::npos; at = text.find("=\"", at)) {
      size_t end = text.find("\" ", at + 2);
      if (end == std::string::npos) end = text.rfind('"');
      std::string value = text.substr(at + 2, end - at - 2);
      std::string decoded;
      for (size_t i = 0; i < value.size(); ++i) {
        if (value.compare(i, 2, "\\x") == 0 && i + 3 < value.size()) {
          decoded += static_cast<char>(std::stoi(value.substr(i + 2, 2), nullptr, 16));
          i += 3;
        } else {
          decoded += value[i];
        }
      }
      entry += (entry.empty() ? "" : "|") + decoded;
      at = end;
    }
    entries.push_back(entry);
  }
  ::pclose(pipe);
  return entries;
}

// Random fstab lines (escapes, tabs, fields left out or not numbers, a
// seventh field, comments): each read by the reader as findmnt -F reads it,
// or refused where libmount refuses it; the reader may also refuse a line
// libmount reads in a way it does not model (more than six fields).
TEST_F(FstabCheck, LinesAgreeWithFindmnt) {
  if (std::system("findmnt --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "findmnt is not installed";
  const std::vector<std::string> sources = {"UUID=0a34-9f",   "LABEL=my\\040disk", "/dev/sda1", "tmpfs",
                                            "PARTUUID=12-01", "//srv/share",       "#hidden"};
  const std::vector<std::string> targets = {"/", "/tmp", "/srv/a\\040b", "/x\\011y", "/var/log/", "none", "/a\\b"};
  const std::vector<std::string> types = {"ext4", "tmpfs", "swap", "xfs"};
  const std::vector<std::string> options = {"defaults", "nodev,nosuid", "rw,relatime", "a\\054b", "x\\134y"};
  const std::vector<std::string> numbers = {"0", "1", "2", "-1", "x", "0x1"};
  const std::vector<std::string> blanks = {" ", "\t", "  \t "};
  std::mt19937 random(238);
  int agreed = 0, refused = 0;
  for (int round = 0; round < 200; ++round) {
    auto blank = [&] { return blanks[random() % blanks.size()]; };
    std::string line = random() % 4 == 0 ? blank() : "";
    line += sources[random() % sources.size()] + blank() + targets[random() % targets.size()];
    size_t fields = 2 + random() % 6;  // 2 to 7
    if (fields >= 3) line += blank() + types[random() % types.size()];
    if (fields >= 4) line += blank() + options[random() % options.size()];
    for (size_t i = 5; i <= fields; ++i) line += blank() + numbers[random() % numbers.size()];
    if (random() % 4 == 0) line += blank();
    std::string text = (random() % 3 == 0 ? "# a comment\n\n" : "") + line + "\n";
    write("/etc/fstab", text);
    auto theirs = read_by_findmnt(dir_.path() / "etc/fstab");
    try {
      std::vector<std::string> ours;
      for (const auto& entry : read_fstab(dir_.path(), "/etc/fstab"))
        ours.push_back(entry.source + "|" + entry.target + "|" + entry.type + "|" + entry.options + "|" +
                       std::to_string(entry.freq) + "|" + std::to_string(entry.passno));
      EXPECT_EQ(ours, theirs) << text;
      ++agreed;
    } catch (const std::runtime_error& problem) {
      std::string why = problem.what();
      bool libmount_refuses = theirs == std::vector<std::string>{"parse error"};
      EXPECT_TRUE(libmount_refuses || why.find("more than six fields") != std::string::npos)
          << text << " -> " << why << " but findmnt reads it";
      ++refused;
    }
  }
  std::cout << "findmnt: " << agreed << " lines read alike, " << refused << " refused\n";
  EXPECT_GE(agreed, 60);
}

}  // namespace
}  // namespace vigil::policy
