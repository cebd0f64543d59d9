// A scan that fails because the disk is full says "disk full", whether the
// store refused the plugin's own state (state_set, as FIM keeps its hashes)
// or the scan's rows (as inventory's). The state store's directory is a small
// tmpfs, filled before the scans: the test runs itself again in a user and
// mount namespace of its own (unshare -Urm), where it may mount one without
// root; it skips, saying why, where user namespaces are not allowed.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "daemon_fixture.h"

namespace vigil {
namespace {

using nlohmann::json;
using test::vigilctl;

// A tmpfs on `dir` for the life of the object.
struct SmallTmpfs {
  explicit SmallTmpfs(const std::filesystem::path& where) : dir(where) {
    std::filesystem::create_directories(dir);
    mounted = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=32m") == 0;
    error = mounted ? "" : std::strerror(errno);
  }
  ~SmallTmpfs() {
    if (mounted) ::umount2(dir.c_str(), MNT_DETACH);
  }
  // Takes all of its free space but `left` bytes.
  bool fill(int64_t left) const {
    struct statvfs space {};
    if (::statvfs(dir.c_str(), &space) != 0) return false;
    int64_t free = static_cast<int64_t>(space.f_bavail) * static_cast<int64_t>(space.f_frsize);
    int fd = ::open((dir / "filler").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    bool filled = fd >= 0 && ::posix_fallocate(fd, 0, free - left) == 0;
    if (fd >= 0) ::close(fd);
    return filled;
  }
  std::filesystem::path dir;
  bool mounted = false;
  std::string error;
};

TEST(DiskFull, ScansThatFailOnAFullDisk_SayDiskFull) {
  if (!test::in_rerun()) {
    auto child = test::rerun_test({"/usr/bin/unshare", "-Urm"}, "DiskFull.ScansThatFailOnAFullDisk_SayDiskFull");
    if (!test::rerun_ran(child))
      GTEST_SKIP() << "cannot make a user and mount namespace here (unshare -Urm): " << child.err;
    EXPECT_EQ(child.exit_code, 0) << child.out << child.err;
    return;
  }
  test::TempDir dir;
  test::install_plugins(dir.path(), {test::plugin("test_scanner")});
  SmallTmpfs data(dir.path() / "var/lib/vigil");
  ASSERT_TRUE(data.mounted) << "mount tmpfs: " << data.error;
  test::Daemon daemon(dir.path());
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  // 256 KiB left: enough for a manifest and a scan's start, not for 4 MiB of state or rows.
  ASSERT_TRUE(data.fill(256 << 10));

  // The plugin's state: it learns only VIGIL_E_IO ("host refused state_set"); the host adds the cause.
  auto manifest = dir.path() / "state.manifest";
  std::ofstream(manifest) << "state big x 4194304\n";
  auto stored = vigilctl(dir.path(), {"manifest", "set", "--module", "testscan", "--file", manifest.string()});
  ASSERT_EQ(stored.exit_code, 0) << stored.err;
  auto scanned = vigilctl(dir.path(), {"demand", "--type", "testscan", "--wait"});
  EXPECT_EQ(scanned.exit_code, 1);
  EXPECT_NE(scanned.err.find("host refused state_set: state store: disk full: "), std::string::npos) << scanned.err;
  json status = json::parse(vigilctl(dir.path(), {"status", "--json"}).out, nullptr, false);
  ASSERT_TRUE(status.is_object());
  EXPECT_NE(status["scans"]["testscan"].value("last_error", "").find("disk full"), std::string::npos) << status.dump();
  EXPECT_NE(
      vigilctl(dir.path(), {"status"}).out.find("last scan failed: host refused state_set: state store: disk full"),
      std::string::npos);

  // The scan's rows.
  std::ofstream(manifest) << "rows t 4096 1024\n";
  stored = vigilctl(dir.path(), {"manifest", "set", "--module", "testscan", "--file", manifest.string()});
  ASSERT_EQ(stored.exit_code, 0) << stored.err;
  scanned = vigilctl(dir.path(), {"demand", "--type", "testscan", "--wait"});
  EXPECT_EQ(scanned.exit_code, 1);
  EXPECT_NE(scanned.err.find("emit_row: state store: disk full: "), std::string::npos) << scanned.err;

  // Space again: the next scan works; the agent never stopped.
  std::filesystem::remove(data.dir / "filler");
  scanned = vigilctl(dir.path(), {"demand", "--type", "testscan", "--wait"});
  EXPECT_EQ(scanned.exit_code, 0) << scanned.err;
}

}  // namespace
}  // namespace vigil
