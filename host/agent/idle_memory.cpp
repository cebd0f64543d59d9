// Reclaiming start-up pages: malloc_trim, then MADV_PAGEOUT per read-only file mapping.
#include "agent/idle_memory.h"

#include <malloc.h>
#include <sys/mman.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace vigil {
namespace {

int64_t resident_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

}  // namespace

ReleasedMemory release_start_up_memory() {
  ReleasedMemory released;
  released.resident_before = resident_bytes();
  ::malloc_trim(0);
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    unsigned long start = 0;
    unsigned long end = 0;
    char permissions[5] = {};
    int path_at = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx %4s %*s %*s %*s %n", &start, &end, permissions, &path_at) < 3) continue;
    // Only files, and only what nobody writes: anonymous and writable pages would go to swap, not back to a file.
    if (path_at <= 0 || line.size() <= static_cast<size_t>(path_at) || line[path_at] != '/') continue;
    if (permissions[1] == 'w') continue;
    // The kernel skips pages other processes map too (libc, libstdc++): only ours are reclaimed.
    ::madvise(reinterpret_cast<void*>(start), end - start, MADV_PAGEOUT);
  }
  released.resident_after = resident_bytes();
  return released;
}

}  // namespace vigil
