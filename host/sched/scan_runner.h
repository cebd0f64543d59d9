// Runs one scan of a module: every stored manifest of the module through its
// type's handler, on the calling (worker) thread, its rows streamed into a
// staging snapshot; then commits it with its delta against the acknowledged
// base, in chunks, in one transaction. A scan that fails or is cancelled
// stores nothing and leaves the previous snapshot as it was.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plugin/host_api.h"
#include "plugin/loaded_plugin.h"
#include "store/manifests.h"
#include "store/state_store.h"

namespace vigil {

struct ScanRequest {
  std::vector<Manifest> manifests;
  int cpu_limit = 100;                         // percent of one core
  int nice = 0;                                // ProcessPriority of the worker thread during the scan
  std::chrono::seconds command_timeout{1800};  // CmdMaxTimeOut for the commands it runs
  std::string trigger;                         // "interval", "on-demand", "on-startup"
  std::string control_id;
  std::shared_ptr<ScanProgress> progress;
  std::vector<std::string> command_environment;   // NAME=value for every command the scan runs
  size_t chunk_bytes = size_t{1} << 20;           // bound of one delta chunk, encoded
  int64_t command_memory_max = int64_t{1} << 30;  // memory.max of each command's cgroup; 0: none
  int64_t command_pids_max = 512;                 // pids.max of each command's cgroup; 0: none
  std::vector<std::string> command_prefix;        // UseSudo: SudoCommand's words, put before every command
};

struct ScanOutcome {
  Status status;  // ok: the scan's snapshot is committed
  int64_t snapshot_id = 0;
  int64_t row_count = 0;
  int64_t started_at = 0;
  int64_t finished_at = 0;
  size_t added = 0;
  size_t removed = 0;
  size_t changed = 0;
  std::optional<int64_t> sequence;  // the last outbox entry of a non-empty delta
  int64_t chunks = 0;               // outbox entries the delta took
  int64_t dropped = 0;              // outbox entries dropped to respect the bound
};

ScanOutcome run_scan(std::shared_ptr<LoadedPlugin> plugin, const ScanRequest& request, StateStore& store);

}  // namespace vigil
