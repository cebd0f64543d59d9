// One command's cgroup, <base>/<module>/cmd-<agent pid>-<n>: created with its
// limits before the command starts (the command is born inside it, so its
// children and grandchildren are too, whatever process group or session they
// move to), and removed once nothing runs in it.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "budget/cgroup_support.h"
#include "vigil/result/result.h"

namespace vigil::budget {

struct Limits {
  int cpu_percent = 100;         // of one core; 100: no limit
  int64_t memory_max_bytes = 0;  // 0: no limit
  int64_t pids_max = 0;          // 0: no limit
};

class CommandCgroup {
 public:
  // Needs support.mode == Mode::kCgroup. Limits the support lacks are not set.
  static Result<std::unique_ptr<CommandCgroup>> create(const Support& support, const std::string& module,
                                                       const Limits& limits);
  ~CommandCgroup();  // remove(), for paths that did not
  CommandCgroup(const CommandCgroup&) = delete;
  CommandCgroup& operator=(const CommandCgroup&) = delete;

  int fd() const { return fd_; }  // the directory, for clone3's CLONE_INTO_CGROUP
  const std::filesystem::path& path() const { return path_; }
  // True when the kernel holds the command to its CPU limit (cpu.max); else
  // the caller holds it with freeze() on cpu_used().
  bool cpu_by_kernel() const { return support_.cpu_max; }

  std::chrono::nanoseconds cpu_used() const;  // of everything that ran in the cgroup
  void freeze(bool frozen);
  void kill();  // every process in the cgroup
  // What the kernel refused the command because of its limits, as sentences.
  std::vector<std::string> limits_reached() const;
  // Kills what is left, waits until the cgroup is empty and removes it.
  Status remove();

  // Removes the command cgroups of vigild processes that are gone (a crash
  // may have left them frozen), killing what still runs in them.
  static void remove_stale(const Support& support);

 private:
  CommandCgroup(const Support& support, std::filesystem::path path, int fd, const Limits& limits);
  bool populated() const;

  Support support_;
  std::filesystem::path path_;
  int fd_;
  Limits limits_;
  bool removed_ = false;
};

// `module` made safe as one directory name.
std::string cgroup_name(const std::string& module);

}  // namespace vigil::budget
