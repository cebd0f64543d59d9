// fanotify with filesystem marks and directory-fid + name reports: one mark
// per filesystem sees every change on it, with the process that made it. The
// kernel names a directory by a file handle; we turn it into a path through
// open_by_handle_at and remember directory paths until a directory moves.
#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <system_error>
#include <unordered_map>

#include "watcher.h"

namespace vigil::fim {
namespace {

constexpr uint64_t kMask =
    FAN_CREATE | FAN_DELETE | FAN_MODIFY | FAN_ATTRIB | FAN_CLOSE_WRITE | FAN_RENAME | FAN_DELETE_SELF | FAN_ONDIR;

std::string fsid_key(const __kernel_fsid_t& fsid) {
  return std::string(reinterpret_cast<const char*>(&fsid), sizeof(fsid));
}

class FanotifyWatcher : public Watcher {
 public:
  FanotifyWatcher(int fd, std::string prefix) : fd_(fd), prefix_(std::move(prefix)) {}
  ~FanotifyWatcher() override {
    for (auto& [fsid, mount] : mounts_) ::close(mount);
    ::close(fd_);
  }

  const char* name() const override { return "fanotify"; }
  int fd() const override { return fd_; }
  size_t watches() const override { return 0; }
  size_t watch_limit() const override { return 0; }

  std::string watch_directory(const std::string& directory) override {
    std::string real = prefix_ + directory;
    struct statfs info {};
    if (::statfs(real.c_str(), &info) != 0) return std::generic_category().message(errno);
    __kernel_fsid_t fsid;
    static_assert(sizeof(fsid) == sizeof(info.f_fsid));
    std::memcpy(&fsid, &info.f_fsid, sizeof(fsid));
    std::string key = fsid_key(fsid);
    if (mounts_.count(key)) return "";  // its filesystem is marked already
    if (::fanotify_mark(fd_, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, kMask, AT_FDCWD, real.c_str()) != 0) {
      int problem = errno;
      if (problem == EINVAL) return "the kernel lacks FAN_RENAME or filesystem marks (Linux 5.17+)";
      // Since Linux 5.13 anyone may open fanotify, but only CAP_SYS_ADMIN may mark a filesystem.
      if (problem == EPERM) return "fanotify filesystem marks need CAP_SYS_ADMIN (run the agent as root)";
      if (problem == ENODEV || problem == EXDEV || problem == EOPNOTSUPP)
        return "the filesystem of " + directory + " cannot report file handles";
      return std::generic_category().message(problem);
    }
    int mount = ::open(real.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (mount < 0) return std::generic_category().message(errno);
    mounts_[key] = mount;
    return "";
  }

  // The mark is per filesystem: paths outside the watched trees are dropped by the monitor.
  void forget_tree(const std::string&) override { directories_.clear(); }

  void read(std::vector<Change>& out) override {
    alignas(struct fanotify_event_metadata) char buffer[256 * 1024];
    processes_.clear();
    for (;;) {
      ssize_t got = ::read(fd_, buffer, sizeof(buffer));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return;
      // Events are only 4-byte aligned (names make their lengths vary): each
      // header is copied out rather than read in place.
      for (size_t offset = 0; offset + sizeof(struct fanotify_event_metadata) <= static_cast<size_t>(got);) {
        struct fanotify_event_metadata event {};
        std::memcpy(&event, buffer + offset, sizeof(event));
        if (event.event_len < sizeof(event) || offset + event.event_len > static_cast<size_t>(got)) break;
        const char* raw = buffer + offset;
        offset += event.event_len;
        if (event.vers != FANOTIFY_METADATA_VERSION) continue;
        if (event.mask & FAN_Q_OVERFLOW) {
          out.push_back(Change::of(Change::kOverflow));
          continue;
        }
        translate(event, raw, out);
      }
    }
  }

 private:
  struct Process {
    std::string executable;
    int64_t uid = -1;
  };

  // `raw` is where the event starts in the read buffer (its info records follow the header).
  void translate(const struct fanotify_event_metadata& event, const char* raw, std::vector<Change>& out) {
    std::string path, old_path, new_path;
    const char* at = raw + event.metadata_len;
    const char* end = raw + event.event_len;
    while (at + sizeof(struct fanotify_event_info_header) <= end) {
      const auto* header = reinterpret_cast<const struct fanotify_event_info_header*>(at);
      if (header->len == 0 || at + header->len > end) break;
      if (header->info_type == FAN_EVENT_INFO_TYPE_DFID_NAME ||
          header->info_type == FAN_EVENT_INFO_TYPE_OLD_DFID_NAME ||
          header->info_type == FAN_EVENT_INFO_TYPE_NEW_DFID_NAME) {
        std::string resolved = resolve(*reinterpret_cast<const struct fanotify_event_info_fid*>(at), header->len);
        if (header->info_type == FAN_EVENT_INFO_TYPE_OLD_DFID_NAME) {
          old_path = resolved;
        } else if (header->info_type == FAN_EVENT_INFO_TYPE_NEW_DFID_NAME) {
          new_path = resolved;
        } else {
          path = resolved;
        }
      }
      at += header->len;
    }
    if (event.fd >= 0) ::close(event.fd);  // not sent in fid mode; closed should one come
    Change change;
    change.is_directory = (event.mask & FAN_ONDIR) != 0;
    change.pid = event.pid;
    const Process& process = who(event.pid);
    change.process = process.executable;
    change.uid = process.uid;
    if (event.mask & FAN_RENAME) {
      if (change.is_directory) directories_.clear();  // cached paths below it are stale
      if (old_path.empty() && new_path.empty()) return;
      Change renamed = change;
      if (old_path.empty()) {
        renamed.kind = Change::kCreated, renamed.path = new_path;  // moved in from outside the view
      } else if (new_path.empty()) {
        renamed.kind = Change::kDeleted, renamed.path = old_path;  // moved out
      } else {
        renamed.kind = Change::kRenamed, renamed.path = old_path, renamed.new_path = new_path;
      }
      out.push_back(std::move(renamed));
    }
    if (path.empty()) return;
    change.path = path;
    auto add = [&](uint64_t bit, Change::Kind kind) {
      if (event.mask & bit) {
        change.kind = kind;
        out.push_back(change);
      }
    };
    add(FAN_CREATE, Change::kCreated);
    add(FAN_MODIFY, Change::kModified);
    add(FAN_ATTRIB, Change::kAttributes);
    add(FAN_CLOSE_WRITE, Change::kClosed);
    add(FAN_DELETE | FAN_DELETE_SELF, Change::kDeleted);
  }

  // "" when the directory is gone or outside the inspected root.
  std::string resolve(const struct fanotify_event_info_fid& info, size_t length) {
    const auto* handle = reinterpret_cast<const struct file_handle*>(info.handle);
    size_t handle_size = sizeof(struct file_handle) + handle->handle_bytes;
    if (offsetof(struct fanotify_event_info_fid, handle) + handle_size >= length) return "";
    const char* name = reinterpret_cast<const char*>(info.handle) + handle_size;
    std::string key = fsid_key(info.fsid) + std::string(reinterpret_cast<const char*>(handle), handle_size);
    auto cached = directories_.find(key);
    std::string directory;
    if (cached != directories_.end()) {
      directory = cached->second;
    } else {
      auto mount = mounts_.find(fsid_key(info.fsid));
      if (mount == mounts_.end()) return "";
      int fd = ::open_by_handle_at(mount->second, const_cast<struct file_handle*>(handle), O_PATH | O_CLOEXEC);
      if (fd < 0) return "";  // deleted meanwhile
      char target[4096];
      ssize_t size = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), target, sizeof(target));
      ::close(fd);
      if (size <= 0 || static_cast<size_t>(size) >= sizeof(target)) return "";
      std::string real(target, static_cast<size_t>(size));
      if (real.size() < prefix_.size() || real.compare(0, prefix_.size(), prefix_) != 0) real.clear();
      if (!real.empty() && real.size() > prefix_.size() && real[prefix_.size()] != '/') real.clear();
      if (!real.empty())
        directory = prefix_.empty() ? real : (real.size() == prefix_.size() ? "/" : real.substr(prefix_.size()));
      if (directories_.size() > 65536) directories_.clear();
      directories_[key] = directory;
    }
    if (directory.empty()) return "";
    if (std::strcmp(name, ".") == 0 || name[0] == '\0') return directory;
    return directory == "/" ? "/" + std::string(name) : directory + "/" + name;
  }

