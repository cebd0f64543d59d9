// TUF's four top-level roles, parsed strictly from the bytes received. Each
// keeps those bytes (hashes are over them) and the canonical form of its
// "signed" part (signatures are over that). Delegations are not supported.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/result/result.h"

namespace vigil::tuf {

enum class Role { kRoot, kTimestamp, kSnapshot, kTargets };
// "root", "timestamp", "snapshot", "targets".
const char* role_name(Role role);

// The most bytes each role may have (docs/design/self-patch.md, "Limits").
size_t max_bytes(Role role);

struct Signature {
  std::string key_id;
  std::string sig;  // hex; anything else never verifies
};

struct Key {
  std::string type;  // only "ed25519" with scheme "ed25519" can verify
  std::string scheme;
  std::string public_hex;
};

struct RoleKeys {
  std::vector<std::string> key_ids;
  int64_t threshold = 1;
};

// What timestamp says of snapshot.json and snapshot of targets.json.
struct MetaFile {
  int64_t version = 0;
  std::optional<int64_t> length;
  std::map<std::string, std::string> hashes;  // algorithm → hex
};

struct TargetFile {
  int64_t length = 0;
  std::map<std::string, std::string> hashes;
  nlohmann::json custom;  // null when absent
};

// What every role's "signed" part has.
struct Common {
  int64_t version = 0;
  int64_t expires = 0;  // seconds since the epoch
  std::string spec_version;
};

struct Root : Common {
  std::map<std::string, Key> keys;        // by key id
  std::map<std::string, RoleKeys> roles;  // by role name
  bool consistent_snapshot = false;
};

struct Timestamp : Common {
  MetaFile snapshot;
};

struct Snapshot : Common {
  std::map<std::string, MetaFile> meta;  // by file name ("targets.json")
};

struct Targets : Common {
  std::map<std::string, TargetFile> targets;  // by target path
};

template <class T>
struct Signed {
  T body;
  std::vector<Signature> signatures;
  std::string canonical_signed;  // what the signatures cover
  std::string raw;               // the bytes as received
};

// Each parser refuses what the role must not have; the error text is the
// reason alone ("type 'snapshot', expected 'timestamp'"), for the caller to
// prefix with the role and version.
Result<Signed<Root>> parse_root(std::string_view bytes);
Result<Signed<Timestamp>> parse_timestamp(std::string_view bytes);
Result<Signed<Snapshot>> parse_snapshot(std::string_view bytes);
Result<Signed<Targets>> parse_targets(std::string_view bytes);

// The version a document claims, when one can be read at all: for messages
// about documents that did not parse.
std::optional<int64_t> claimed_version(std::string_view bytes);

// "2026-03-01T00:00:00Z" ⇄ seconds since the epoch; nothing else is accepted.
std::optional<int64_t> parse_expires(const std::string& text);
std::string format_time(int64_t seconds);

// Counts the distinct keys of `role` (listed in `root`, Ed25519) whose
// signature over `canonical_signed` verifies.
int64_t count_valid_signatures(const Root& root, const RoleKeys& role, const std::vector<Signature>& signatures,
                               const std::string& canonical_signed);

// Checks `bytes` against a MetaFile or TargetFile's length and hashes: every
// listed hash, at least one known; an unknown algorithm is refused.
Status check_length_and_hashes(std::string_view bytes, std::optional<int64_t> length,
                               const std::map<std::string, std::string>& hashes);

}  // namespace vigil::tuf
