// Checks a self-protection key (docs/self-protection.md) against what this
// agent trusts: its agent id and the newest verified platform root in the
// store. Offline: a key works while the platform is unreachable.
#pragma once

#include <cstdint>
#include <string_view>

#include "store/state_store.h"
#include "vigil/result/result.h"

namespace vigil::link {

// OK, or why the key is refused: "self-protection key refused: expired at …".
Status check_protection_key(StateStore& store, std::string_view key, int64_t now);

// Whether SelfProtection is on (an unreadable value counts as on: it protects).
bool self_protection_on(StateStore& store);

}  // namespace vigil::link
