// Marks, on disk, that a module's code is running (a file named after the
// module in the marker directory, holding what it does: "init", "scan
// ControlId X", "interval scan", "unload"), so that if the worker dies
// meanwhile the supervisor knows which module to charge with the crash, and
// the next worker can name what crashed.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace vigil {

// What a marker says while on_init or on_shutdown runs; a crash during the
// latter is not the module's fault to charge (its file may have been replaced).
inline constexpr const char* kActivityInit = "init";
inline constexpr const char* kActivityUnload = "unload";

class PluginCallMarker {
 public:
  // An empty `dir` disables marking (in-process tests).
  PluginCallMarker(const std::filesystem::path& dir, const std::string& module, const std::string& activity) {
    if (dir.empty()) return;
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    path_ = dir / module;
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    [[maybe_unused]] ssize_t written = ::write(fd, activity.data(), activity.size());
    ::close(fd);
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
