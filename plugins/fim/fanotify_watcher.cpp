// fanotify with one inode mark per watched directory (FAN_EVENT_ON_CHILD for
// its entries), directory-fid + name reports and FAN_RENAME: the kernel
// queues only changes in watched directories, each with the process that
// made it. A filesystem mark would queue every change on the filesystem for
// the agent to filter out, a tax on every write it does not watch (measured
// by FanotifyMarkCost in tests/bench/fim_realtime_bench.cpp; see
// docs/file-integrity-monitoring.md). The kernel names a directory by its
// file handle, which we took when marking it.
#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <system_error>
#include <unordered_map>

#include "watched_directories.h"
#include "watcher.h"

namespace vigil::fim {
namespace {

constexpr uint64_t kMask = FAN_CREATE | FAN_DELETE | FAN_MODIFY | FAN_ATTRIB | FAN_CLOSE_WRITE | FAN_RENAME |
                           FAN_DELETE_SELF | FAN_ONDIR | FAN_EVENT_ON_CHILD;

std::string fsid_key(const __kernel_fsid_t& fsid) {
  return std::string(reinterpret_cast<const char*>(&fsid), sizeof(fsid));
}

// A directory's identity as events carry it: filesystem id, then the file handle.
std::string directory_key(const __kernel_fsid_t& fsid, const struct file_handle& handle) {
  return fsid_key(fsid) + std::string(reinterpret_cast<const char*>(&handle), sizeof(handle) + handle.handle_bytes);
}

// The limit this user's marks count against (all fanotify groups together).
size_t read_mark_limit() {
  size_t limit = 0;
  std::ifstream("/proc/sys/fs/fanotify/max_user_marks") >> limit;
  return limit;
}

class FanotifyWatcher : public Watcher {
 public:
  FanotifyWatcher(int fd, std::string prefix) : fd_(fd), prefix_(std::move(prefix)), limit_(read_mark_limit()) {}
  ~FanotifyWatcher() override {
    for (auto& [fsid, mount] : mounts_) ::close(mount);
    ::close(fd_);
  }

  const char* name() const override { return "fanotify"; }
  int fd() const override { return fd_; }
  size_t watches() const override { return watched_.size(); }
  size_t watch_limit() const override { return limit_; }

  std::string watch_directory(const std::string& directory) override {
    std::string real = prefix_ + directory;
    std::string key, problem = key_of(real, key);
    if (!problem.empty()) return problem;
    if (::fanotify_mark(fd_, FAN_MARK_ADD | FAN_MARK_ONLYDIR | FAN_MARK_DONT_FOLLOW, kMask, AT_FDCWD, real.c_str()) !=
        0) {
      int error = errno;
      if (error == ENOSPC) {
        return "the fanotify mark limit is reached (fs.fanotify.max_user_marks = " + std::to_string(limit_) + ", " +
               std::to_string(watches()) + " used by this agent): raise it";
      }
      if (error == EINVAL) return "the kernel lacks FAN_RENAME (Linux 5.17+)";
      if (error == ENODEV || error == EXDEV || error == EOPNOTSUPP)
        return "the filesystem of " + directory + " cannot report file handles";
      return std::generic_category().message(error);
    }
    watched_.add(key, directory);
    return "";
  }

  void forget_tree(const std::string& directory) override {
    for (const auto& key : watched_.take_tree(directory)) unmark(key);
  }

