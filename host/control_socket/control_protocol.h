// The control protocol's framing: one JSON object per line, each request
// naming its "command". Parsing is separate so it can be fuzzed.
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

#include "vigil/result/result.h"

namespace vigil {

// Parses one request line; the error says what is wrong with it.
Result<nlohmann::json> parse_control_request(std::string_view line);

}  // namespace vigil
