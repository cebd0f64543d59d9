#include "repo_simulator.h"

#include <algorithm>

#include "vigil/crypto/digest.h"
#include "vigil/tuf/canonical_json.h"
#include "vigil/tuf/signer.h"

namespace vigil::tuf::testing {

using Json = nlohmann::json;

RepoSimulator::RepoSimulator() {
  const int64_t expires = kNow + 365 * kDay;
  bodies_[Role::kRoot] = root_body(1, expires, {});
  bodies_[Role::kRoot]["roles"] = Json::object();
  for (Role role : {Role::kRoot, Role::kTimestamp, Role::kSnapshot, Role::kTargets}) {
    bodies_[Role::kRoot]["roles"][role_name(role)] = {{"keyids", Json::array()}, {"threshold", 1}};
    add_key(role, new_signer());
  }
  bodies_[Role::kTargets] = targets_body(1, expires, {});
  bodies_[Role::kSnapshot] = snapshot_body(1, expires, MetaFile{1, std::nullopt, {}});
  bodies_[Role::kTimestamp] = timestamp_body(1, expires, MetaFile{1, std::nullopt, {}});
  publish({Role::kTargets, Role::kSnapshot, Role::kTimestamp, Role::kRoot});
}

SigningKey RepoSimulator::new_signer() {
  return ed25519_generate().value();
}

void RepoSimulator::add_key(Role role, const SigningKey& key, const Json& extra_key_fields) {
  Json object = ed25519_key_object(key.public_hex);
  if (extra_key_fields.is_object()) object.update(extra_key_fields);
  std::string id = key_id(object).value();
  Json& root = bodies_[Role::kRoot];
  root["keys"][id] = object;
  key_ids_[key.public_hex] = id;
  Json& ids = root["roles"][role_name(role)]["keyids"];
  if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  signers_[role].push_back(key);
}

void RepoSimulator::clear_keys(Role role) {
  Json& root = bodies_[Role::kRoot];
  root["roles"][role_name(role)]["keyids"] = Json::array();
  signers_[role].clear();
}

void RepoSimulator::rotate_keys(Role role) {
  clear_keys(role);
  int64_t threshold = bodies_[Role::kRoot]["roles"][role_name(role)]["threshold"].get<int64_t>();
  for (int64_t i = 0; i < threshold; ++i) add_key(role, new_signer());
}

void RepoSimulator::add_target(const std::string& path, const std::string& data, Json custom) {
  Json entry = {{"length", data.size()}, {"hashes", {{"sha256", crypto::sha256_hex(data)}}}};
  if (!custom.is_null()) entry["custom"] = std::move(custom);
  bodies_[Role::kTargets]["targets"][path] = entry;
  target_data_[path] = data;
}

void RepoSimulator::publish(const std::vector<Role>& roles) {
  for (Role role : roles) {
    Json& body = bodies_[role];
    std::vector<std::string>& versions = published[role];
    if (!versions.empty()) body["version"] = body["version"].get<int64_t>() + 1;
    versions.push_back(sign(body, signers_[role]));
    Json described = {{"version", body["version"]}};
    if (compute_hashes) {
      described["length"] = versions.back().size();
      described["hashes"] = {{"sha256", crypto::sha256_hex(versions.back())}};
    }
    if (role == Role::kTargets) bodies_[Role::kSnapshot]["meta"]["targets.json"] = described;
    if (role == Role::kSnapshot) bodies_[Role::kTimestamp]["meta"]["snapshot.json"] = described;
  }
}

std::string RepoSimulator::sign(const Json& body, const std::vector<SigningKey>& keys) {
  // Like sign_document, but under the key id root lists, extra key fields included.
  std::string message = canonical(body).value();
  Json signatures = Json::array();
  for (const SigningKey& key : keys) {
    auto id = key_ids_.find(key.public_hex);
    signatures.push_back(
        {{"keyid", id != key_ids_.end() ? id->second : key_id(ed25519_key_object(key.public_hex)).value()},
         {"sig", ed25519_sign(key, message).value()}});
  }
  return Json{{"signed", body}, {"signatures", signatures}}.dump();
}

Result<std::string> RepoSimulator::fetch(Role role, std::optional<int64_t> version, size_t max_bytes) {
  requests.emplace_back(role, version);
  const std::vector<std::string>& versions = published[role];
  if (versions.empty()) return Error{"no such document", ErrorCode::kNotFound};
  const std::string* document = &versions.back();
  if (version) {
    if (*version < 1 || *version > static_cast<int64_t>(versions.size())) {
      return Error{"no such version", ErrorCode::kNotFound};
    }
    document = &versions[static_cast<size_t>(*version - 1)];
  }
  // A transport stops reading at the limit; the updater refuses what is longer.
  return document->substr(0, max_bytes + 1);
}

Result<std::optional<std::string>> MemoryStore::load(Role role) {
  auto found = documents.find(role);
  if (found == documents.end()) return std::optional<std::string>();
  return std::optional<std::string>(found->second);
}

Status MemoryStore::save(Role role, int64_t, int64_t, const std::string& bytes) {
  if (fail_saves) return Error{"disk I/O error", ErrorCode::kIo};
  documents[role] = bytes;
  return Status::Ok();
}

Status MemoryStore::erase(Role role) {
  documents.erase(role);
  return Status::Ok();
}

std::vector<std::pair<std::string, int64_t>> MemoryStore::trusted_roles() const {
  std::vector<std::pair<std::string, int64_t>> roles;
  for (const auto& [role, bytes] : documents) roles.emplace_back(role_name(role), claimed_version(bytes).value_or(-1));
  std::sort(roles.begin(), roles.end());
  return roles;
}

std::optional<int64_t> MemoryStore::version(Role role) const {
  auto found = documents.find(role);
  if (found == documents.end()) return std::nullopt;
  return claimed_version(found->second);
}

}  // namespace vigil::tuf::testing