  size_t read(std::vector<Change>& out) override {
    alignas(struct fanotify_event_metadata) char buffer[256 * 1024];
    processes_.clear();
    size_t records = 0;
    for (;;) {
      ssize_t got = ::read(fd_, buffer, sizeof(buffer));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return records;
      // Events are only 4-byte aligned (names make their lengths vary): each
      // header is copied out rather than read in place.
      for (size_t offset = 0; offset + sizeof(struct fanotify_event_metadata) <= static_cast<size_t>(got);) {
        struct fanotify_event_metadata event {};
        std::memcpy(&event, buffer + offset, sizeof(event));
        if (event.event_len < sizeof(event) || offset + event.event_len > static_cast<size_t>(got)) break;
        const char* raw = buffer + offset;
        offset += event.event_len;
        ++records;
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

  // "" with `key` set, or why the directory cannot be marked.
  std::string key_of(const std::string& real, std::string& key) {
    struct statfs info {};
    if (::statfs(real.c_str(), &info) != 0) return std::generic_category().message(errno);
    __kernel_fsid_t fsid;
    static_assert(sizeof(fsid) == sizeof(info.f_fsid));
    std::memcpy(&fsid, &info.f_fsid, sizeof(fsid));
    alignas(struct file_handle) char storage[sizeof(struct file_handle) + MAX_HANDLE_SZ];
    auto* handle = reinterpret_cast<struct file_handle*>(storage);
    handle->handle_bytes = MAX_HANDLE_SZ;
    int mount_id = 0;
    if (::name_to_handle_at(AT_FDCWD, real.c_str(), handle, &mount_id, 0) != 0) {
      if (errno == EOPNOTSUPP)
        return "the filesystem of " + real.substr(prefix_.size()) + " cannot report file handles";
      return std::generic_category().message(errno);
    }
    key = directory_key(fsid, *handle);
    // A directory on each filesystem, to reopen a marked directory by its
    // handle when it must be unmarked after moving out of the trees.
    if (!mounts_.count(fsid_key(fsid))) {
      int mount = ::open(real.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (mount < 0) return std::generic_category().message(errno);
      mounts_[fsid_key(fsid)] = mount;
    }
    return "";
  }

  // A deleted directory lost its mark with its inode; one moved out of the trees still has it.
  void unmark(const std::string& key) {
    auto mount = mounts_.find(key.substr(0, sizeof(__kernel_fsid_t)));
    if (mount == mounts_.end()) return;
    std::string handle = key.substr(sizeof(__kernel_fsid_t));
    int fd = ::open_by_handle_at(mount->second, reinterpret_cast<struct file_handle*>(handle.data()),
                                 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fanotify_mark(fd_, FAN_MARK_REMOVE, kMask, fd, nullptr);
    ::close(fd);
  }

  // `raw` is where the event starts in the read buffer (its info records follow the header).
  void translate(const struct fanotify_event_metadata& event, const char* raw, std::vector<Change>& out) {
    std::string path, old_path, new_path;
    const char* at = raw + event.metadata_len;
    const char* end = raw + event.event_len;
    while (at + sizeof(struct fanotify_event_info_header) <= end) {
      struct fanotify_event_info_header header {};
      std::memcpy(&header, at, sizeof(header));
      if (header.len == 0 || at + header.len > end) break;
      if (header.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME || header.info_type == FAN_EVENT_INFO_TYPE_OLD_DFID_NAME ||
          header.info_type == FAN_EVENT_INFO_TYPE_NEW_DFID_NAME) {
        std::string resolved = resolve(at, header.len);
        if (header.info_type == FAN_EVENT_INFO_TYPE_OLD_DFID_NAME) {
          old_path = resolved;
        } else if (header.info_type == FAN_EVENT_INFO_TYPE_NEW_DFID_NAME) {
          new_path = resolved;
        } else {
          path = resolved;
        }
      }
      at += header.len;
    }
    if (event.fd >= 0) ::close(event.fd);  // not sent in fid mode; closed should one come
    Change change;
    change.is_directory = (event.mask & FAN_ONDIR) != 0;
    change.pid = event.pid;
    const Process& process = who(event.pid);
    change.process = process.executable;
    change.uid = process.uid;
    if (event.mask & FAN_RENAME) {
      if (old_path.empty() && new_path.empty()) return;
      // Only the sides in watched directories are named: "" for the other.
      Change renamed = change;
      if (new_path.empty()) {
        renamed.kind = Change::kDeleted, renamed.path = old_path;  // moved out
      } else {
        renamed.kind = Change::kRenamed, renamed.path = old_path, renamed.new_path = new_path;
        if (change.is_directory && !old_path.empty()) watched_.rename_tree(old_path, new_path);  // marks move along
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

  // The path of a directory-fid + name record, "" for a directory we no
  // longer watch (events queued before it was forgotten).
  std::string resolve(const char* record, size_t length) {
    size_t handle_at = offsetof(struct fanotify_event_info_fid, handle);
    struct file_handle handle {};
    if (handle_at + sizeof(handle) > length) return "";
    std::memcpy(&handle, record + handle_at, sizeof(handle));
    size_t name_at = handle_at + sizeof(handle) + handle.handle_bytes;
    if (name_at >= length || std::memchr(record + name_at, '\0', length - name_at) == nullptr) return "";
    __kernel_fsid_t fsid;
    std::memcpy(&fsid, record + offsetof(struct fanotify_event_info_fid, fsid), sizeof(fsid));
    std::string key = fsid_key(fsid) + std::string(record + handle_at, sizeof(handle) + handle.handle_bytes);
    const std::string* directory = watched_.path_of(key);
    if (directory == nullptr) return "";
    const char* name = record + name_at;
    if (std::strcmp(name, ".") == 0 || name[0] == '\0') return *directory;
    return *directory == "/" ? "/" + std::string(name) : *directory + "/" + name;
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
  size_t limit_;
  std::map<std::string, int> mounts_;  // fsid → a directory fd on it
  WatchedDirectories<std::string> watched_;
  std::unordered_map<int32_t, Process> processes_;  // within one read
};

}  // namespace

std::unique_ptr<Watcher> make_fanotify_watcher(const std::filesystem::path& root, std::string& why_not) {
  int fd = ::fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME,
                           O_RDONLY | O_LARGEFILE | O_CLOEXEC);
  if (fd < 0) {
    why_not = errno == EINVAL ? "the kernel lacks fanotify name reporting (Linux 5.9+)"
                              : "fanotify: " + std::generic_category().message(errno);
    return nullptr;
  }
  // Since Linux 5.13 anyone may use inode marks, but the kernel hides the pid
  // of other processes from a group made without CAP_SYS_ADMIN: no who-data,
  // and then inotify serves as well. Such a group may not ask for an unlimited
  // queue, which tells the two apart.
  int probe = ::fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_REPORT_DFID_NAME | FAN_UNLIMITED_QUEUE, O_RDONLY);
  if (probe < 0) {
    why_not = "fanotify gives who-data only with CAP_SYS_ADMIN (run the agent as root)";
    ::close(fd);
    return nullptr;
  }
  ::close(probe);
  std::string prefix = root.empty() || root == "/" ? "" : root.string();
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return std::make_unique<FanotifyWatcher>(fd, prefix);
}

}  // namespace vigil::fim
