// FIM real time on real files under a temp dir, through both kernel sources
// (inotify always; fanotify when this process may use it, else skipped with
// the reason): each event kind, the tools people use (sed -i, atomic saves,
// git checkout, rsync, tar -x) giving one event per file, renames in, out
// and inside the tree, excludes, symlinks, hard links, queue overflow and
// a 100,000-file tree.
#include <gtest/gtest.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "baseline.h"
#include "hash_cache.h"
#include "monitor.h"
#include "test_support.h"

namespace vigil::fim {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class FimRealtime : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "fanotify") {
      std::string why;
      if (!make_fanotify_watcher(dir_.path(), why)) GTEST_SKIP() << "fanotify cannot run here: " << why;
    }
  }
  void TearDown() override { monitor_.reset(); }

  fs::path real(const std::string& path) const { return dir_.path() / fs::path(path).relative_path(); }
  void write(const std::string& path, const std::string& text) {
    fs::create_directories(real(path).parent_path());
    std::ofstream(real(path), std::ios::binary) << text;
  }
  // Runs a shell command in the temp root (paths in it are relative to the root).
  void shell(const std::string& command) {
    auto result = test::run({"/bin/sh", "-c", "cd '" + dir_.path().string() + "' && " + command});
    ASSERT_EQ(result.exit_code, 0) << command << ": " << result.err;
  }

  void start(const std::string& yaml, MonitorOptions options = {}) {
    manifest_ = std::make_shared<Manifest>(parse_manifest(yaml));
    auto records = collect(*manifest_, dir_.path());
    hash_files(records, dir_.path(), manifest_->algorithm, 1, nullptr);
    if (after_the_walk_) after_the_walk_();
    options.fanotify = GetParam() == "fanotify";
    monitor_ = std::make_unique<Monitor>(
        manifest_, dir_.path(), std::move(records),
        [this](const Event& event) {
          if (gate_closed_) {
            sink_blocked_ = true;
            while (gate_closed_) std::this_thread::sleep_for(1ms);
          }
          std::lock_guard lock(mutex_);
          events_.push_back(event);
          changed_.notify_all();
        },
        options);
    monitor_->start();
    ASSERT_EQ(monitor_->stats().source, GetParam());
    // The tests' changes come after the start check, as they would after a scan.
    for (int waited = 0; !monitor_->checked() && waited < 10000; ++waited) std::this_thread::sleep_for(1ms);
    ASSERT_TRUE(monitor_->checked());
  }

  // Waits until events stop coming (quiet for `quiet`) and returns them all, clearing the list.
  std::vector<Event> settle(std::chrono::milliseconds quiet = 300ms) {
    std::unique_lock lock(mutex_);
    size_t seen = events_.size();
    for (auto deadline = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < deadline;) {
      changed_.wait_for(lock, quiet);
      if (events_.size() == seen) break;
      seen = events_.size();
    }
    return std::exchange(events_, {});
  }

  static std::string summary(const std::vector<Event>& events) {
    std::string out;
    for (const auto& event : events) {
      out += event.action + " " + (event.old_path.empty() ? "" : event.old_path + " -> ") + event.path + "; ";
    }
    return out;
  }
  static const Event* find(const std::vector<Event>& events, const std::string& action, const std::string& path) {
    for (const auto& event : events) {
      if (event.action == action && event.path == path) return &event;
    }
    return nullptr;
  }
  std::string sha256sum(const std::string& path) {
    auto result = test::run({"/usr/bin/sha256sum", real(path).string()});
    return result.out.substr(0, result.out.find(' '));
  }

  test::TempDir dir_;
  std::shared_ptr<Manifest> manifest_;
  std::unique_ptr<Monitor> monitor_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Event> events_;
  std::atomic<bool> gate_closed_{false}, sink_blocked_{false};  // a consumer that stops taking events
  std::function<void()> after_the_walk_;  // runs between the baseline's walk and the monitor's start
};

const char* kEtc = R"(
paths:
  - path: /etc/app
    exclude: ['*.swp']
)";

