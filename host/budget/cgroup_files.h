// Reading and writing cgroup interface files. Writes use one write(2) on an
// existing file: the kernel rejects a bad value at that call, with an errno
// that says why.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace vigil::budget {

inline std::optional<std::string> read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// 0, or the errno of the failed open or write.
inline int write_text(const std::filesystem::path& path, std::string_view value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t written = ::write(fd, value.data(), value.size());
  int error = written < 0 ? errno : 0;
  ::close(fd);
  return error;
}

// The value of `key` in a flat-keyed file such as cpu.stat or cgroup.events, or -1.
inline long long keyed_value(const std::string& text, std::string_view key) {
  std::istringstream lines(text);
  std::string name;
  long long value = 0;
  while (lines >> name >> value) {
    if (name == key) return value;
  }
  return -1;
}

}  // namespace vigil::budget
