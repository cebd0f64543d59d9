#include "monitor.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace vigil::fim {
namespace {

bool is_in(const std::string& path, const std::string& directory) {
  return path.size() > directory.size() && path.compare(0, directory.size(), directory) == 0 &&
         (directory == "/" || path[directory.size()] == '/');
}

std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The watched attributes that differ. ctime alone is not a change a person
// made (it moves with link counts and no-op chowns); it is reported, not a trigger.
std::vector<std::string> differences(const FileRecord& before, const FileRecord& after) {
  const WatchedPath& watch = *after.watch;
  std::vector<std::string> changed;
  if (before.type != after.type) changed.push_back("type");
  if (watches(watch, "hash") && before.hash != after.hash) changed.push_back("hash");
  if (watches(watch, "size") && before.size != after.size && after.type == "file") changed.push_back("size");
  if (watches(watch, "mode") && before.mode != after.mode) changed.push_back("mode");
  if (watches(watch, "owner") && before.uid != after.uid) changed.push_back("owner");
  if (watches(watch, "group") && before.gid != after.gid) changed.push_back("group");
  if (watches(watch, "mtime") && before.mtime_ns != after.mtime_ns && after.type != "directory")
    changed.push_back("mtime");
  if (watches(watch, "inode") && before.inode != after.inode) changed.push_back("inode");
  if (watches(watch, "xattrs") && before.xattrs != after.xattrs) changed.push_back("xattrs");
  if (watches(watch, "acl") && before.acl != after.acl) changed.push_back("acl");
  if (before.target != after.target) changed.push_back("target");
  return changed;
}

bool is_content(const std::vector<std::string>& changed) {
  return std::any_of(changed.begin(), changed.end(), [](const std::string& name) {
    return name == "hash" || name == "size" || name == "type" || name == "target";
  });
}

}  // namespace

Monitor::Monitor(std::shared_ptr<const Manifest> manifest, std::filesystem::path root, RecordTree baseline, Sink sink,
                 MonitorOptions options)
    : manifest_(std::move(manifest)),
      root_(std::move(root)),
      sink_(std::move(sink)),
      options_(options),
      baseline_(std::move(baseline)) {}

Monitor::Monitor(std::shared_ptr<const Manifest> manifest, std::filesystem::path root,
                 const std::vector<FileRecord>& baseline, Sink sink, MonitorOptions options)
    : Monitor(manifest, std::move(root), RecordTree(*manifest), std::move(sink), options) {
  for (const auto& record : baseline) {
    if (record.type != "missing") baseline_.set(record);
  }
}

Monitor::~Monitor() {
  stop();
}

void Monitor::start() {
  if (watcher_) throw std::logic_error("the monitor is started already");
  std::string why;
  if (options_.fanotify) watcher_ = make_fanotify_watcher(root_, why);
  if (watcher_) {
    // A failure on the first directory (privileges, the kernel, the filesystem)
    // means fanotify cannot serve here. It is the first tree's top, or the
    // nearest directory above it (the top may be a file, missing or a symlink).
    std::string probe = manifest_->paths.front().path;
    struct stat info {};
    while (probe != "/" && !(::lstat(on_disk(root_, probe).c_str(), &info) == 0 && S_ISDIR(info.st_mode))) {
      probe = parent_of(probe);
    }
    std::string problem = watcher_->watch_directory(probe);
    if (!problem.empty()) {
      why = problem;
      watcher_.reset();
    }
  } else if (!options_.fanotify) {
    why = "not wanted (fim.Fanotify=false)";
  }
  if (!watcher_) {
    std::string inotify_why;
    watcher_ = make_inotify_watcher(root_, inotify_why);
    if (!watcher_) throw std::runtime_error("no change notification source: " + why + "; " + inotify_why);
  }
  {
    std::lock_guard lock(mutex_);
    stats_.source = watcher_->name();
    stats_.fanotify_unavailable = why;
  }
  for (const auto& watch : manifest_->paths) watch_tree_directories(watch.path);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) throw std::runtime_error("eventfd: " + std::generic_category().message(errno));
  thread_ = std::thread([this] {
    try {
      // A change between the scan's walk and the watches being placed would
      // otherwise wait for the next scan: compare once more (metadata first;
      // only files whose size, times or inode moved are read again). On this
      // thread, so the scan that started the monitor is complete meanwhile;
      // the kernel queues what happens during the check.
      for (const auto& watch : manifest_->paths) rescan(watch.path, "");
      checked_ = true;
      run();
    } catch (const Stopping&) {
    }
  });
}