TEST_P(FimRealtime, EachKindOfChange_WithBeforeAndAfter) {
  write("/etc/app/app.conf", "one\n");
  write("/etc/app/old.conf", "old\n");
  write("/etc/app/gone.conf", "bye\n");
  start(kEtc);

  write("/etc/app/new.conf", "new\n");
  auto events = settle();
  ASSERT_EQ(events.size(), 1u) << summary(events);
  EXPECT_EQ(events[0].action, "created");
  EXPECT_EQ(events[0].path, "/etc/app/new.conf");
  EXPECT_EQ(events[0].after->hash, sha256sum("/etc/app/new.conf"));

  std::string before = sha256sum("/etc/app/app.conf");
  std::ofstream(real("/etc/app/app.conf"), std::ios::app) << "two\n";
  events = settle();
  ASSERT_EQ(events.size(), 1u) << summary(events);
  EXPECT_EQ(events[0].action, "modified");
  EXPECT_EQ(events[0].before->hash, before);
  EXPECT_EQ(events[0].after->hash, sha256sum("/etc/app/app.conf"));
  EXPECT_EQ(events[0].before->size, 4u);
  EXPECT_EQ(events[0].after->size, 8u);
  if (GetParam() == "fanotify") {
    EXPECT_EQ(events[0].pid, getpid()) << "who wrote it";
    EXPECT_EQ(events[0].uid, static_cast<int64_t>(getuid()));
    EXPECT_FALSE(events[0].process.empty());
  }

  ASSERT_EQ(::chmod(real("/etc/app/app.conf").c_str(), 0600), 0);
  events = settle();
  ASSERT_EQ(events.size(), 1u) << summary(events);
  EXPECT_EQ(events[0].action, "attributes");
  EXPECT_EQ(events[0].changed, std::vector<std::string>{"mode"});
  EXPECT_EQ(events[0].after->mode, 0600u);

  fs::remove(real("/etc/app/gone.conf"));
  events = settle();
  ASSERT_EQ(events.size(), 1u) << summary(events);
  EXPECT_EQ(events[0].action, "deleted");
  EXPECT_EQ(events[0].before->hash, test::run({"/bin/sh", "-c", "printf 'bye\\n' | sha256sum"}).out.substr(0, 64));

  fs::rename(real("/etc/app/old.conf"), real("/etc/app/renamed.conf"));
  events = settle();
  ASSERT_EQ(events.size(), 1u) << summary(events);
  EXPECT_EQ(events[0].action, "renamed");
  EXPECT_EQ(events[0].old_path, "/etc/app/old.conf");
  EXPECT_EQ(events[0].path, "/etc/app/renamed.conf");
  EXPECT_TRUE(events[0].changed.empty()) << "a rename alone changes nothing else";

  // Excluded names are not reported.
  write("/etc/app/editor.swp", "swap");
  fs::remove(real("/etc/app/editor.swp"));
  EXPECT_TRUE(settle().empty());

  auto snapshot = monitor_->snapshot();
  EXPECT_TRUE(std::any_of(snapshot.begin(), snapshot.end(),
                          [](const FileRecord& record) { return record.path == "/etc/app/renamed.conf"; }));
}

// The kernel reports nothing of writes beside the watched trees, on the same
// filesystem: each source marks the watched directories, not the filesystem.
TEST_P(FimRealtime, WritesBesideTheTreesCostNothing) {
  write("/etc/app/conf.d/a.conf", "a\n");
  write("/etc/app/b.conf", "b\n");
  start(kEtc);
  auto stats = monitor_->stats();
  EXPECT_EQ(stats.watches, 2u) << "/etc/app and /etc/app/conf.d";
  EXPECT_GT(stats.watch_limit, 0u);
  for (int i = 0; i < 2000; ++i) {
    fs::path file = real("/var/lib/db/" + std::to_string(i % 20) + "/" + std::to_string(i));
    fs::create_directories(file.parent_path());
    std::ofstream(file) << i;
  }
  write("/etc/app/b.conf", "changed\n");  // then one watched change, to know the queue was read
  auto events = settle();
  ASSERT_EQ(events.size(), 1u) << summary(events);
  EXPECT_LE(monitor_->stats().kernel_changes, 5u) << "only the watched file's changes reach the agent";
}

// A tree reached through a symlinked directory (/lib -> usr/lib, as on a
// merged-/usr system) is watched by the source asked for, not a fallback.
TEST_P(FimRealtime, ATreeBelowASymlinkedDirectoryIsWatched) {
  write("/usr/lib/app/a.conf", "a\n");
  fs::create_directory_symlink("usr/lib", real("/lib"));
  start("paths: [{path: /lib/app}]");  // fails when another source took over
  write("/usr/lib/app/a.conf", "b\n");
  auto events = settle();
  ASSERT_EQ(events.size(), 1u) << summary(events);
  EXPECT_EQ(events[0].action, "modified");
  EXPECT_EQ(events[0].path, "/lib/app/a.conf");
}

