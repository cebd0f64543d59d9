// The sysctl reader against procps itself: seeded random sysctl.d trees
// (every directory sysctl --system reads, names hiding names, /etc/sysctl.conf,
// "-" lines, keys with slashes, comments) are read by the reader and by
// `sysctl --dry-run --system` in a mount namespace of its own, where the
// trees are mounted over the real directories; the last value procps would
// write for each key must be the reader's. dry-run names only keys this
// kernel has, so the keys are chosen among those. Debian 12's procps (4.0.2)
// loads the files as soon as it reads --system: with --dry-run after it, it
// WRITES them to the kernel. The test reads the keys before and after and
// fails (putting the values back) if any changed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>

#include "test_support.h"
#include "vigil/policy/config_formats.h"

namespace vigil::policy {
namespace {

namespace fs = std::filesystem;

// Directories sysctl --system reads, as they are on the tree (Debian 12 merges /lib into /usr/lib).
const char* const kDirectories[] = {"etc/sysctl.d", "run/sysctl.d", "usr/local/lib/sysctl.d", "usr/lib/sysctl.d"};

fs::path proc_file(std::string key) {
  std::replace(key.begin(), key.end(), '.', '/');
  return fs::path("/proc/sys") / key;
}

std::string kernel_value(const std::string& key) {
  std::ifstream in(proc_file(key));
  std::string value;
  std::getline(in, value);
  return value;
}

std::vector<std::string> present_keys() {
  std::vector<std::string> keys;
  for (const char* key : {"vm.swappiness", "fs.protected_fifos", "kernel.randomize_va_space", "net.ipv4.ip_forward",
                          "net.ipv4.tcp_syncookies", "fs.suid_dumpable", "kernel.sysrq", "vm.overcommit_memory"}) {
    if (fs::exists(proc_file(key))) keys.push_back(key);
  }
  return keys;
}

// One random line of a sysctl file.
std::string random_line(std::mt19937& random, const std::vector<std::string>& keys) {
  std::string key = keys[random() % keys.size()];
  if (random() % 4 == 0) std::replace(key.begin(), key.end(), '.', '/');
  std::string value = std::to_string(random() % 5);
  switch (random() % 8) {
    case 0: return "# " + key + " = 9";
    case 1: return "; " + key + " = 9";
    case 2: return "";
    case 3: return "-" + key + " = " + value;
    case 4: return key + "=" + value;
    default: return "  " + key + "\t=  " + value + "  ";
  }
}

void write_file(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

// `sysctl --dry-run --system` with the tree mounted over the real directories: key -> the last value.
std::optional<std::map<std::string, std::string>> procps_reads(const fs::path& tree, std::string& why,
                                                               std::string& output) {
  std::string script = "set -e; mount --make-rprivate /; t=" + tree.string() +
                       "; mount --bind $t/etc/sysctl.d /etc/sysctl.d; mount --bind $t/usr/lib/sysctl.d "
                       "/usr/lib/sysctl.d; mount -t tmpfs none /run; mkdir /run/sysctl.d; mount --bind "
                       "$t/run/sysctl.d /run/sysctl.d; mkdir -p /usr/local/lib; mount -t tmpfs none /usr/local/lib; "
                       "mkdir /usr/local/lib/sysctl.d; mount --bind $t/usr/local/lib/sysctl.d /usr/local/lib/sysctl.d; "
                       "mount --bind $t/etc/sysctl.conf /etc/sysctl.conf; exec sysctl --dry-run --system";
  auto ran = test::run({"/usr/bin/unshare", ::geteuid() == 0 ? "-m" : "-rm", "/bin/sh", "-c", script});
  if (ran.out.find("* Applying") == std::string::npos) {
    why = "sysctl --dry-run --system did not run in a mount namespace: " + ran.err;
    return std::nullopt;
  }
  output = ran.out;
  std::map<std::string, std::string> values;
  std::istringstream lines(ran.out);
  for (std::string line; std::getline(lines, line);) {
    size_t equals = line.find(" = ");
    if (line.starts_with("* ") || equals == std::string::npos) continue;
    values[line.substr(0, equals)] = line.substr(equals + 3);
  }
  return values;
}

// Every file of the tree with its text, for a failure's message.
std::string files_of(const fs::path& tree) {
  std::string all;
  for (const auto& entry : fs::recursive_directory_iterator(tree)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    all += "== " + entry.path().string().substr(tree.string().size()) + "\n" + text.str();
  }
  return all;
}

TEST(SysctlOracle, TheLastValueIsTheOneProcpsWrites) {
  if (!fs::exists("/usr/sbin/sysctl") || !fs::exists("/usr/bin/unshare"))
    GTEST_SKIP() << "needs procps' sysctl and util-linux's unshare";
  if (!fs::is_symlink("/lib") || !fs::exists("/etc/sysctl.conf") || !fs::is_directory("/etc/sysctl.d") ||
      !fs::is_directory("/usr/lib/sysctl.d"))
    GTEST_SKIP() << "needs a merged /usr with /etc/sysctl.conf, /etc/sysctl.d and /usr/lib/sysctl.d to mount over";
  auto keys = present_keys();
  ASSERT_FALSE(keys.empty());
  std::map<std::string, std::string> before;
  for (const auto& key : keys) before[key] = kernel_value(key);
  const char* const names[] = {"10-a.conf", "50-b.conf", "99-c.conf", "x.conf", "b.conf~", "notes"};
  int compared = 0;
  for (unsigned seed = 0; seed < 60; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 random(seed);
    test::TempDir tree;
    for (const char* directory : kDirectories) {
      fs::create_directories(tree.path() / directory);
      for (const char* name : names) {
        if (random() % 3 != 0) continue;
        std::string text;
        for (unsigned line = 0, lines = random() % 5; line < lines; ++line) text += random_line(random, keys) + "\n";
        write_file(tree.path() / directory / name, text);
      }
    }
    std::string conf;
    for (unsigned line = 0, lines = random() % 3; line < lines; ++line) conf += random_line(random, keys) + "\n";
    write_file(tree.path() / "etc/sysctl.conf", conf);
    fs::create_directory_symlink("usr/lib", tree.path() / "lib");

    std::string why, output;
    auto expected = procps_reads(tree.path(), why, output);
    if (!expected) GTEST_SKIP() << why;
    std::map<std::string, std::string> read;
    for (const auto& [key, value] : sysctl_settings(tree.path())) read[key] = value.value;
    EXPECT_EQ(read, *expected) << files_of(tree.path()) << "== sysctl --dry-run --system\n" << output;
    compared += static_cast<int>(expected->size());
  }
  for (const auto& [key, value] : before) {
    if (kernel_value(key) == value) continue;
    ADD_FAILURE() << "sysctl wrote " << key << " = " << kernel_value(key) << "; put back to " << value;
    std::ofstream(proc_file(key)) << value << "\n";
  }
  std::cout << "sysctl: 60 trees, " << compared << " keys compared with sysctl --dry-run --system\n";
}

}  // namespace
}  // namespace vigil::policy
