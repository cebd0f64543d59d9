// The supervisor's file guard: copies, an index, inotify, and putting back.
#include "agent/file_guard.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include "base/error_text.h"
#include "vigil/crypto/digest.h"

namespace vigil {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t kDirEvents = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_MODIFY |
                                IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

// Writes `bytes` as `file` in one rename, with `mode` and owner.
std::string put_back(const fs::path& file, const std::string& bytes, mode_t mode, uid_t uid, gid_t gid) {
  std::error_code error;
  fs::create_directories(file.parent_path(), error);
  if (fs::is_directory(fs::symlink_status(file, error))) fs::remove_all(file, error);
  fs::path temporary = file.parent_path() / ("." + file.filename().string() + ".vigil-restore");
  ::unlink(temporary.c_str());
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot write " + temporary.string() + ": " + error_text(errno);
  bool written = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  written = written && ::fchown(fd, uid, gid) == 0 && ::fchmod(fd, mode) == 0 && ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (!written || ::rename(temporary.c_str(), file.c_str()) != 0) {
    if (written) saved = errno;
    ::unlink(temporary.c_str());
    return "cannot put back " + file.string() + ": " + error_text(saved);
  }
  return {};
}

std::string read_all(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

}  // namespace

std::vector<std::string> FileGuard::start(const std::vector<fs::path>& files) {
  stop();
  std::vector<std::string> done;
  std::error_code error;
  fs::create_directories(copy_dir_, error);
  fs::permissions(copy_dir_, fs::perms::owner_all, error);
  bool earlier = read_index();
  std::vector<fs::path> new_files;
  for (const fs::path& file : files) {
    if (!files_.contains(file)) new_files.push_back(file);
  }
  if (std::string problem = take_copies(new_files); !problem.empty()) done.push_back(problem);
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    done.push_back("cannot watch the agent's files: inotify_init1: " + error_text(errno));
    return done;
  }
  std::set<fs::path> dirs;
  for (const auto& [file, guarded] : files_) dirs.insert(file.parent_path());
  for (const fs::path& dir : dirs) {
    if (earlier) {
      for (std::string& line : check_dir(dir)) done.push_back(std::move(line));
    }
    watch(dir);
  }
  done.push_back("self-protection guards " + std::to_string(files_.size()) + " file(s) in " +
                 std::to_string(dirs.size()) + " folder(s)");
  return done;
}

void FileGuard::stop(bool forget) {
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  inotify_fd_ = -1;
  watches_.clear();
  files_.clear();
  if (forget) {
    std::error_code error;
    fs::remove_all(copy_dir_, error);
  }
}

bool FileGuard::read_index() {
  std::ifstream index(index_file());
  for (std::string line; std::getline(index, line);) {
    std::istringstream fields(line);
    Guarded guarded;
    unsigned mode = 0;
    std::string path;
    fields >> guarded.sha256 >> std::oct >> mode >> std::dec >> guarded.uid >> guarded.gid;
    std::getline(fields >> std::ws, path);
    if (!fields.fail() && !path.empty() && fs::exists(copy_dir_ / guarded.sha256)) {
      guarded.mode = static_cast<mode_t>(mode);
      files_[path] = guarded;
    }
  }
  return !files_.empty();
}

std::string FileGuard::take_copies(const std::vector<fs::path>& files) {
  std::string problems;
  for (const fs::path& file : files) {
    struct stat info {};
    Result<std::string> sha = crypto::hash_file(file, "sha256", crypto::Symlinks::kRefuse);
    if (::lstat(file.c_str(), &info) != 0 || !S_ISREG(info.st_mode) || !sha) {
      problems += (problems.empty() ? "not guarded (cannot read): " : ", ") + file.string();
      continue;
    }
    fs::path copy = copy_dir_ / *sha;
    std::error_code error;
    if (!fs::exists(copy, error)) {
      fs::copy_file(file, copy, error);
      fs::permissions(copy, fs::perms::owner_read, error);
    }
    if (error) {
      problems += (problems.empty() ? "not guarded (cannot copy): " : ", ") + file.string();
      continue;
    }
    files_[file] = {*sha, static_cast<mode_t>(info.st_mode & 07777), info.st_uid, info.st_gid};
  }
  std::ofstream index(index_file(), std::ios::trunc);
  for (const auto& [file, guarded] : files_) {
    index << guarded.sha256 << ' ' << std::oct << guarded.mode << std::dec << ' ' << guarded.uid << ' ' << guarded.gid
          << ' ' << file.string() << '\n';
  }
  return problems;
}