// Idle, a file changed in place is compared as soon as the kernel's queue is
// drained; a new name waits for the window (a temp file may be renamed over).
TEST_P(FimRealtime, AChangeInPlaceIsReportedWithoutWaitingForTheWindow) {
  write("/etc/app/app.conf", "1\n");
  MonitorOptions options;
  options.window = 3s;
  options.max_hold = 10s;
  start(kEtc, options);
  auto written = std::chrono::steady_clock::now();
  write("/etc/app/app.conf", "2\n");
  auto events = settle(100ms);
  ASSERT_EQ(events.size(), 1u) << summary(events);
  EXPECT_EQ(events[0].action, "modified");
  EXPECT_LT(std::chrono::steady_clock::now() - written, 2s) << "reported before the window ended";

  // Idle again after the window: a new file waits for it.
  std::this_thread::sleep_for(3s);
  write("/etc/app/new.conf", "n\n");
  auto early = settle(1s);
  EXPECT_TRUE(early.empty()) << "a new name waits for the window: " << summary(early);
  events = settle(3s);
  ASSERT_EQ(events.size(), 1u) << summary(events);
  EXPECT_EQ(events[0].action, "created");
}

TEST_P(FimRealtime, ToolsGiveOneEventPerFileAPersonChanged) {
  write("/etc/app/sed.conf", "PermitRootLogin yes\n");
  write("/etc/app/editor.conf", "a\n");
  write("/etc/app/vim.conf", "v\n");
  // What is under test is that a tool's steps on one file make one event; a
  // wider window than production's keeps a loaded machine (tar's utime a few
  // ms after its close) from splitting them.
  MonitorOptions options;
  options.window = 100ms;
  start(kEtc, options);

  shell("sed -i 's/yes/no/' etc/app/sed.conf");
  auto events = settle();
  ASSERT_EQ(events.size(), 1u) << "sed -i: " << summary(events);
  EXPECT_EQ(events[0].action, "modified");
  EXPECT_EQ(events[0].path, "/etc/app/sed.conf");
  EXPECT_EQ(events[0].after->hash, sha256sum("/etc/app/sed.conf"));

  // An editor's atomic save, in one process as editors do: write a temp file beside it, then rename it over.
  shell(
      "perl -e 'open(my $f, \">\", \"etc/app/.editor.conf.tmp\") or die; print $f \"b\\n\"; close($f); "
      "rename(\"etc/app/.editor.conf.tmp\", \"etc/app/editor.conf\") or die'");
  events = settle();
  ASSERT_EQ(events.size(), 1u) << "atomic save: " << summary(events);
  EXPECT_EQ(events[0].action, "modified");
  EXPECT_EQ(events[0].path, "/etc/app/editor.conf");
  EXPECT_NE(events[0].before->inode, events[0].after->inode);

  // vim's way with a backup: rename to file~, write a new file, drop the backup.
  shell(
      "perl -e 'rename(\"etc/app/vim.conf\", \"etc/app/vim.conf~\") or die; open(my $f, \">\", \"etc/app/vim.conf\") "
      "or die; print $f \"w\\n\"; close($f); chmod(0644, \"etc/app/vim.conf\"); unlink(\"etc/app/vim.conf~\") or die'");
  events = settle();
  ASSERT_EQ(events.size(), 1u) << "backup-rename save: " << summary(events);
  EXPECT_EQ(events[0].action, "modified");
  EXPECT_EQ(events[0].path, "/etc/app/vim.conf");

  // tar -x of three files: one created event each (not create + write + times).
  shell(
      "mkdir -p src/pkg && printf 1 > src/pkg/a && printf 2 > src/pkg/b && printf 3 > src/pkg/c && "
      "touch -d 2020-01-01 src/pkg/* && tar -C src -cf pkg.tar pkg && tar -C etc/app -xf pkg.tar");
  events = settle();
  ASSERT_EQ(events.size(), 4u) << "tar -x: " << summary(events);
  EXPECT_TRUE(find(events, "created", "/etc/app/pkg"));
  for (const char* name : {"a", "b", "c"}) {
    const Event* created = find(events, "created", std::string("/etc/app/pkg/") + name);
    ASSERT_TRUE(created) << name << ": " << summary(events);
    EXPECT_EQ(created->after->mtime_ns / 1000000000, 1577836800) << "the times tar set, not a second event";
  }
  // Extracting again over the same files: tar replaces them; same content and times.
  shell(
      "printf 9 > src/pkg/b && touch -d 2020-01-01 src/pkg/b && tar -C src -cf pkg.tar pkg && "
      "tar -C etc/app -xf pkg.tar");
  events = settle();
  const Event* b = find(events, "modified", "/etc/app/pkg/b");
  ASSERT_TRUE(b) << summary(events);
  EXPECT_FALSE(find(events, "modified", "/etc/app/pkg/a"))
      << "unchanged content is not 'modified': " << summary(events);
  EXPECT_FALSE(find(events, "deleted", "/etc/app/pkg/b")) << summary(events);
  EXPECT_FALSE(find(events, "created", "/etc/app/pkg/b")) << summary(events);

  // rsync writes .name.XXXXXX then renames it over the file.
  shell("printf 'synced\\n' > src/editor.conf && rsync src/editor.conf etc/app/editor.conf");
  events = settle();
  ASSERT_EQ(events.size(), 1u) << "rsync: " << summary(events);
  EXPECT_EQ(events[0].action, "modified");
  EXPECT_EQ(events[0].path, "/etc/app/editor.conf");
  EXPECT_EQ(events[0].after->hash, sha256sum("/etc/app/editor.conf"));
}

