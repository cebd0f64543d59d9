#include "vigil/tuf/signer.h"

#include "vigil/crypto/digest.h"
#include "vigil/tuf/canonical_json.h"

namespace vigil::tuf {

namespace {

using Json = nlohmann::json;

Json common(Role role, int64_t version, int64_t expires) {
  return {{"_type", role_name(role)},
          {"spec_version", kSpecVersion},
          {"version", version},
          {"expires", format_time(expires)}};
}

Json meta_file_json(const MetaFile& file) {
  Json out = {{"version", file.version}};
  if (file.length) out["length"] = *file.length;
  if (!file.hashes.empty()) out["hashes"] = file.hashes;
  return out;
}

}  // namespace

Json root_body(int64_t version, int64_t expires, const std::map<Role, RoleSpec>& roles) {
  Json body = common(Role::kRoot, version, expires);
  body["consistent_snapshot"] = true;
  body["keys"] = Json::object();
  body["roles"] = Json::object();
  for (const auto& [role, spec] : roles) {
    Json ids = Json::array();
    for (const std::string& public_hex : spec.public_keys) {
      Json key = ed25519_key_object(public_hex);
      std::string id = key_id(key).value();  // a key object always has a canonical form
      body["keys"][id] = key;
      ids.push_back(id);
    }
    body["roles"][role_name(role)] = {{"keyids", ids}, {"threshold", spec.threshold}};
  }
  return body;
}

Json timestamp_body(int64_t version, int64_t expires, const MetaFile& snapshot) {
  Json body = common(Role::kTimestamp, version, expires);
  body["meta"] = {{"snapshot.json", meta_file_json(snapshot)}};
  return body;
}

Json snapshot_body(int64_t version, int64_t expires, const MetaFile& targets) {
  Json body = common(Role::kSnapshot, version, expires);
  body["meta"] = {{"targets.json", meta_file_json(targets)}};
  return body;
}

Json targets_body(int64_t version, int64_t expires, const std::map<std::string, TargetFile>& targets) {
  Json body = common(Role::kTargets, version, expires);
  body["targets"] = Json::object();
  for (const auto& [path, file] : targets) {
    Json entry = {{"length", file.length}, {"hashes", file.hashes}};
    if (!file.custom.is_null()) entry["custom"] = file.custom;
    body["targets"][path] = entry;
  }
  return body;
}

MetaFile describe(int64_t version, const std::string& document) {
  return MetaFile{version, static_cast<int64_t>(document.size()), {{"sha256", crypto::sha256_hex(document)}}};
}

Result<std::string> sign_document(const Json& body, const std::vector<SigningKey>& keys) {
  Result<std::string> message = canonical(body);
  if (!message) return message.failure();
  Json signatures = Json::array();
  for (const SigningKey& key : keys) {
    Result<std::string> id = key_id(ed25519_key_object(key.public_hex));
    Result<std::string> sig = ed25519_sign(key, *message);
    if (!id) return id.failure();
    if (!sig) return sig.failure();
    signatures.push_back({{"keyid", *id}, {"sig", *sig}});
  }
  return Json{{"signed", body}, {"signatures", signatures}}.dump();
}

}  // namespace vigil::tuf
