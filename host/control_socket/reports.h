// Read-only reports built from the state store, shared by vigild (answering
// vigilctl) and vigilctl itself when the daemon is down.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "store/state_store.h"
#include "vigil/result/result.h"

namespace vigil {

// The rows of `module`'s latest snapshot (only `table` when given):
// {"module", "snapshot": {...} | null, "rows": [{"table", "key", "values"}]}.
// At most `limit` rows (capped at kMaxResultRows: the whole of a large
// snapshot is never built in memory) after `offset`; "next_offset" says
// where the next page starts, null after the last.
inline constexpr int64_t kMaxResultRows = 10000;
Result<nlohmann::json> results_report(StateStore& store, const std::string& module,
                                      const std::optional<std::string>& table, int64_t limit = 1000,
                                      int64_t offset = 0);

// Summary of the latest snapshot of `module`, or null.
Result<nlohmann::json> last_snapshot_report(StateStore& store, const std::string& module);

// The agent id (empty until provisioned).
std::string agent_id(StateStore& store);

}  // namespace vigil