TEST_P(FimRealtime, GitCheckoutReportsTheFilesThatDiffer) {
  shell(
      "mkdir -p etc/app/repo && cd etc/app/repo && git init -q -b main && git config user.email t@t && "
      "git config user.name t && printf 1 > same && printf 2 > differs && git add . && git commit -qm one && "
      "git checkout -qb other && printf 3 > differs && printf 4 > added && git add . && git commit -qm two && "
      "git checkout -q main");
  start(R"(
paths:
  - path: /etc/app/repo
    exclude: [.git]
)");
  shell("cd etc/app/repo && git checkout -q other");
  auto events = settle();
  EXPECT_EQ(events.size(), 2u) << summary(events);
  EXPECT_TRUE(find(events, "modified", "/etc/app/repo/differs")) << summary(events);
  EXPECT_TRUE(find(events, "created", "/etc/app/repo/added")) << summary(events);
  shell("cd etc/app/repo && git checkout -q main");
  events = settle();
  EXPECT_EQ(events.size(), 2u) << summary(events);
  EXPECT_TRUE(find(events, "modified", "/etc/app/repo/differs")) << summary(events);
  EXPECT_TRUE(find(events, "deleted", "/etc/app/repo/added")) << summary(events);
}

TEST_P(FimRealtime, RenamesInOutAndInside_Directories_Symlinks_HardLinks) {
  write("/etc/app/conf.d/one.conf", "1");
  write("/etc/app/conf.d/two.conf", "2");
  write("/etc/app/conf.d.bak/keep.conf", "k");  // sorts between conf.d and conf.d/... as text
  write("/outside/incoming.conf", "in");
  write("/outside/tree/deep/x.conf", "x");
  write("/outside/target.conf", "t");
  start(kEtc);

  fs::rename(real("/outside/incoming.conf"), real("/etc/app/incoming.conf"));
  auto events = settle();
  ASSERT_EQ(events.size(), 1u) << "moved in: " << summary(events);
  EXPECT_EQ(events[0].action, "created");

  fs::rename(real("/etc/app/incoming.conf"), real("/outside/back.conf"));
  events = settle();
  ASSERT_EQ(events.size(), 1u) << "moved out: " << summary(events);
  EXPECT_EQ(events[0].action, "deleted");
  EXPECT_EQ(events[0].path, "/etc/app/incoming.conf");

  // A directory moved in: it and everything inside, and it is watched from then on.
  fs::rename(real("/outside/tree"), real("/etc/app/tree"));
  events = settle();
  EXPECT_EQ(events.size(), 3u) << summary(events);
  EXPECT_TRUE(find(events, "created", "/etc/app/tree/deep/x.conf")) << summary(events);
  write("/etc/app/tree/deep/x.conf", "changed");
  events = settle();
  ASSERT_EQ(events.size(), 1u) << summary(events);
  EXPECT_EQ(events[0].action, "modified");

  // A directory renamed inside: one event; its files keep being watched under the new name.
  fs::rename(real("/etc/app/conf.d"), real("/etc/app/conf.old"));
  events = settle();
  ASSERT_EQ(events.size(), 1u) << summary(events);
  EXPECT_EQ(events[0].action, "renamed");
  EXPECT_EQ(events[0].detail, "2 entries below moved with it");
  write("/etc/app/conf.old/one.conf", "changed");
  events = settle();
  ASSERT_EQ(events.size(), 1u) << summary(events);
  EXPECT_EQ(events[0].path, "/etc/app/conf.old/one.conf");
  EXPECT_EQ(events[0].action, "modified");

  // Symlinks are recorded, not followed: the target outside changing is not ours.
  fs::create_symlink(real("/outside/target.conf"), real("/etc/app/link.conf"));
  events = settle();
  ASSERT_EQ(events.size(), 1u) << summary(events);
  EXPECT_EQ(events[0].after->type, "symlink");
  EXPECT_EQ(events[0].after->target, real("/outside/target.conf").string());
  write("/outside/target.conf", "changed");
  EXPECT_TRUE(settle().empty());

  // A hard link is a new name for the same inode; the original is not "changed".
  fs::create_hard_link(real("/etc/app/conf.old/two.conf"), real("/etc/app/hard.conf"));
  events = settle();
  ASSERT_EQ(events.size(), 1u) << summary(events);
  EXPECT_EQ(events[0].action, "created");
  struct stat original {};
  ASSERT_EQ(::stat(real("/etc/app/conf.old/two.conf").c_str(), &original), 0);
  EXPECT_EQ(events[0].after->inode, original.st_ino);

  // Removing a whole tree: one deleted event per entry.
  fs::remove_all(real("/etc/app/tree"));
  events = settle();
  EXPECT_EQ(events.size(), 3u) << summary(events);

  // A directory moved out: its entries are deleted, and it is no longer watched.
  size_t watches = monitor_->stats().watches;
  fs::rename(real("/etc/app/conf.old"), real("/outside/conf.old"));
  events = settle();
  EXPECT_TRUE(find(events, "deleted", "/etc/app/conf.old/one.conf")) << summary(events);
  EXPECT_EQ(monitor_->stats().watches, watches - 1);
  uint64_t reported = monitor_->stats().kernel_changes;
  for (int i = 0; i < 20; ++i) write("/outside/conf.old/new" + std::to_string(i), "elsewhere");
  write("/etc/app/hard.conf", "a watched change, to know the queue was read");
  events = settle();
  ASSERT_EQ(events.size(), 1u) << summary(events);
  EXPECT_LE(monitor_->stats().kernel_changes - reported, 5u) << "nothing of the directory that moved out";
}

