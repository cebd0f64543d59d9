// FIM real-time: watches the manifest's trees from a known baseline and
// reports what a person would say changed. Kernel changes only mark paths
// dirty; once a path has been quiet for the coalescing window (and no writer
// has it open), its state on disk is compared with the baseline. So an
// editor's write-temp-and-rename, `sed -i`, `git checkout`, `rsync` or
// `tar -x` each give one event for the file, and a temp file that came and
// went gives none. Lost kernel events (queue overflow, a lost watch) trigger
// a rescan of the affected tree, counted and reported.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "baseline.h"
#include "record_tree.h"
#include "watcher.h"

namespace vigil::fim {

struct Event {
  std::string action;  // created | modified | attributes | deleted | renamed | rescan | degraded
  std::string path;
  std::string old_path;  // renamed
  std::optional<FileRecord> before, after;
  std::vector<std::string>
      changed;      // attributes that differ: hash, size, mode, owner, group, mtime, inode, type, target
  int32_t pid = 0;  // who, where the source tells (fanotify)
  std::string process;
  int64_t uid = -1;
  std::string detail;
  std::string source;  // fanotify | inotify
  const WatchedPath* watch = nullptr;
};

struct MonitorOptions {
  // A path is compared once it has been quiet for `window`, except when the
  // monitor is idle (it compared nothing in the last `window`): then a file
  // written in place or an attribute change is compared as soon as the
  // kernel's queue is drained. New names, renames and deletions always wait
  // for the window: tools replace files that way (a temp file renamed over,
  // tar's create, write and set times), and the window makes it one event.
  std::chrono::milliseconds window{5};
  std::chrono::milliseconds max_hold{1000};  // a path busy for longer is compared anyway
  bool fanotify = true;                      // try fanotify first
};

struct MonitorStats {
  std::string source;  // fanotify | inotify
  std::string fanotify_unavailable;
  size_t watches = 0, watch_limit = 0, unwatched_directories = 0;  // inotify watches or fanotify marks
  uint64_t kernel_changes = 0;  // records the kernel queued, for paths watched or not
  uint64_t changes = 0, events = 0, overflows = 0, lost_watches = 0, rescans = 0;
};

class Monitor {
 public:
  using Sink = std::function<void(const Event&)>;

  // `baseline` is what the trees held at the last scan, built over `manifest`.
  Monitor(std::shared_ptr<const Manifest> manifest, std::filesystem::path root, RecordTree baseline, Sink sink,
          MonitorOptions options = {});
  // The same from records (their `watch` pointing into `manifest`); records of missing paths are left out.
  Monitor(std::shared_ptr<const Manifest> manifest, std::filesystem::path root, const std::vector<FileRecord>& baseline,
          Sink sink, MonitorOptions options = {});
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // Watches the trees and starts the monitoring thread, which first compares
  // the trees with the baseline (what changed since the scan). Throws std::runtime_error
  // when no source can run. Problems that leave part unwatched are reported as
  // a `degraded` event and in stats().
  void start();
  // True once the thread has compared the trees with the baseline; changes
  // made before that may be reported by the comparison, with partial content
  // when a writer is still at work (tests wait for it).
  bool checked() const { return checked_; }
  void stop();
  MonitorStats stats() const;
  // The current baseline, sorted by path (tests, and the hash cache that resumes a scan).
  std::vector<FileRecord> snapshot() const;
  // Sets `record`'s hash from the baseline when the file provably did not
  // change (same type, size, mtime, ctime, inode): a running monitor is the
  // next scan's hash cache. True when it did.
  bool reuse_hash(FileRecord& record) const;
  const std::string& algorithm() const { return manifest_->algorithm; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    Clock::time_point first, last;
    bool writing = false;       // a writer may still have it open
    bool written = false;       // content was written: hash even if the metadata look the same
    bool name_changed = false;  // the name appeared, moved or went away: wait for the window
    std::string moved_from;
    int32_t pid = 0;
    std::string process;
    int64_t uid = -1;
  };

  void run();
  void note(const Change& change, Clock::time_point now);
  Pending& touch(const std::string& path, const Change& change, Clock::time_point now);
  // Compares the due paths with the baseline; returns when the next one is due.
  std::optional<Clock::time_point> flush(Clock::time_point now);
  void settle(const std::string& path, Pending entry);
  void compare(const std::string& path, const Pending& entry);
  // Records `after` as the file's state; reports what differs from `before`.
  bool updated(FileRecord before, FileRecord after, const Pending* entry);
  void created(FileRecord record, const Pending& entry);
  void deleted(const std::string& path, const Pending& entry);
  // Compares `tree` on disk with the baseline and reports the differences,
  // then a `rescan` event saying `why` (none when `why` is empty: the check at start).
  void rescan(const std::string& tree, const std::string& why);
  std::optional<FileRecord> current(const std::string& path, const FileRecord* known, bool written);
  void watch_tree_directories(const std::string& tree);
  void emit(Event event, const Pending* entry);
  bool relevant(const std::string& path, bool is_directory) const;

  std::shared_ptr<const Manifest> manifest_;
  std::filesystem::path root_;
  Sink sink_;
  MonitorOptions options_;
  std::unique_ptr<Watcher> watcher_;

  mutable std::mutex mutex_;  // guards baseline_ and stats_ (read by other threads)
  RecordTree baseline_;
  MonitorStats stats_;

  std::unordered_map<std::string, Pending> pending_;  // monitoring thread only
  Clock::time_point last_compared_{};                 // when flush() last settled a path
  std::unordered_map<uint32_t, std::string> moves_;   // inotify rename cookie → source path
  bool rescan_all_ = false;
  std::vector<std::string> rescan_trees_;

  int stop_fd_ = -1;
  std::atomic<bool> stopping_{false}, checked_{false};
  struct Stopping {};  // thrown out of a tree comparison by stop()
  std::thread thread_;
};

}  // namespace vigil::fim
