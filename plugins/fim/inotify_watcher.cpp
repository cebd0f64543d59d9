// inotify: one watch per directory. Watches follow a directory's inode, so a
// directory renamed inside the watched trees keeps its watches and only the
// path names change (paired by the rename's cookie).
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <map>
#include <set>
#include <system_error>
#include <unordered_map>

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

bool is_in(const std::string& path, const std::string& directory) {
  return path == directory || (path.size() > directory.size() && path.compare(0, directory.size(), directory) == 0 &&
                               (directory == "/" || path[directory.size()] == '/'));
}

class InotifyWatcher : public Watcher {
 public:
  InotifyWatcher(int fd, std::string prefix) : fd_(fd), prefix_(std::move(prefix)), limit_(read_limit()) {}
  ~InotifyWatcher() override { ::close(fd_); }

  const char* name() const override { return "inotify"; }
  int fd() const override { return fd_; }
  size_t watches() const override { return path_to_watch_.size(); }
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
    auto known = watch_to_path_.find(watch);
    if (known != watch_to_path_.end()) path_to_watch_.erase(known->second);  // same inode, new name
    watch_to_path_[watch] = directory;
    path_to_watch_[directory] = watch;
    return "";
  }

  void forget_tree(const std::string& directory) override {
    for (auto it = path_to_watch_.lower_bound(directory); it != path_to_watch_.end() && is_in(it->first, directory);) {
      ::inotify_rm_watch(fd_, it->second);
      watch_to_path_.erase(it->second);
      it = path_to_watch_.erase(it);
    }
  }

  void read(std::vector<Change>& out) override {
    alignas(struct inotify_event) char buffer[64 * 1024];
    for (;;) {
      ssize_t got = ::read(fd_, buffer, sizeof(buffer));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return;  // EAGAIN: drained
      for (char* at = buffer; at < buffer + got;) {
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
    auto known = watch_to_path_.find(event.wd);
    if (known == watch_to_path_.end()) return;  // a watch we already forgot
    const std::string directory = known->second;
    if (event.mask & (IN_IGNORED | IN_UNMOUNT)) {
      // The kernel dropped the watch: the directory was deleted (its parent
      // reports that) or unmounted, or it is otherwise gone from our view.
      bool deleted = deleted_.erase(event.wd) > 0;
      path_to_watch_.erase(directory);
      watch_to_path_.erase(known);
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
        rename_tree(from->second, change.path);
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

  // A watched directory moved from `from` to `to`: its watches (and those of
  // everything below) now stand for the new names.
  void rename_tree(const std::string& from, const std::string& to) {
    std::vector<std::pair<std::string, int>> moved;
    for (auto it = path_to_watch_.lower_bound(from); it != path_to_watch_.end() && is_in(it->first, from);) {
      moved.emplace_back(to + it->first.substr(from.size()), it->second);
      it = path_to_watch_.erase(it);
    }
    for (auto& [path, watch] : moved) {
      watch_to_path_[watch] = path;
      path_to_watch_[path] = watch;
    }
  }

  int fd_;
  std::string prefix_;
  size_t limit_;
  std::unordered_map<int, std::string> watch_to_path_;
  std::map<std::string, int> path_to_watch_;
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