// Changes between the scan's walk and the watches being placed are found by
// the check at start, not left for the next scan.
TEST_P(FimRealtime, ChangesBeforeTheWatchesArePlacedAreReported) {
  write("/etc/app/app.conf", "1\n");
  write("/etc/app/gone.conf", "g\n");
  after_the_walk_ = [&] {
    std::ofstream(real("/etc/app/app.conf"), std::ios::app) << "2\n";
    fs::remove(real("/etc/app/gone.conf"));
    write("/etc/app/conf.d/new.conf", "n\n");
  };
  start(kEtc);
  auto events = settle();
  EXPECT_TRUE(find(events, "modified", "/etc/app/app.conf")) << summary(events);
  EXPECT_TRUE(find(events, "deleted", "/etc/app/gone.conf")) << summary(events);
  EXPECT_TRUE(find(events, "created", "/etc/app/conf.d")) << summary(events);
  EXPECT_TRUE(find(events, "created", "/etc/app/conf.d/new.conf")) << summary(events);
  EXPECT_EQ(events.size(), 4u) << summary(events);
  EXPECT_EQ(monitor_->stats().rescans, 0u) << "the check at start is not a rescan";
  // The directory made in the gap is watched like the rest.
  write("/etc/app/conf.d/later.conf", "l\n");
  events = settle();
  ASSERT_EQ(events.size(), 1u) << summary(events);
  EXPECT_EQ(events[0].action, "created");
  EXPECT_EQ(events[0].path, "/etc/app/conf.d/later.conf");
}