void Monitor::stop() {
  stopping_ = true;  // a long comparison of the trees ends early
  if (thread_.joinable()) {
    uint64_t one = 1;
    if (::write(stop_fd_, &one, sizeof(one)) < 0) {
      // cannot happen with an eventfd below its maximum; the join below would hang otherwise
      std::terminate();
    }
    thread_.join();
  }
  if (stop_fd_ >= 0) ::close(stop_fd_);
  stop_fd_ = -1;
}

MonitorStats Monitor::stats() const {
  std::lock_guard lock(mutex_);
  MonitorStats copy = stats_;
  if (watcher_) copy.watches = watcher_->watches(), copy.watch_limit = watcher_->watch_limit();
  return copy;
}

std::vector<FileRecord> Monitor::snapshot() const {
  std::lock_guard lock(mutex_);
  return baseline_.records();
}

bool Monitor::reuse_hash(FileRecord& record) const {
  if (record.type != "file" || !record.hash.empty() || !record.error.empty()) return false;
  std::optional<FileRecord> known;
  {
    std::lock_guard lock(mutex_);
    known = baseline_.find(record.path);
  }
  if (!known || known->type != "file" || known->hash.empty() || content_may_differ(*known, record)) return false;
  record.hash = std::move(known->hash);
  return true;
}

// Watches every directory of `tree` whose entries are covered (and the parent
// of a watched file, or of a watched path that does not exist yet).
void Monitor::watch_tree_directories(const std::string& tree) {
  std::vector<std::string> directories;
  {
    std::lock_guard lock(mutex_);
    baseline_.visit(tree, [&](const std::string& path, std::string_view type, const WatchedPath* watch) {
      if (type == "directory" && walks_into(*watch, path)) directories.push_back(path);
    });
  }
  for (const auto& watch : manifest_->paths) {
    if ((watch.path == tree || is_in(watch.path, tree) || is_in(tree, watch.path)) && watch.path != "/" &&
        std::find(directories.begin(), directories.end(), watch.path) == directories.end()) {
      directories.push_back(parent_of(watch.path));  // the top itself may be a file, or missing
    }
  }
  size_t failed = 0;
  std::string problem;
  for (const auto& directory : directories) {
    std::string result = watcher_->watch_directory(directory);
    if (!result.empty() && ::access(on_disk(root_, directory).c_str(), F_OK) == 0) {
      ++failed;
      if (problem.empty()) problem = directory + ": " + result;
    }
  }
  if (failed > 0) {
    {
      std::lock_guard lock(mutex_);
      stats_.unwatched_directories += failed;
    }
    Event event;
    event.action = "degraded";
    event.path = tree;
    event.detail = std::to_string(failed) + " of " + std::to_string(directories.size()) +
                   " directories are not watched in real time (scans still cover them): " + problem;
    emit(std::move(event), nullptr);
  }
}

