// Outbox payloads rendered as JSON, for people and scripts: the standalone
// agent's upload directory and vigilctl. The wire carries the protobuf.
#pragma once

#include <nlohmann/json.hpp>

#include "store/outbox.h"
#include "vigil/result/result.h"

namespace vigil {

// {"sequence", "kind", "module", ...header..., "delta": {"added": [{"table",
// "key", "values"}], "removed": [{"table", "key"}], "changed": [{"table",
// "key", "old", "new"}]}} or {..., "events": [{"table", "time_ms", "values"}]}.
Result<nlohmann::json> payload_json(const OutboxEntry& entry);

}  // namespace vigil