// An extended attribute or an ACL set on a watched file: an `attributes` event naming it.
TEST_P(FimRealtime, ExtendedAttributesAndAclsChanged) {
  write("/etc/app/app.conf", "1\n");
  if (::setxattr(real("/etc/app/app.conf").c_str(), "user.probe", "1", 1, 0) != 0) {
    GTEST_SKIP() << "this filesystem takes no user xattrs: " << std::strerror(errno);
  }
  start(kEtc);
  ASSERT_EQ(::setxattr(real("/etc/app/app.conf").c_str(), "user.vigil", "tag", 3, 0), 0);
  auto events = settle();
  ASSERT_EQ(events.size(), 1u) << summary(events);
  EXPECT_EQ(events[0].action, "attributes");
  EXPECT_EQ(events[0].changed, std::vector<std::string>{"xattrs"});
  EXPECT_NE(events[0].after->xattrs.find("user.vigil="), std::string::npos) << events[0].after->xattrs;

  acl_t acl = ::acl_from_text("u::rw-,u:65534:rw-,g::r--,m::rw-,o::r--");
  ASSERT_NE(acl, nullptr);
  int set = ::acl_set_file(real("/etc/app/app.conf").c_str(), ACL_TYPE_ACCESS, acl);
  ::acl_free(acl);
  ASSERT_EQ(set, 0) << std::strerror(errno);
  events = settle();
  ASSERT_EQ(events.size(), 1u) << summary(events);
  EXPECT_EQ(events[0].action, "attributes");
  EXPECT_NE(std::find(events[0].changed.begin(), events[0].changed.end(), "acl"), events[0].changed.end());
  EXPECT_EQ(events[0].after->acl, "u::rw-,u:65534:rw-,g::r--,m::rw-,o::r--");
}

// fanotify names the process that made the change: another process here.
TEST_P(FimRealtime, FanotifyNamesWhoChangedIt) {
  if (GetParam() != "fanotify") GTEST_SKIP() << "inotify does not say who changed a file";
  write("/etc/app/app.conf", "1\n");
  start(kEtc);
  // The shell stays a moment so its /proc entry is there when the event is read.
  shell("echo 2 > etc/app/app.conf; sleep 0.5");
  auto events = settle();
  ASSERT_EQ(events.size(), 1u) << summary(events);
  EXPECT_EQ(events[0].action, "modified");
  EXPECT_GT(events[0].pid, 0);
  EXPECT_NE(events[0].pid, getpid()) << "the shell wrote it, not this test";
  EXPECT_EQ(fs::path(events[0].process).filename(), fs::canonical("/bin/sh").filename()) << events[0].process;
  EXPECT_EQ(events[0].uid, static_cast<int64_t>(geteuid()));
}

