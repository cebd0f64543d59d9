// Self-protection keys (docs/self-protection.md): a key lets one agent be
// stopped, uninstalled or have self-protection turned off until it expires.
// The platform signs it with its TUF root keys; the agent checks it offline
// against the root it trusts, so no network is needed to use one.
//
// The text is "vsp1." followed by the unpadded base64url of a signed document
// {"signed": {"_type": "vigil-protection-key", "agent_id", "issued",
// "expires", "root_version"}, "signatures": [...]} (TUF's signature form).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/result/result.h"
#include "vigil/tuf/ed25519.h"
#include "vigil/tuf/metadata.h"

namespace vigil::tuf {

inline constexpr int64_t kProtectionKeyDefaultLife = 24 * 3600;
inline constexpr int64_t kProtectionKeyMaxLife = 7 * 24 * 3600;

struct ProtectionKey {
  std::string agent_id;
  int64_t issued = 0;  // seconds since the epoch
  int64_t expires = 0;
  int64_t root_version = 0;  // the root whose keys signed it
};

// The key text for `key`, signed by `root_keys` (the root role's keys).
Result<std::string> issue_protection_key(const ProtectionKey& key, const std::vector<SigningKey>& root_keys);

// Reads `text` and checks it: signed by a threshold of `trusted_root`'s root
// keys, for `agent_id`, not expired at `now`. The error is the reason alone
// ("expired at 2026-12-01T10:00:00Z"), for the caller to prefix.
Result<ProtectionKey> check_protection_key(std::string_view text, const Root& trusted_root, std::string_view agent_id,
                                           int64_t now);

}  // namespace vigil::tuf
