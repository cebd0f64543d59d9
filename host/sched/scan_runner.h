// Runs one scan: calls the plugin's manifest handler on the calling (worker)
// thread, then stores the rows it emitted as a new snapshot in one
// transaction. A scan that fails or is cancelled stores nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "plugin/loaded_plugin.h"
#include "store/state_store.h"

namespace vigil {

struct ScanRequest {
  std::string manifest_type;
  std::string manifest;
  int cpu_limit = 100;  // percent of one core
};

struct ScanOutcome {
  vigil_status status = VIGIL_E_INTERNAL;
  std::string error;  // empty when status is VIGIL_OK
  int64_t snapshot_id = 0;
  int64_t row_count = 0;
  int64_t started_at = 0;
  int64_t finished_at = 0;
};

std::string status_name(vigil_status status);

ScanOutcome run_scan(std::shared_ptr<LoadedPlugin> plugin, const ScanRequest& request, StateStore& store);

}  // namespace vigil
