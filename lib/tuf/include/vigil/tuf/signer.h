// Builds and signs TUF metadata: for the platform, which publishes plugins,
// and for the tests, which play a repository that misbehaves on purpose.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/result/result.h"
#include "vigil/tuf/ed25519.h"
#include "vigil/tuf/metadata.h"

namespace vigil::tuf {

// The spec version this project writes.
inline constexpr const char* kSpecVersion = "1.0.31";

// The "signed" part of each role. Keys are given by their public halves.
struct RoleSpec {
  std::vector<std::string> public_keys;  // hex
  int64_t threshold = 1;
};
nlohmann::json root_body(int64_t version, int64_t expires, const std::map<Role, RoleSpec>& roles);
nlohmann::json timestamp_body(int64_t version, int64_t expires, const MetaFile& snapshot);
nlohmann::json snapshot_body(int64_t version, int64_t expires, const MetaFile& targets);
nlohmann::json targets_body(int64_t version, int64_t expires, const std::map<std::string, TargetFile>& targets);

// A MetaFile for `document` (version, length, sha256), as timestamp and
// snapshot describe the next role.
MetaFile describe(int64_t version, const std::string& document);

// The whole document: `body` signed by each of `keys`, as compact JSON.
Result<std::string> sign_document(const nlohmann::json& body, const std::vector<SigningKey>& keys);

}  // namespace vigil::tuf
