// What the fuzzers of file readers share: a private root under the temp
// directory (one per process, made with the directories given), and an input
// split into two files' text at a line "%%".
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <utility>

namespace vigil::fuzz {

inline std::filesystem::path make_root(const std::string& name, std::initializer_list<const char*> directories) {
  auto root = std::filesystem::temp_directory_path() / ("vigil-" + name + "-fuzz-" + std::to_string(::getpid()));
  for (const char* directory : directories) std::filesystem::create_directories(root / directory);
  return root;
}

inline std::pair<std::string, std::string> two_files(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  size_t split = text.find("\n%%\n");
  if (split == std::string::npos) return {text, ""};
  return {text.substr(0, split), text.substr(split + 4)};
}

// The input split by two_files, written as `first` and `second` (paths below root).
inline void write_two_files(const std::filesystem::path& root, const char* first, const char* second,
                            const uint8_t* data, size_t size) {
  auto [one, two] = two_files(data, size);
  std::ofstream(root / first, std::ios::binary | std::ios::trunc) << one;
  std::ofstream(root / second, std::ios::binary | std::ios::trunc) << two;
}

}  // namespace vigil::fuzz
