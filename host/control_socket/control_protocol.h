// The control protocol's framing: one JSON object per line, each request
// naming its "command". Parsing is separate so it can be fuzzed.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string_view>

#include "vigil/result/result.h"

namespace vigil {

// The longest request line the daemon reads. A longer one gets an error reply
// and the connection is closed: a peer must not make the worker hold a line
// of any size in memory (a 50 MB line was read whole before). Requests are
// small; a manifest is the largest thing they carry.
inline constexpr size_t kMaxControlRequestBytes = size_t{1} << 20;
inline constexpr const char* kControlRequestTooLong = "request longer than 1 MiB: the control socket's bound per line";
// A larger manifest (a release's advisories) travels in parts of this many
// body bytes, one manifest_set request each; the whole may be this large.
inline constexpr size_t kManifestPartBytes = size_t{512} << 10;
inline constexpr size_t kMaxManifestBytes = size_t{256} << 20;

// Parses one request line; the error says what is wrong with it.
Result<nlohmann::json> parse_control_request(std::string_view line);

}  // namespace vigil