  const Process& who(int32_t pid) {
    auto known = processes_.find(pid);
    if (known != processes_.end()) return known->second;
    Process process;
    std::string proc = "/proc/" + std::to_string(pid);
    char target[4096];
    ssize_t size = ::readlink((proc + "/exe").c_str(), target, sizeof(target));
    if (size > 0 && static_cast<size_t>(size) < sizeof(target)) process.executable.assign(target, size);
    struct stat info {};
    if (::stat(proc.c_str(), &info) == 0) process.uid = info.st_uid;
    return processes_[pid] = process;
  }

  int fd_;
  std::string prefix_;
  std::map<std::string, int> mounts_;                         // fsid → a directory fd on it
  std::unordered_map<std::string, std::string> directories_;  // fsid + handle → path ("" = outside)
  std::unordered_map<int32_t, Process> processes_;            // within one read
};

}  // namespace

std::unique_ptr<Watcher> make_fanotify_watcher(const std::filesystem::path& root, std::string& why_not) {
  int fd = ::fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME,
                           O_RDONLY | O_LARGEFILE | O_CLOEXEC);
  if (fd < 0) {
    why_not = errno == EPERM    ? "fanotify needs CAP_SYS_ADMIN (run the agent as root)"
              : errno == EINVAL ? "the kernel lacks fanotify name reporting (Linux 5.9+)"
                                : "fanotify: " + std::generic_category().message(errno);
    return nullptr;
  }
  std::string prefix = root.empty() || root == "/" ? "" : std::filesystem::weakly_canonical(root).string();
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return std::make_unique<FanotifyWatcher>(fd, prefix);
}

}  // namespace vigil::fim
