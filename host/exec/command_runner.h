// Runs data-collection commands for scans: sanitised PATH (no relative or
// world-writable directory), optionally through sudo (UseSudo), minimal
// environment, stdout streamed to the caller, stderr to the log, killed on
// timeout or cancel, and held to the scan's CPU limit. Where the machine has
// a writable cgroup v2 (budget::machine_support()) the command starts in a
// cgroup of its own with the module's budgets (cpu.max, or freezing when the
// cpu controller is not available; memory.max; pids.max), which takes in all
// it forks; otherwise its process group is paused with SIGSTOP/SIGCONT when
// it has used its share of a window.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "budget/cgroup_support.h"
#include "vigil/result/result.h"

namespace vigil {

struct CommandRequest {
  std::vector<std::string> argv;
  std::chrono::milliseconds timeout{std::chrono::seconds(1800)};
  const char* timeout_setting = "CmdMaxTimeOut";  // named when the command is killed at the deadline
  std::vector<std::string> environment;           // NAME=value pairs added to the minimal environment (not PATH)
  std::vector<std::string> prefix;                // words run before the command (UseSudo: SudoCommand's)
  std::vector<std::string> search_path;           // PATH candidates; empty: standard_path_directories()
  int cpu_limit = 100;                            // percent of one core
  std::string module = "unattributed";            // the scan's; names its cgroup: <vigil cgroup>/<module>/cmd-…
  int64_t memory_max_bytes = int64_t{1} << 30;    // memory.max where the kernel offers it; 0: none
  int64_t pids_max = 512;                         // pids.max where the kernel offers it; 0: none
  const budget::Support* budget = nullptr;        // how budgets are held; null: budget::machine_support()
  const std::atomic<bool>* cancelled = nullptr;
  std::function<void(std::string_view)> on_output;      // stdout chunks
  std::function<void(std::string_view)> on_error_line;  // stderr lines
};

struct CommandOutcome {
  Status status;  // ok: the command ran to its end (whatever its exit code)
  int32_t exit_code = -1;
};

CommandOutcome run_command(const CommandRequest& request);

// The directories of `candidates` that are absolute, exist and are not
// world-writable (sticky or not: anyone may add a binary to a sticky
// directory), each once, as a PATH.
std::string sanitized_path(const std::vector<std::string>& candidates);
// The default candidates: the standard system binary directories.
const std::vector<std::string>& standard_path_directories();

}  // namespace vigil
