// Runs data-collection commands for scans: sanitised PATH, minimal
// environment, stdout streamed to the caller, stderr to the log, killed on
// timeout or cancel, and held to the scan's CPU limit by pausing it
// (SIGSTOP/SIGCONT) when it has used its share of a window.
#pragma once

#include <vigil/plugin.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil {

struct CommandRequest {
  std::vector<std::string> argv;
  std::chrono::milliseconds timeout{std::chrono::seconds(1800)};
  const char* timeout_setting = "CmdMaxTimeOut";  // named when the command is killed at the deadline
  std::vector<std::string> environment;           // NAME=value pairs added to the minimal environment
  int cpu_limit = 100;                            // percent of one core
  const std::atomic<bool>* cancelled = nullptr;
  std::function<void(std::string_view)> on_output;      // stdout chunks
  std::function<void(std::string_view)> on_error_line;  // stderr lines
};

struct CommandOutcome {
  vigil_status status = VIGIL_E_INTERNAL;
  int32_t exit_code = -1;
  std::string error;  // why status is not VIGIL_OK
};

CommandOutcome run_command(const CommandRequest& request);

// The directories of `candidates` that exist and are not world-writable, as a PATH.
std::string sanitized_path(const std::vector<std::string>& candidates);
// The default candidates: the standard system binary directories.
const std::vector<std::string>& standard_path_directories();

}  // namespace vigil