TEST_P(FimRealtime, AnOverflowedQueueTriggersARescanThatFindsEveryChange) {
  write("/etc/app/keep.conf", "k");
  start(kEtc);
  // A stuck consumer: the monitor thread waits in the sink while 20,000 files
  // are created (40,000 kernel events, more than the 16,384 queued).
  gate_closed_ = true;
  write("/etc/app/first.conf", "1");
  for (int i = 0; i < 2000 && !sink_blocked_; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(sink_blocked_);
  for (int i = 0; i < 20000; ++i) std::ofstream(real("/etc/app/f" + std::to_string(i)));
  gate_closed_ = false;
  // The rescan is one long step (slow under sanitizers): wait for its report, then for the rest.
  std::vector<Event> events;
  auto reported = [&] {
    return std::any_of(events.begin(), events.end(), [](const Event& event) { return event.action == "rescan"; });
  };
  for (auto deadline = std::chrono::steady_clock::now() + 120s;
       !reported() && std::chrono::steady_clock::now() < deadline;) {
    auto more = settle(1s);
    events.insert(events.end(), more.begin(), more.end());
  }
  auto rest = settle(1s);
  events.insert(events.end(), rest.begin(), rest.end());
  auto stats = monitor_->stats();
  EXPECT_GE(stats.overflows, 1u);
  EXPECT_GE(stats.rescans, 1u);
  const Event* rescan = nullptr;
  size_t created = 0;
  for (const auto& event : events) {
    if (event.action == "rescan") rescan = &event;
    if (event.action == "created") ++created;
  }
  ASSERT_TRUE(rescan) << "the gap is reported";
  EXPECT_NE(rescan->detail.find("overflowed"), std::string::npos) << rescan->detail;
  EXPECT_EQ(created, 20001u) << "no file is missed";
  EXPECT_EQ(monitor_->snapshot().size(), 20003u);  // the directory, keep, first and the 20,000
}

// fanotify's who-data needs CAP_SYS_ADMIN: its instance is AsRoot (ctest label privileged).
INSTANTIATE_TEST_SUITE_P(Sources, FimRealtime, ::testing::Values("inotify"),
                         [](const auto& info) { return info.param; });
INSTANTIATE_TEST_SUITE_P(AsRoot, FimRealtime, ::testing::Values("fanotify"),
                         [](const auto& info) { return info.param; });

// The inotify watch limit, lowered to 5 inside a user namespace of its own
// (the test runs itself again under `unshare -Ur`): the directories beyond it
// are named in a `degraded` event, never silently unwatched.
TEST(FimWatchLimit, ReachedIsReported) {
  if (!test::in_rerun()) {
    auto child = test::rerun_test({"/usr/bin/unshare", "-Ur"}, "FimWatchLimit.ReachedIsReported");
    if (!test::rerun_ran(child)) GTEST_SKIP() << "cannot make a user namespace here (unshare -Ur): " << child.err;
    EXPECT_EQ(child.exit_code, 0) << child.out << child.err;
    return;
  }
  std::ofstream limit("/proc/sys/user/max_inotify_watches");
  ASSERT_TRUE(limit << 5 << std::flush) << "the namespace's watch limit cannot be set";
  test::TempDir dir;
  for (int i = 0; i < 20; ++i) fs::create_directories(dir.path() / "etc" / std::to_string(i));
  auto manifest = std::make_shared<Manifest>(parse_manifest("paths: [{path: /etc}]"));
  std::vector<Event> events;
  MonitorOptions options;
  options.fanotify = false;
  Monitor monitor(
      manifest, dir.path(), collect(*manifest, dir.path()), [&](const Event& event) { events.push_back(event); },
      options);
  monitor.start();
  for (int waited = 0; !monitor.checked() && waited < 10000; ++waited) std::this_thread::sleep_for(1ms);
  auto stats = monitor.stats();
  EXPECT_EQ(stats.watch_limit, 5u);
  EXPECT_EQ(stats.watches, 5u);
  EXPECT_EQ(stats.unwatched_directories, 16u);  // /etc and its 20 directories: 21
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "degraded");
  EXPECT_NE(events[0].detail.find("16 of 21 directories are not watched"), std::string::npos) << events[0].detail;
  EXPECT_NE(events[0].detail.find("inotify watch limit is reached"), std::string::npos) << events[0].detail;
}

// Without privilege: fanotify is refused with the reason, inotify takes over,
// and a file the agent may not read is reported with the error, not fatal.
// As root the test runs itself again as nobody (setpriv).
TEST(FimUnprivileged, FallsBackToInotifyAndReportsUnreadableFiles) {
  const std::string name = "FimUnprivileged.FallsBackToInotifyAndReportsUnreadableFiles";
  if (::geteuid() == 0 && !test::in_rerun()) {
    auto child = test::rerun_test(test::as_nobody(), name);
    if (!test::rerun_ran(child)) GTEST_SKIP() << "cannot run as nobody here (setpriv): " << child.out << child.err;
    EXPECT_EQ(child.exit_code, 0) << child.out << child.err;
    return;
  }
  test::TempDir dir;
  fs::create_directories(dir.path() / "etc/app");
  std::ofstream(dir.path() / "etc/app/readable.conf") << "a\n";
  auto manifest = std::make_shared<Manifest>(parse_manifest(kEtc));
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<Event> events;
  MonitorOptions options;  // fanotify asked for: refused without CAP_SYS_ADMIN
  Monitor monitor(
      manifest, dir.path(), collect(*manifest, dir.path()),
      [&](const Event& event) {
        std::lock_guard lock(mutex);
        events.push_back(event);
        changed.notify_all();
      },
      options);
  monitor.start();
  for (int waited = 0; !monitor.checked() && waited < 10000; ++waited) std::this_thread::sleep_for(1ms);
  auto stats = monitor.stats();
  EXPECT_EQ(stats.source, "inotify");
  EXPECT_NE(stats.fanotify_unavailable.find("CAP_SYS_ADMIN"), std::string::npos) << stats.fanotify_unavailable;

  auto secret = dir.path() / "etc/app/secret.conf";
  std::ofstream(secret) << "s\n";
  fs::permissions(secret, fs::perms::none);
  std::ofstream(dir.path() / "etc/app/readable.conf", std::ios::app) << "b\n";

  std::unique_lock lock(mutex);
  auto has = [&](const std::string& action, const std::string& path) {
    return std::any_of(events.begin(), events.end(),
                       [&](const Event& event) { return event.action == action && event.path == path; });
  };
  changed.wait_for(lock, 20s,
                   [&] { return has("created", "/etc/app/secret.conf") && has("modified", "/etc/app/readable.conf"); });
  std::string all;
  for (const auto& event : events) all += event.action + " " + event.path + "; ";
  auto secret_event = std::find_if(events.begin(), events.end(), [](const Event& event) {
    return event.action == "created" && event.path == "/etc/app/secret.conf";
  });
  ASSERT_NE(secret_event, events.end()) << all;
  ASSERT_TRUE(secret_event->after.has_value());
  EXPECT_NE(secret_event->after->error.find("Permission denied"), std::string::npos) << secret_event->after->error;
  EXPECT_TRUE(has("modified", "/etc/app/readable.conf")) << all;
}

