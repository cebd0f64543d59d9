// vigild's supervisor: the small parent process that holds the instance lock,
// starts the agent as a worker process (the vigild-worker executable), and
// restarts it with backoff when it dies abnormally or passes its memory bound.
// A module whose code was running then is charged with the crash (the next
// worker records the charge in the state store); past kQuarantineAfterCrashes
// it is quarantined (not loaded) and reported, so one bad plugin cannot keep
// the agent down. The supervisor links neither the state store nor any plugin:
// what it must know of the configuration, the worker tells it.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/memory_size.h"
#include "base/paths.h"
#include "vigil/result/result.h"

namespace vigil {

// Exit status of a worker that could not start (configuration, lock, socket):
// restarting it would not help, so the supervisor stops too.
inline constexpr int kWorkerRefusedToStart = 3;
// Exit status of a worker that stopped to be replaced at once (a plugin's old
// code could not be unloaded): no crash, no backoff.
inline constexpr int kWorkerRestartRequested = 4;
inline constexpr int64_t kQuarantineAfterCrashes = 3;

// Environment of a restarted worker: why the last one died ("worker killed by
// signal 11"), and the modules (comma-separated) it must charge with that.
inline constexpr const char* kPreviousCrashVariable = "VIGIL_PREVIOUS_CRASH";
inline constexpr const char* kCrashedModulesVariable = "VIGIL_CRASHED_MODULES";
// What each module whose code ran was doing then, "module=activity,..." (see
// PluginCallMarker): a demand whose scan crashed fails instead of running again.
inline constexpr const char* kCrashActivityVariable = "VIGIL_CRASH_ACTIVITY";
// The file descriptor on which a supervised worker reports to its supervisor,
// one line per report (below). Set only for supervised workers.
inline constexpr const char* kSupervisorFdVariable = "VIGIL_SUPERVISOR_FD";
// "memory-limit BYTES": the worker's WorkerMemoryLimit (0 = none).
inline constexpr std::string_view kMemoryLimitReport = "memory-limit";
// "charged": the crash charges of the environment are in the state store.
inline constexpr std::string_view kChargedReport = "charged";
// "ready": plugins loaded, control socket up (the supervisor tells systemd).
inline constexpr std::string_view kReadyReport = "ready";
// "kill-after SECONDS": the worker stops to be replaced but a plugin's scan may
// never let it exit: past SECONDS it is killed, and that counts as the
// restart it asked for (no crash, nothing charged).
inline constexpr std::string_view kKillAfterReport = "kill-after";

// Self-protection (docs/self-protection.md): "protect-file PATH" names a file
// to guard (one line each, before "protection on"); "protection on|off"; and
// "unlock SECONDS": a platform key was given, so stops are accepted and the
// files may change for that long (they are the new reference afterwards).
inline constexpr std::string_view kProtectFileReport = "protect-file ";
inline constexpr std::string_view kProtectionOnReport = "protection on";
inline constexpr std::string_view kProtectionOffReport = "protection off";
inline constexpr std::string_view kUnlockReport = "unlock ";

// The state store's config key bounding the worker's resident memory (default in settings/).
inline constexpr const char* kWorkerMemoryLimitKey = "WorkerMemoryLimit";

// Takes the instance lock of `paths` (flock on <run>/vigild.lock); the file
// descriptor holds it until closed or the process ends.
Result<int> lock_instance(const Paths& paths);

// Where a worker marks the modules whose code it is running.
std::filesystem::path plugin_marker_dir(const Paths& paths);

// vigild-worker beside this executable (build tree), else in ../lib/vigil (installed).
std::filesystem::path worker_executable();

struct SupervisorOptions {
  Paths paths;
  std::filesystem::path worker;          // the executable to run
  std::vector<std::string> worker_args;  // its arguments, but --ready-fd
  int ready_fd = -1;                     // handed to the first worker only
  std::chrono::milliseconds first_backoff{500};
  std::chrono::milliseconds max_backoff{60000};
  std::chrono::milliseconds memory_poll{1000};  // how often the worker's RSS is read when bounded
};

// Runs workers until one stops normally or SIGTERM/SIGINT arrives (refused,
// with self-protection on, unless unlocked or the system shuts down). Returns
// the process exit status for vigild.
int run_supervisor(const SupervisorOptions& options);

}  // namespace vigil