void Monitor::run() {
  std::vector<Change> changes;
  std::optional<Clock::time_point> next;
  for (;;) {
    timespec timeout{};  // zero: a rescan is waiting
    if (!rescan_all_ && rescan_trees_.empty() && next) {
      auto wait = std::clamp<Clock::duration>(*next - Clock::now(), Clock::duration::zero(), std::chrono::minutes(1));
      auto seconds = std::chrono::duration_cast<std::chrono::seconds>(wait);
      timeout.tv_sec = seconds.count();
      timeout.tv_nsec = std::chrono::duration_cast<std::chrono::nanoseconds>(wait - seconds).count();
    }
    bool forever = !rescan_all_ && rescan_trees_.empty() && !next;
    pollfd fds[2] = {{watcher_->fd(), POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    int ready = ::ppoll(fds, 2, forever ? nullptr : &timeout, nullptr);
    if (ready < 0 && errno != EINTR) return;
    if (fds[1].revents & POLLIN) return;
    auto now = Clock::now();
    if (fds[0].revents & POLLIN) {
      changes.clear();
      size_t records = watcher_->read(changes);
      {
        std::lock_guard lock(mutex_);
        stats_.kernel_changes += records;
      }
      for (const auto& change : changes) note(change, now);
    }
    if (rescan_all_) {
      rescan_all_ = false;
      rescan_trees_.clear();
      pending_.clear();
      moves_.clear();
      for (const auto& watch : manifest_->paths) rescan(watch.path, "the kernel's event queue overflowed");
    }
    for (auto trees = std::exchange(rescan_trees_, {}); const auto& tree : trees) rescan(tree, "a watch was lost");
    next = flush(Clock::now());
  }
}

Monitor::Pending& Monitor::touch(const std::string& path, const Change& change, Clock::time_point now) {
  auto [it, fresh] = pending_.try_emplace(path);
  Pending& entry = it->second;
  if (fresh) entry.first = now;
  entry.last = now;
  if (change.pid != 0) entry.pid = change.pid, entry.process = change.process, entry.uid = change.uid;
  return entry;
}

bool Monitor::relevant(const std::string& path, bool is_directory) const {
  if (covering(*manifest_, path, is_directory) != nullptr) return true;
  std::lock_guard lock(mutex_);
  return baseline_.contains(path);
}

void Monitor::note(const Change& change, Clock::time_point now) {
  bool kernel_trouble = change.kind == Change::kOverflow || change.kind == Change::kLost;
  if (!kernel_trouble && change.kind != Change::kMovedFrom && change.kind != Change::kRenamed &&
      !relevant(change.path, change.is_directory)) {
    return;  // excluded names, and the entries of a watched file's directory
  }
  {
    std::lock_guard lock(mutex_);
    ++stats_.changes;
  }
  switch (change.kind) {
    case Change::kOverflow: {
      std::lock_guard lock(mutex_);
      ++stats_.overflows;
      rescan_all_ = true;
      return;
    }
    case Change::kLost: {
      {
        std::lock_guard lock(mutex_);
        ++stats_.lost_watches;
      }
      if (::access(on_disk(root_, change.path).c_str(), F_OK) == 0) {
        rescan_trees_.push_back(change.path);
      } else {
        touch(change.path, change, now);
      }
      return;
    }
    case Change::kMovedFrom:
      if (moves_.size() > 4096) moves_.clear();
      moves_[change.cookie] = change.path;
      if (relevant(change.path, change.is_directory)) touch(change.path, change, now).name_changed = true;
      return;
    case Change::kMovedTo:
    case Change::kRenamed: {
      std::string from = change.kind == Change::kRenamed ? change.path : std::string();
      std::string to = change.kind == Change::kRenamed ? change.new_path : change.path;
      if (change.kind == Change::kMovedTo) {
        auto source = moves_.find(change.cookie);
        if (source != moves_.end()) from = source->second, moves_.erase(source);
      }
      bool from_relevant = !from.empty() && relevant(from, change.is_directory);
      if (!from_relevant && !relevant(to, change.is_directory)) return;
      if (from_relevant) touch(from, change, now).name_changed = true;
      Pending& entry = touch(to, change, now);
      entry.name_changed = true;
      if (!from.empty()) entry.moved_from = from;
      return;
    }
    case Change::kCreated: {
      Pending& entry = touch(change.path, change, now);
      entry.name_changed = true;
      struct stat info {};
      // A new regular file with one link is being written (cp, an editor,
      // tar); a hard link, symlink or directory is complete when created.
      if (!change.is_directory && ::lstat(on_disk(root_, change.path).c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
          info.st_nlink == 1) {
        entry.writing = true;
      }
      return;
    }
    case Change::kModified: {
      Pending& entry = touch(change.path, change, now);
      if (!change.is_directory) entry.writing = entry.written = true;
      return;
    }
    case Change::kClosed: {
      Pending& entry = touch(change.path, change, now);
      entry.writing = false;
      entry.written = true;
      return;
    }
    case Change::kAttributes: touch(change.path, change, now); return;
    case Change::kDeleted: touch(change.path, change, now).name_changed = true; return;
  }
}

std::optional<Monitor::Clock::time_point> Monitor::flush(Clock::time_point now) {
  // The queue is drained whenever this runs; idle, an in-place change need not wait.
  bool idle = now - last_compared_ >= options_.window;
  auto due_at = [&](const Pending& entry) {
    auto forced = entry.first + options_.max_hold;
    if (entry.writing) return forced;
    if (idle && !entry.name_changed) return now;
    return std::min(entry.last + options_.window, forced);
  };
  std::vector<std::string> due;
  std::optional<Clock::time_point> next;
  for (const auto& [path, entry] : pending_) {
    auto at = due_at(entry);
    // A rename settles with its source, so both halves are compared together.
    if (!entry.moved_from.empty()) {
      auto source = pending_.find(entry.moved_from);
      if (source != pending_.end()) at = std::max(at, due_at(source->second));
    }
    if (at <= now) {
      due.push_back(path);
    } else if (!next || at < *next) {
      next = at;
    }
  }
  // Renames first: their source must still be pending when they settle.
  std::stable_partition(due.begin(), due.end(),
                        [&](const std::string& path) { return !pending_.at(path).moved_from.empty(); });
  if (!due.empty()) last_compared_ = now;
  for (const auto& path : due) {
    auto it = pending_.find(path);
    if (it == pending_.end()) continue;  // settled with its rename
    Pending entry = std::move(it->second);
    pending_.erase(it);
    settle(path, std::move(entry));
  }
  return next;
}

std::optional<FileRecord> Monitor::current(const std::string& path, const FileRecord* known, bool written) {
  const WatchedPath* watch = known != nullptr ? known->watch : nullptr;
  if (watch == nullptr) {
    struct stat info {};
    bool directory = ::lstat(on_disk(root_, path).c_str(), &info) == 0 && S_ISDIR(info.st_mode);
    watch = covering(*manifest_, path, directory);
    if (watch == nullptr) return std::nullopt;
  }
  auto record = observe(*watch, root_, path);
  if (!record || record->type != "file" || !watches(*watch, "hash")) return record;
  if (known != nullptr && !written && known->type == "file" && !content_may_differ(*known, *record) &&
      known->error.empty()) {
    record->hash = known->hash;  // same size, times and inode: the content is what we hashed
    return record;
  }
  try {
    record->hash = hash_file(on_disk(root_, path), manifest_->algorithm);
  } catch (const std::runtime_error& problem) {
    record->error = problem.what();
  }
  return record;
}

void Monitor::settle(const std::string& path, Pending entry) {
  std::string from = entry.moved_from;
  if (from.empty()) {
    compare(path, entry);
    return;
  }
  Pending source;
  if (auto it = pending_.find(from); it != pending_.end()) {
    source = std::move(it->second);
    pending_.erase(it);
  }
  std::optional<FileRecord> before;
  {
    std::lock_guard lock(mutex_);
    before = baseline_.find(from);
  }
  bool source_gone = ::access(on_disk(root_, from).c_str(), F_OK) != 0 && errno == ENOENT;
  if (before && source_gone && covering(*manifest_, path, before->type == "directory") == nullptr) {
    deleted(from, source);  // moved out of what is watched
    return;
  }
  if (!before || !source_gone) {
    // A temp file renamed over its target (atomic save), or a source that is
    // back again: each name is simply compared with what it was.
    compare(from, source);
    compare(path, entry);
    return;
  }
  // A known file or directory moved: one renamed event, the entries below it move with it.
  bool replaced = false;
  {
    std::lock_guard lock(mutex_);
    replaced = baseline_.contains(path);
  }
  auto after = current(path, &*before, entry.written);
  if (!after) {
    deleted(from, entry);
    if (replaced) deleted(path, entry);
    return;
  }
  size_t moved_below = 0;
  {
    std::lock_guard lock(mutex_);
    baseline_.erase(path);
    auto moved = baseline_.extract(from);  // `from` first, then what was below it
    for (size_t i = 1; i < moved.size(); ++i) {
      FileRecord& child = moved[i];
      child.path = path + child.path.substr(from.size());
      const WatchedPath* watch = covering(*manifest_, child.path, child.type == "directory");
      if (watch == nullptr) continue;  // now outside what is watched
      child.watch = watch;
      baseline_.set(child);
      ++moved_below;
    }
    baseline_.set(*after);
  }
  Event event;
  event.action = "renamed";
  event.old_path = from;
  event.path = path;
  event.changed = differences(*before, *after);
  std::erase(event.changed, "inode");  // a rename keeps the inode; a changed one is in `after`
  event.before = std::move(before);
  event.after = std::move(after);
  if (moved_below > 0) event.detail = std::to_string(moved_below) + " entries below moved with it";
  if (replaced) event.detail += (event.detail.empty() ? "" : "; ") + std::string("replaced ") + path;
  emit(std::move(event), &entry);
}

void Monitor::compare(const std::string& path, const Pending& entry) {
  std::optional<FileRecord> before;
  {
    std::lock_guard lock(mutex_);
    before = baseline_.find(path);
  }
  auto after = current(path, before ? &*before : nullptr, entry.written);
  if (before && after && before->watch != nullptr && after->type == "directory" && before->type != "directory") {
    after.reset();  // a file replaced by a directory: gone, then created below
  }
  if (!before && !after) return;
  if (before && !after) {
    deleted(path, entry);
    if (auto again = current(path, nullptr, true)) created(std::move(*again), entry);
    return;
  }
  if (!before) {
    created(std::move(*after), entry);
    return;
  }
  updated(std::move(*before), std::move(*after), &entry);
}

bool Monitor::updated(FileRecord before, FileRecord after, const Pending* entry) {
  auto changed = differences(before, after);
  {
    std::lock_guard lock(mutex_);
    baseline_.set(after);
  }
  if (changed.empty()) return false;
  Event event;
  event.action = is_content(changed) ? "modified" : "attributes";
  event.path = after.path;
  event.changed = std::move(changed);
  event.before = std::move(before);
  event.after = std::move(after);
  emit(std::move(event), entry);
  return true;
}

void Monitor::created(FileRecord record, const Pending& entry) {
  std::string path = record.path;
  const WatchedPath* watch = record.watch;
  bool directory = record.type == "directory";
  {
    std::lock_guard lock(mutex_);
    baseline_.set(record);
  }
  Event event;
  event.action = "created";
  event.path = path;
  event.after = std::move(record);
  emit(std::move(event), &entry);
  if (!directory || !walks_into(*watch, path)) return;
  // A new directory (mkdir -p, tar -x, a tree moved in): watch it, then
  // record what is already inside (created before the watch could see it).
  watcher_->watch_directory(path);
  WatchedPath sub = *watch;
  sub.path = path;
  sub.depth = watch->depth - level_below(watch->path, path);
  Manifest one{manifest_->algorithm, {sub}};
  auto records = collect(one, root_);
  hash_files(records, root_, manifest_->algorithm, 1, nullptr);
  for (auto& child : records) {
    if (child.path == path) continue;
    const WatchedPath* watch = covering(*manifest_, child.path, child.type == "directory");
    if (watch == nullptr) continue;
    child.watch = watch;
    {
      std::lock_guard lock(mutex_);
      if (baseline_.contains(child.path)) continue;
      baseline_.set(child);
    }
    if (child.type == "directory" && walks_into(*watch, child.path)) watcher_->watch_directory(child.path);
    Event inside;
    inside.action = "created";
    inside.path = child.path;
    inside.after = std::move(child);
    emit(std::move(inside), &entry);
  }
}

void Monitor::deleted(const std::string& path, const Pending& entry) {
  std::vector<FileRecord> gone;
  {
    std::lock_guard lock(mutex_);
    gone = baseline_.extract(path);
  }
  if (gone.empty()) return;
  if (gone.front().type == "directory") watcher_->forget_tree(path);
  // Deepest first, as rm -r would report them.
  std::reverse(gone.begin() + 1, gone.end());
  std::rotate(gone.begin(), gone.begin() + 1, gone.end());
  for (auto& record : gone) {
    Event event;
    event.action = "deleted";
    event.path = record.path;
    event.before = std::move(record);
    emit(std::move(event), &entry);
  }
}

void Monitor::rescan(const std::string& tree, const std::string& why) {
  const WatchedPath* watch = covering(*manifest_, tree, true);
  if (watch == nullptr) return;
  if (!why.empty()) {
    std::lock_guard lock(mutex_);
    ++stats_.rescans;
  }
  WatchedPath sub = *watch;
  if (tree != watch->path) {
    sub.path = tree;
    sub.depth -= level_below(watch->path, tree);
  }
  Manifest one{manifest_->algorithm, {sub}};
  Pending nobody;
  size_t reported = 0;
  // Both sides stream (a tree can hold millions of files): what the baseline
  // knows and no longer exists, then what the walk finds, one by one.
  std::vector<std::string> gone;
  {
    std::lock_guard lock(mutex_);
    baseline_.visit(tree, [&](const std::string& path, std::string_view, const WatchedPath*) {
      struct stat status {};
      if (::lstat(on_disk(root_, path).c_str(), &status) != 0 && errno == ENOENT) gone.push_back(path);
    });
  }
  for (const auto& path : gone) {
    {
      std::lock_guard lock(mutex_);
      if (!baseline_.contains(path)) continue;  // went with its directory
    }
    deleted(path, nobody);
    ++reported;
  }
  std::vector<std::string> new_directories;
  walk(one, root_, [&](FileRecord&& record) {
    if (stopping_) throw Stopping{};
    if (record.type == "missing") return;
    record.watch = covering(*manifest_, record.path, record.type == "directory");
    if (record.watch == nullptr) return;
    const std::string& path = record.path;
    std::optional<FileRecord> before;
    {
      std::lock_guard lock(mutex_);
      before = baseline_.find(path);
    }
    auto after = current(path, before ? &*before : nullptr, false);
    if (!after) return;
    if (!before) {
      {
        std::lock_guard lock(mutex_);
        baseline_.set(*after);
      }
      if (after->type == "directory" && walks_into(*after->watch, path)) new_directories.push_back(path);
      Event event;
      event.action = "created";
      event.path = path;
      event.after = std::move(after);
      emit(std::move(event), nullptr);
      ++reported;
      return;
    }
    if (updated(std::move(*before), std::move(*after), nullptr)) ++reported;
  });
  if (why.empty()) {  // the check at start: the rest is watched already, and its changes are the report
    for (const auto& directory : new_directories) watcher_->watch_directory(directory);
    return;
  }
  watch_tree_directories(tree);
  Event summary;
  summary.action = "rescan";
  summary.path = tree;
  summary.detail = why + ": the tree was compared again, " + std::to_string(reported) + " changes found";
  emit(std::move(summary), nullptr);
}

void Monitor::emit(Event event, const Pending* entry) {
  if (entry != nullptr) event.pid = entry->pid, event.process = entry->process, event.uid = entry->uid;
  if (event.watch == nullptr) {
    if (event.after)
      event.watch = event.after->watch;
    else if (event.before)
      event.watch = event.before->watch;
  }
  {
    std::lock_guard lock(mutex_);
    ++stats_.events;
    event.source = stats_.source;
  }
  sink_(event);
}

}  // namespace vigil::fim
