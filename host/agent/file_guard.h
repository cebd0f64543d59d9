// Self-protection's file guard (docs/self-protection.md), run by the
// supervisor: the agent's files (plugins, executables, the secret key) are
// copied into <data>/protected when protection comes on, watched with
// inotify, and put back (bytes, mode, owner) whenever they are deleted,
// replaced, changed or re-permissioned. A directory removed whole is made
// again. The copies and their index survive restarts, so a file changed
// while vigild was down is put back at its next start; turning protection
// off (or an unlock with a platform key) forgets them, and the files on disk
// then become the new reference.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace vigil {

class FileGuard {
 public:
  explicit FileGuard(std::filesystem::path copy_dir) : copy_dir_(std::move(copy_dir)) {}
  ~FileGuard() { stop(); }
  FileGuard(const FileGuard&) = delete;
  FileGuard& operator=(const FileGuard&) = delete;

  // Guards `files`. When copies of an earlier guard exist, the files are put
  // back to them first; otherwise the files as they are become the reference.
  // Returns what it did, one line each, for the log.
  std::vector<std::string> start(const std::vector<std::filesystem::path>& files);
  // Stops watching; with `forget`, deletes the copies (protection is off).
  void stop(bool forget = false);
  bool running() const { return inotify_fd_ >= 0; }

  // For poll(): readable when something under a watched directory changed.
  int fd() const { return inotify_fd_; }
  // Reads the pending changes and puts back what was touched.
  std::vector<std::string> handle_changes();

 private:
  struct Guarded {
    std::string sha256;
    mode_t mode = 0;
    uid_t uid = 0;
    gid_t gid = 0;
  };
  std::filesystem::path index_file() const { return copy_dir_ / "index"; }
  bool read_index();
  std::string take_copies(const std::vector<std::filesystem::path>& files);
  void watch(const std::filesystem::path& dir);
  // Puts `file` back when it differs from its copy; returns what it did (empty: nothing to do).
  std::string check(const std::filesystem::path& file);
  std::vector<std::string> check_dir(const std::filesystem::path& dir);

  std::filesystem::path copy_dir_;
  std::map<std::filesystem::path, Guarded> files_;
  std::map<int, std::filesystem::path> watches_;  // inotify watch descriptor -> directory
  int inotify_fd_ = -1;
};

}  // namespace vigil
