// inotify: one watch per directory; a directory renamed inside the watched
// trees keeps its watches (the rename's two halves are paired by cookie).
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <set>
#include <system_error>
#include <unordered_map>

#include "watched_directories.h"
#include "watcher.h"

namespace vigil::fim {
namespace {

constexpr uint32_t kMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_MOVED_FROM |
                           IN_MOVED_TO | IN_DELETE_SELF | IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_ONLYDIR;

// The limit that applies to this user namespace (the same as
// fs.inotify.max_user_watches in the initial one).
size_t read_limit() {
  size_t limit = 0;
  if (!(std::ifstream("/proc/sys/user/max_inotify_watches") >> limit)) {
    std::ifstream("/proc/sys/fs/inotify/max_user_watches") >> limit;
  }
  return limit;
}

std::string join(const std::string& directory, const char* name) {
  return directory == "/" ? "/" + std::string(name) : directory + "/" + name;
}

class InotifyWatcher : public Watcher {
 public:
  InotifyWatcher(int fd, std::string prefix) : fd_(fd), prefix_(std::move(prefix)), limit_(read_limit()) {}
  ~InotifyWatcher() override { ::close(fd_); }

  const char* name() const override { return "inotify"; }
  int fd() const override { return fd_; }
  size_t watches() const override { return watched_.size(); }
  size_t watch_limit() const override { return limit_; }

  std::string watch_directory(const std::string& directory) override {
    std::string real = prefix_ + directory;
    int watch = ::inotify_add_watch(fd_, real.c_str(), kMask);
    if (watch < 0) {
      if (errno == ENOSPC) {
        return "the inotify watch limit is reached (fs.inotify.max_user_watches = " + std::to_string(limit_) + ", " +
               std::to_string(watches()) + " used by this agent): raise it or use fanotify (run as root)";
      }
      return std::generic_category().message(errno);
    }
    watched_.add(watch, directory);
    return "";
  }

  void forget_tree(const std::string& directory) override {
    for (int watch : watched_.take_tree(directory)) ::inotify_rm_watch(fd_, watch);
  }

  size_t read(std::vector<Change>& out) override {
    alignas(struct inotify_event) char buffer[64 * 1024];
    size_t records = 0;
    for (;;) {
      ssize_t got = ::read(fd_, buffer, sizeof(buffer));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return records;  // EAGAIN: drained
      for (char* at = buffer; at < buffer + got; ++records) {
        const auto* event = reinterpret_cast<const struct inotify_event*>(at);
        at += sizeof(struct inotify_event) + event->len;
        translate(*event, out);
      }
    }
  }

 private:
  void translate(const struct inotify_event& event, std::vector<Change>& out) {
    if (event.mask & IN_Q_OVERFLOW) {
      out.push_back(Change::of(Change::kOverflow));
      return;
    }
    const std::string* known = watched_.path_of(event.wd);
    if (known == nullptr) return;  // a watch we already forgot
    const std::string directory = *known;
    if (event.mask & (IN_IGNORED | IN_UNMOUNT)) {
      // The kernel dropped the watch: the directory was deleted (its parent
      // reports that) or unmounted, or it is otherwise gone from our view.
      bool deleted = deleted_.erase(event.wd) > 0;
      watched_.take(event.wd);
      if (!deleted) out.push_back(Change::of(Change::kLost, directory));
      return;
    }
    Change change;
    change.is_directory = (event.mask & IN_ISDIR) != 0;
    if (event.len == 0 || event.name[0] == '\0') {  // the watched directory itself
      change.path = directory;
      change.is_directory = true;
      if (event.mask & IN_DELETE_SELF) {
        deleted_.insert(event.wd);
        change.kind = Change::kDeleted;
      } else if (event.mask & IN_ATTRIB) {
        change.kind = Change::kAttributes;
      } else {
        return;
      }
      out.push_back(change);
      return;
    }
    change.path = join(directory, event.name);
    change.cookie = event.cookie;
    if (event.mask & IN_MOVED_FROM) {
      change.kind = Change::kMovedFrom;
      if (change.is_directory) {
        if (moving_.size() > 1024) moving_.clear();
        moving_[event.cookie] = change.path;
      }
    } else if (event.mask & IN_MOVED_TO) {
      change.kind = Change::kMovedTo;
      auto from = moving_.find(event.cookie);
      if (change.is_directory && from != moving_.end()) {
        watched_.rename_tree(from->second, change.path);
        moving_.erase(from);
      }
    } else if (event.mask & IN_CREATE) {
      change.kind = Change::kCreated;
    } else if (event.mask & IN_DELETE) {
      change.kind = Change::kDeleted;
    } else if (event.mask & IN_CLOSE_WRITE) {
      change.kind = Change::kClosed;
    } else if (event.mask & IN_MODIFY) {
      change.kind = Change::kModified;
    } else if (event.mask & IN_ATTRIB) {
      change.kind = Change::kAttributes;
    } else {
      return;
    }
    out.push_back(std::move(change));
  }

  int fd_;
  std::string prefix_;
  size_t limit_;
  WatchedDirectories<int> watched_;
  std::unordered_map<uint32_t, std::string> moving_;  // cookie → directory path, until its second half
  std::set<int> deleted_;                             // watches whose directory was deleted
};

}  // namespace

std::unique_ptr<Watcher> make_inotify_watcher(const std::filesystem::path& root, std::string& why_not) {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    why_not = "inotify: " + std::generic_category().message(errno) +
              (errno == EMFILE ? " (fs.inotify.max_user_instances reached)" : "");
    return nullptr;
  }
  std::string prefix = root.empty() || root == "/" ? "" : root.string();
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return std::make_unique<InotifyWatcher>(fd, prefix);
}

}  // namespace vigil::fim
