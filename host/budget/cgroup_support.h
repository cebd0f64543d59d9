// What this machine offers to hold the commands scans run to their budgets:
// a writable cgroup v2 sub-hierarchy for vigil (and which of cpu.max,
// memory.max, pids.max, cgroup.freeze, cgroup.kill work in it), or nothing,
// in which case commands are paused with SIGSTOP/SIGCONT on their process
// group. Probed once; the description says the mode and why.
#pragma once

#include <filesystem>
#include <string>

namespace vigil::budget {

enum class Mode { kCgroup, kSignals };

struct Support {
  Mode mode = Mode::kSignals;
  std::filesystem::path base;  // <cgroup v2>/vigil in cgroup mode: one sub-cgroup per module below it
  bool cpu_max = false;        // the kernel enforces cpu.max
  bool memory_max = false;
  bool pids_max = false;
  bool freeze = false;      // cgroup.freeze (5.2): holds the CPU limit when cpu.max is unavailable
  bool kill = false;        // cgroup.kill (5.14); without it the cgroup's processes are killed one by one
  std::string description;  // "cgroup v2 at …: …" or "signals: <why no cgroup>"
};

// What the probe reads, so it can be pointed at a fake tree.
struct ProbeInput {
  std::string mountinfo;       // /proc/self/mountinfo
  std::string self_cgroup;     // /proc/self/cgroup
  std::string kernel_release;  // uname -r
  std::string name = "vigil";  // the sub-hierarchy created below the cgroup v2 root
  bool check_start = true;     // start a process in a trial cgroup (off for fake trees)
};

// Finds the cgroup v2 mount, creates <mount>/<name> (or <own cgroup>/<name>
// when only that is delegated to us) and enables what controllers it can.
Support probe(const ProbeInput& input);

// This process's view of the machine, for a sub-hierarchy called `name`.
ProbeInput this_machine(const std::string& name = "vigil");

// This process's own cgroup v2 directory (the mount point joined with its
// path in /proc/self/cgroup), or empty without cgroup v2.
std::filesystem::path own_cgroup_directory();

// probe(this_machine()), done once.
const Support& machine_support();

std::string mode_name(Mode mode);  // "cgroup" or "signals"

// The cpu.max value for `percent` of one core over a 100 ms period ("max" from 100 up).
std::string cpu_max_value(int percent);

}  // namespace vigil::budget
