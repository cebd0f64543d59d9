// The JSON of TUF metadata: a strict parser in front of everything, and the
// canonical form that signatures cover (docs/design/self-patch.md, "Canonical form").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "vigil/result/result.h"

namespace vigil::tuf {

// Parses `bytes` as one JSON document and refuses what two parsers could read
// differently or what the canonical form cannot hold: duplicate object keys,
// numbers that are not int64 integers, invalid UTF-8 and lone surrogates,
// trailing bytes, nesting deeper than 32, and more than `limit` bytes.
Result<nlohmann::json> parse_strict(std::string_view bytes, size_t limit);

// The canonical form (OLPC, as securesystemslib writes it): no whitespace,
// object members in byte order, strings raw with only \ and " escaped,
// integers in plain decimal. Floats and binary values are errors.
Result<std::string> canonical(const nlohmann::json& value);

}  // namespace vigil::tuf
