// vigild's supervisor: the parent process that holds the instance lock, runs
// the agent in a worker process, and restarts the worker with backoff when it
// dies abnormally. A module whose code was running when the worker died is
// charged with the crash; past kQuarantineAfterCrashes it is quarantined (not
// loaded) and reported, so one bad plugin cannot keep the agent down.
#pragma once

#include <chrono>
#include <functional>

#include "base/paths.h"
#include "base/status.h"

namespace vigil {

// Exit status of a worker that could not start (configuration, lock, socket):
// restarting it would not help, so the supervisor stops too.
inline constexpr int kWorkerRefusedToStart = 3;
inline constexpr int64_t kQuarantineAfterCrashes = 3;
// The environment variable through which a new worker learns why the last one died.
inline constexpr const char* kPreviousCrashVariable = "VIGIL_PREVIOUS_CRASH";

// Takes the instance lock of `paths` (flock on <run>/vigild.lock); the file
// descriptor holds it until closed or the process ends.
Result<int> lock_instance(const Paths& paths);

// Where a worker marks the modules whose code it is running.
std::filesystem::path plugin_marker_dir(const Paths& paths);

struct SupervisorOptions {
  Paths paths;
  int ready_fd = -1;  // handed to the first worker only
  std::chrono::milliseconds first_backoff{500};
  std::chrono::milliseconds max_backoff{60000};
};

// Runs `worker(ready_fd)` in child processes until one stops normally or
// SIGTERM/SIGINT arrives. Returns the process exit status for vigild.
int run_supervisor(const SupervisorOptions& options, const std::function<int(int ready_fd)>& worker);

}  // namespace vigil
