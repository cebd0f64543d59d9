// What the host loads a plugin from: a private, sealed copy of its file in
// memory (a memfd), so that a `cp` over the installed file while the plugin
// runs cannot change the pages the worker executes (the kernel would otherwise
// hand the worker the truncated or rewritten file: SIGBUS or garbage code).
// Also reads, from the ELF image, what would keep glibc from unloading it.
#pragma once

#include <filesystem>
#include <string>

#include "base/status.h"

namespace vigil {

class PluginImage {
 public:
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

  // The path dlopen takes: /proc/self/fd/N. Unique while this image lives, so
  // dlopen(RTLD_NOLOAD) on it tells whether the library is still mapped.
  std::string load_path() const;
  int fd() const { return fd_; }
  // For a library that stayed mapped: its name in the dynamic loader is
  // load_path(), so the descriptor number must never name another image
  // (dlopen would hand back the old library). Never closed from now on.
  void keep_open_forever() { fd_ = -1; }

 private:
  int fd_ = -1;
};

// Why glibc would keep the ELF shared library open on `fd` mapped after its
// last dlclose ("" when nothing is known to): GNU unique symbols, NODELETE.
std::string unload_blocker(int fd);

}  // namespace vigil
