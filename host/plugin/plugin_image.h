// What the host loads a plugin from: a private copy of its file, so that a
// `cp` over the installed file while the plugin runs cannot change the pages
// the worker executes (the kernel would otherwise hand the worker the
// truncated or rewritten file: SIGBUS or garbage code). The copy is a file of
// the agent's own (page cache like the original, and gdb reads its symbols),
// else a sealed memfd. Also reads, from the ELF image, what would keep glibc
// from unloading it.
#pragma once

#include <filesystem>
#include <string>

#include "vigil/result/result.h"

namespace vigil {

class PluginImage {
 public:
  // Copies `file` to a new file in `dir` (mode 0500, removed with the image),
  // named "<N>-<file name>" with N unique in this process, so that no two
  // images ever share a name in the dynamic loader.
  static Result<PluginImage> copy_to(const std::filesystem::path& file, const std::filesystem::path& dir);
  // Copies `file` into a sealed memfd. Fails when the kernel has no memfd or
  // forbids executing one (vm.memfd_noexec=2); the caller then falls back to
  // open_file.
  static Result<PluginImage> copy_of(const std::filesystem::path& file);
  // The file itself, held open: not protected from writes, but the library
  // keeps one identity even if the file is replaced.
  static Result<PluginImage> open_file(const std::filesystem::path& file);

  PluginImage() = default;
  ~PluginImage();
  PluginImage(PluginImage&& other) noexcept;
  PluginImage& operator=(PluginImage&& other) noexcept;
  PluginImage(const PluginImage&) = delete;
  PluginImage& operator=(const PluginImage&) = delete;

  // The path dlopen takes: the copy's, else /proc/<pid>/fd/N (a path a
  // debugger can open too). Unique while this image lives, so
  // dlopen(RTLD_NOLOAD) on it tells whether the library is still mapped.
  const std::string& load_path() const { return load_path_; }
  int fd() const { return fd_; }
  // For a library that stayed mapped: its name in the dynamic loader is
  // load_path(), which must never name another image (dlopen would hand back
  // the old library). Neither closed nor removed from now on.
  void keep_forever() {
    fd_ = -1;
    owned_copy_.clear();
  }

 private:
  void reset();

  int fd_ = -1;
  std::string load_path_;
  std::filesystem::path owned_copy_;  // removed with the image
};

// Why glibc would keep the ELF shared library open on `fd` mapped after its
// last dlclose ("" when nothing is known to): GNU unique symbols, NODELETE.
std::string unload_blocker(int fd);

}  // namespace vigil