void FileGuard::watch(const fs::path& dir) {
  int wd = ::inotify_add_watch(inotify_fd_, dir.c_str(), kDirEvents);
  if (wd >= 0) watches_[wd] = dir;
}

std::string FileGuard::check(const fs::path& file) {
  auto found = files_.find(file);
  if (found == files_.end()) return {};
  const Guarded& want = found->second;
  struct stat info {};
  std::string why;
  if (::lstat(file.c_str(), &info) != 0) {
    why = "deleted";
  } else if (!S_ISREG(info.st_mode)) {
    why = "replaced by something that is not a file";
  } else {
    Result<std::string> sha = crypto::hash_file(file, "sha256", crypto::Symlinks::kRefuse);
    if (!sha || *sha != want.sha256) why = "changed";
  }
  if (why.empty()) {
    if ((info.st_mode & 07777) == want.mode && info.st_uid == want.uid && info.st_gid == want.gid) return {};
    if (::chown(file.c_str(), want.uid, want.gid) != 0 || ::chmod(file.c_str(), want.mode) != 0) {
      return "self-protection cannot put back the mode of " + file.string() + ": " + error_text(errno);
    }
    return "self-protection put back the mode and owner of " + file.string();
  }
  std::string failed = put_back(file, read_all(copy_dir_ / want.sha256), want.mode, want.uid, want.gid);
  return failed.empty() ? "self-protection restored " + file.string() + " (" + why + ")"
                        : "self-protection: " + file.string() + " was " + why + " and " + failed;
}

std::vector<std::string> FileGuard::check_dir(const fs::path& dir) {
  std::vector<std::string> done;
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    fs::create_directories(dir, error);
    done.push_back("self-protection made " + dir.string() + " again (" +
                   (error ? "failed: " + error.message() : "it was removed") + ")");
  }
  for (const auto& [file, guarded] : files_) {
    if (file.parent_path() != dir) continue;
    if (std::string line = check(file); !line.empty()) done.push_back(std::move(line));
  }
  return done;
}

std::vector<std::string> FileGuard::handle_changes() {
  std::vector<std::string> done;
  std::set<fs::path> files, dirs;
  alignas(inotify_event) char buffer[16384];
  for (;;) {
    ssize_t got = ::read(inotify_fd_, buffer, sizeof(buffer));
    if (got <= 0) break;
    for (char* at = buffer; at < buffer + got;) {
      const auto* event = reinterpret_cast<const inotify_event*>(at);
      at += sizeof(inotify_event) + event->len;
      if (event->mask & IN_Q_OVERFLOW) {
        for (const auto& [wd, dir] : watches_) dirs.insert(dir);
        continue;
      }
      auto watched = watches_.find(event->wd);
      if (watched == watches_.end()) continue;
      if (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
        dirs.insert(watched->second);
        if (!(event->mask & IN_IGNORED)) ::inotify_rm_watch(inotify_fd_, event->wd);
        watches_.erase(watched);
      } else if (event->len > 0) {
        files.insert(watched->second / event->name);
      }
    }
  }
  for (const fs::path& dir : dirs) {
    for (std::string& line : check_dir(dir)) done.push_back(std::move(line));
    bool watched = false;
    for (const auto& [wd, path] : watches_) watched |= path == dir;
    if (!watched) watch(dir);
  }
  for (const fs::path& file : files) {
    if (dirs.contains(file.parent_path())) continue;
    if (std::string line = check(file); !line.empty()) done.push_back(std::move(line));
  }
  return done;
}

}  // namespace vigil