TEST(FimHashCache, ReusesOnlyWhatProvablyDidNotChange) {
  test::TempDir dir;
  std::ofstream(dir.path() / "a") << "a";
  std::ofstream(dir.path() / "b") << "b";
  Manifest manifest = parse_manifest("paths: [{path: /}]");
  auto records = collect(manifest, dir.path());
  hash_files(records, dir.path(), "sha256", 1, nullptr);
  std::string text = HashCache::header("sha256");
  for (const auto& record : records) text += HashCache::line(record);
  EXPECT_EQ(HashCache::parse(text, "sha512").size(), 0u) << "another algorithm's cache is not used";
  EXPECT_EQ(HashCache::parse(text + "torn\tline", "sha256").size(), 2u);

  std::this_thread::sleep_for(10ms);
  std::ofstream(dir.path() / "b") << "B";  // same size, new mtime and ctime
  auto again = collect(manifest, dir.path());
  EXPECT_EQ(HashCache::parse(text, "sha256").fill(again), 1u);
  std::vector<std::string> hashed;
  hash_files(again, dir.path(), "sha256", 1, nullptr, [&](const FileRecord& record) { hashed.push_back(record.path); });
  EXPECT_EQ(hashed, std::vector<std::string>{"/b"});
  for (const auto& record : again) {
    if (record.type == "file") {
      EXPECT_EQ(record.hash, hash_file(dir.path() / record.path.substr(1), "sha256"));
    }
  }
}

TEST(FimHashCache, ChunksInStateMakeOneCacheThatFindsEveryFile) {
  std::map<std::string, std::string> state;
  HashCacheWriter writer(
      "sha256", "hashes.", [&](const std::string& key, const std::string& value) { state[key] = value; }, 4096);
  std::vector<FileRecord> records(500);
  for (size_t i = 0; i < records.size(); ++i) {
    // Added out of path order, as a walk finds them.
    records[i].path = "/d/" + std::to_string((i * 7919) % 500);
    records[i].type = "file";
    records[i].size = i;
    records[i].inode = i + 1;
    records[i].hash = std::string(64, static_cast<char>('a' + i % 6));
    writer.add(records[i]);
  }
  size_t chunks = writer.finish();
  EXPECT_EQ(chunks, state.size());
  EXPECT_GT(chunks, 5u) << "a 4 KiB chunk holds about 50 lines";
  for (const auto& [key, value] : state) EXPECT_LE(value.size(), 4096u) << key;

  HashCache cache("sha256");
  for (size_t chunk = 0; chunk < chunks; ++chunk) cache.add(state.at("hashes." + std::to_string(chunk)));
  EXPECT_EQ(cache.size(), 500u);
  size_t again = cache.add(state.at("hashes.0"));  // an interrupted scan's chunk again: two entries for those paths
  EXPECT_GT(again, 0u);
  EXPECT_EQ(cache.size(), 500u + again);
  for (auto record : records) {
    std::string want = record.hash;
    record.hash.clear();
    EXPECT_TRUE(cache.fill(record)) << record.path;
    EXPECT_EQ(record.hash, want);
    record.hash.clear();
    ++record.inode;
    EXPECT_FALSE(cache.fill(record)) << record.path << ": another inode is another file";
  }
}

}  // namespace
}  // namespace vigil::fim
