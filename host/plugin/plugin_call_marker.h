// Marks, on disk, that a module's code is running (a file named after the
// module in the marker directory), so that if the worker dies meanwhile the
// supervisor knows which module to charge with the crash.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace vigil {

class PluginCallMarker {
 public:
  // An empty `dir` disables marking (in-process tests).
  PluginCallMarker(const std::filesystem::path& dir, const std::string& module) {
    if (dir.empty()) return;
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    path_ = dir / module;
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) ::close(fd);
  }
  ~PluginCallMarker() {
    if (path_.empty()) return;
    std::error_code error;
    std::filesystem::remove(path_, error);
  }
  PluginCallMarker(const PluginCallMarker&) = delete;
  PluginCallMarker& operator=(const PluginCallMarker&) = delete;

 private:
  std::filesystem::path path_;
};

}  // namespace vigil
