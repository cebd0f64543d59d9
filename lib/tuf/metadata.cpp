#include "vigil/tuf/metadata.h"

#include <cstdio>
#include <ctime>
#include <set>

#include "vigil/crypto/digest.h"
#include "vigil/tuf/canonical_json.h"
#include "vigil/tuf/ed25519.h"

namespace vigil::tuf {

namespace {

using Json = nlohmann::json;

Error refused(std::string text) {
  return Error{std::move(text), ErrorCode::kInvalidArgument};
}

// Field readers: each names the field that is missing or of the wrong kind.
Result<const Json*> member(const Json& object, const std::string& name, const std::string& where) {
  auto found = object.find(name);
  if (found == object.end()) return refused(where + " has no '" + name + "'");
  return &*found;
}

Result<const Json*> object_member(const Json& object, const std::string& name, const std::string& where) {
  Result<const Json*> found = member(object, name, where);
  if (found && !(*found)->is_object()) return refused(where + "'s '" + name + "' is not an object");
  return found;
}

Result<std::string> string_member(const Json& object, const std::string& name, const std::string& where) {
  Result<const Json*> found = member(object, name, where);
  if (!found) return found.failure();
  if (!(*found)->is_string()) return refused(where + "'s '" + name + "' is not a string");
  return (*found)->get<std::string>();
}

Result<int64_t> integer_member(const Json& object, const std::string& name, const std::string& where, int64_t minimum) {
  Result<const Json*> found = member(object, name, where);
  if (!found) return found.failure();
  if (!(*found)->is_number_integer()) return refused(where + "'s '" + name + "' is not an integer");
  int64_t value = (*found)->get<int64_t>();
  if (value < minimum)
    return refused(where + "'s '" + name + "' is " + std::to_string(value) + ", below " + std::to_string(minimum));
  return value;
}

Result<std::map<std::string, std::string>> hashes_member(const Json& object, const std::string& where) {
  Result<const Json*> found = object_member(object, "hashes", where);
  if (!found) return found.failure();
  if ((*found)->empty()) return refused(where + " lists no hashes");
  std::map<std::string, std::string> hashes;
  for (const auto& entry : (*found)->items()) {
    if (!entry.value().is_string()) return refused(where + "'s hash '" + entry.key() + "' is not a string");
    hashes[entry.key()] = entry.value().get<std::string>();
  }
  return hashes;
}

Result<MetaFile> parse_meta_file(const Json& value, const std::string& where) {
  if (!value.is_object()) return refused(where + " is not an object");
  MetaFile file;
  Result<int64_t> version = integer_member(value, "version", where, 1);
  if (!version) return version.failure();
  file.version = *version;
  if (value.contains("length")) {
    Result<int64_t> length = integer_member(value, "length", where, 0);
    if (!length) return length.failure();
    file.length = *length;
  }
  if (value.contains("hashes")) {
    Result<std::map<std::string, std::string>> hashes = hashes_member(value, where);
    if (!hashes) return hashes.failure();
    file.hashes = std::move(*hashes);
  }
  return file;
}

// The envelope and the fields every role has; returns the "signed" object.
template <class T>
Result<const Json*> parse_common(const Json& document, Role role, Signed<T>& out) {
  if (!document.is_object()) return refused("not a JSON object");
  Result<const Json*> body = object_member(document, "signed", "the document");
  if (!body) return body.failure();
  Result<const Json*> signatures = member(document, "signatures", "the document");
  if (!signatures) return signatures.failure();
  if (!(*signatures)->is_array()) return refused("'signatures' is not an array");
  std::set<std::string> signers;
  for (const Json& entry : **signatures) {
    if (!entry.is_object()) return refused("a signature is not an object");
    Result<std::string> key = string_member(entry, "keyid", "a signature");
    Result<std::string> sig = string_member(entry, "sig", "a signature");
    if (!key) return key.failure();
    if (!sig) return sig.failure();
    if (!signers.insert(*key).second) return refused("two signatures by key " + key->substr(0, 8));
    out.signatures.push_back(Signature{*key, *sig});
  }
  const Json& fields = **body;
  Result<std::string> type = string_member(fields, "_type", "signed");
  if (!type) return type.failure();
  if (*type != role_name(role)) return refused("type '" + *type + "', expected '" + role_name(role) + "'");
  Result<std::string> spec = string_member(fields, "spec_version", "signed");
  if (!spec) return spec.failure();
  // Major version 1 only: "1", "1.0", "1.0.31".
  if (spec->empty() || (*spec)[0] != '1' || (spec->size() > 1 && (*spec)[1] != '.')) {
    return refused("spec_version " + *spec + " (this agent reads 1.x)");
  }
  out.body.spec_version = *spec;
  Result<int64_t> version = integer_member(fields, "version", "signed", 1);
  if (!version) return version.failure();
  out.body.version = *version;
  Result<std::string> expires = string_member(fields, "expires", "signed");
  if (!expires) return expires.failure();
  std::optional<int64_t> when = parse_expires(*expires);
  if (!when) return refused("expires '" + *expires + "' is not YYYY-MM-DDTHH:MM:SSZ");
  out.body.expires = *when;
  Result<std::string> canonical_form = canonical(fields);
  if (!canonical_form) return canonical_form.failure();
  out.canonical_signed = std::move(*canonical_form);
  return &fields;
}

Status parse_root_fields(const Json& fields, Root& root) {
  Result<const Json*> keys = object_member(fields, "keys", "root");
  if (!keys) return keys.failure();
  for (const auto& entry : (*keys)->items()) {
    const Json& object = entry.value();
    std::string where = "key " + entry.key().substr(0, 8);
    if (!object.is_object()) return refused(where + " is not an object");
    Result<std::string> type = string_member(object, "keytype", where);
    Result<std::string> scheme = string_member(object, "scheme", where);
    Result<const Json*> value = object_member(object, "keyval", where);
    if (!type) return type.failure();
    if (!scheme) return scheme.failure();
    if (!value) return value.failure();
    Result<std::string> id = key_id(object);
    if (!id) return id.failure();
    if (*id != entry.key()) return refused("key id " + entry.key().substr(0, 8) + " is not the hash of its key");
    Key key{*type, *scheme, ""};
    auto public_value = (*value)->find("public");
    if (public_value != (*value)->end() && public_value->is_string()) key.public_hex = public_value->get<std::string>();
    root.keys[entry.key()] = std::move(key);
  }
  Result<const Json*> roles = object_member(fields, "roles", "root");
  if (!roles) return roles.failure();
  for (Role role : {Role::kRoot, Role::kTimestamp, Role::kSnapshot, Role::kTargets}) {
    if (!(*roles)->contains(role_name(role))) return refused(std::string("root names no ") + role_name(role) + " role");
  }
  for (const auto& entry : (*roles)->items()) {
    std::string where = "role " + entry.key();
    if (entry.key() != "root" && entry.key() != "timestamp" && entry.key() != "snapshot" && entry.key() != "targets") {
      return refused("root names the role '" + entry.key() + "', not one of root, timestamp, snapshot, targets");
    }
    if (!entry.value().is_object()) return refused(where + " is not an object");
    Result<const Json*> ids = member(entry.value(), "keyids", where);
    if (!ids) return ids.failure();
    if (!(*ids)->is_array()) return refused(where + "'s keyids is not an array");
    Result<int64_t> threshold = integer_member(entry.value(), "threshold", where, 1);
    if (!threshold) return threshold.failure();
    RoleKeys role_keys;
    role_keys.threshold = *threshold;
    std::set<std::string> seen;
    for (const Json& id : **ids) {
      if (!id.is_string()) return refused(where + " lists a key id that is not a string");
      if (!seen.insert(id.get<std::string>()).second) {
        return refused(where + " lists key " + id.get<std::string>().substr(0, 8) + " twice");
      }
      role_keys.key_ids.push_back(id.get<std::string>());
    }
    root.roles[entry.key()] = std::move(role_keys);
  }
  if (auto consistent = fields.find("consistent_snapshot"); consistent != fields.end()) {
    if (!consistent->is_boolean()) return refused("root's 'consistent_snapshot' is not true or false");
    root.consistent_snapshot = consistent->get<bool>();
  }
  return Status::Ok();
}

template <class T, class ParseFields>
Result<Signed<T>> parse_role(std::string_view bytes, Role role, ParseFields parse_fields) {
  Result<Json> document = parse_strict(bytes, max_bytes(role));
  if (!document) return document.failure();
  Signed<T> out;
  Result<const Json*> fields = parse_common(*document, role, out);
  if (!fields) return fields.failure();
  if (Status parsed = parse_fields(**fields, out.body); !parsed) return parsed.failure();
  out.raw = std::string(bytes);
  return out;
}

}  // namespace

const char* role_name(Role role) {
  switch (role) {
    case Role::kRoot: return "root";
    case Role::kTimestamp: return "timestamp";
    case Role::kSnapshot: return "snapshot";
    case Role::kTargets: return "targets";
  }
  return "?";
}

size_t max_bytes(Role role) {
  switch (role) {
    case Role::kTimestamp: return 16 * 1024;
    case Role::kTargets: return 1024 * 1024;
    case Role::kRoot:
    case Role::kSnapshot: break;
  }
  return 64 * 1024;
}

Result<Signed<Root>> parse_root(std::string_view bytes) {
  return parse_role<Root>(bytes, Role::kRoot, parse_root_fields);
}

Result<Signed<Timestamp>> parse_timestamp(std::string_view bytes) {
  return parse_role<Timestamp>(bytes, Role::kTimestamp, [](const Json& fields, Timestamp& timestamp) -> Status {
    Result<const Json*> meta = object_member(fields, "meta", "timestamp");
    if (!meta) return meta.failure();
    for (const auto& entry : (*meta)->items()) {
      if (entry.key() != "snapshot.json") return refused("timestamp's meta names '" + entry.key() + "'");
    }
    Result<const Json*> snapshot = member(**meta, "snapshot.json", "timestamp's meta");
    if (!snapshot) return snapshot.failure();
    Result<MetaFile> file = parse_meta_file(**snapshot, "snapshot.json");
    if (!file) return file.failure();
    timestamp.snapshot = std::move(*file);
    return Status::Ok();
  });
}

Result<Signed<Snapshot>> parse_snapshot(std::string_view bytes) {
  return parse_role<Snapshot>(bytes, Role::kSnapshot, [](const Json& fields, Snapshot& snapshot) -> Status {
    Result<const Json*> meta = object_member(fields, "meta", "snapshot");
    if (!meta) return meta.failure();
    for (const auto& entry : (*meta)->items()) {
      Result<MetaFile> file = parse_meta_file(entry.value(), entry.key());
      if (!file) return file.failure();
      snapshot.meta[entry.key()] = std::move(*file);
    }
    return Status::Ok();
  });
}

Result<Signed<Targets>> parse_targets(std::string_view bytes) {
  return parse_role<Targets>(bytes, Role::kTargets, [](const Json& fields, Targets& targets) -> Status {
    Result<const Json*> listed = object_member(fields, "targets", "targets");
    if (!listed) return listed.failure();
    for (const auto& entry : (*listed)->items()) {
      std::string where = "target " + entry.key();
      if (!entry.value().is_object()) return refused(where + " is not an object");
      TargetFile file;
      Result<int64_t> length = integer_member(entry.value(), "length", where, 0);
      if (!length) return length.failure();
      file.length = *length;
      Result<std::map<std::string, std::string>> hashes = hashes_member(entry.value(), where);
      if (!hashes) return hashes.failure();
      file.hashes = std::move(*hashes);
      if (auto custom = entry.value().find("custom"); custom != entry.value().end()) file.custom = *custom;
      targets.targets[entry.key()] = std::move(file);
    }
    if (auto delegations = fields.find("delegations"); delegations != fields.end()) {
      auto roles = delegations->is_object() ? delegations->find("roles") : delegations->end();
      if (!delegations->is_object() || (roles != delegations->end() && !(roles->is_array() && roles->empty()))) {
        return refused("delegations are not supported by this agent");
      }
    }
    return Status::Ok();
  });
}

std::optional<int64_t> claimed_version(std::string_view bytes) {
  Json document = Json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (!document.is_object()) return std::nullopt;
  auto body = document.find("signed");
  if (body == document.end() || !body->is_object()) return std::nullopt;
  auto version = body->find("version");
  if (version == body->end() || !version->is_number_integer()) return std::nullopt;
  return version->get<int64_t>();
}

std::optional<int64_t> parse_expires(const std::string& text) {
  // Exactly YYYY-MM-DDTHH:MM:SSZ: 20 characters, digits where digits go.
  static constexpr char kShape[] = "dddd-dd-ddTdd:dd:ddZ";
  if (text.size() != sizeof kShape - 1) return std::nullopt;
  for (size_t i = 0; i < text.size(); ++i) {
    bool digit = text[i] >= '0' && text[i] <= '9';
    if (kShape[i] == 'd' ? !digit : text[i] != kShape[i]) return std::nullopt;
  }
  std::tm fields{};
  auto number = [&text](size_t at, size_t count) { return std::stoi(text.substr(at, count)); };
  fields.tm_year = number(0, 4) - 1900;
  fields.tm_mon = number(5, 2) - 1;
  fields.tm_mday = number(8, 2);
  fields.tm_hour = number(11, 2);
  fields.tm_min = number(14, 2);
  fields.tm_sec = number(17, 2);
  std::tm normalised = fields;
  time_t seconds = timegm(&normalised);
  // timegm rolls "02-30" over into March: a date that changed was not a date.
  if (normalised.tm_mday != fields.tm_mday || normalised.tm_mon != fields.tm_mon ||
      normalised.tm_hour != fields.tm_hour || normalised.tm_min != fields.tm_min ||
      normalised.tm_sec != fields.tm_sec) {
    return std::nullopt;
  }
  return static_cast<int64_t>(seconds);
}

std::string format_time(int64_t seconds) {
  time_t when = static_cast<time_t>(seconds);
  std::tm fields{};
  gmtime_r(&when, &fields);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &fields);
  return text;
}

int64_t count_valid_signatures(const Root& root, const RoleKeys& role, const std::vector<Signature>& signatures,
                               const std::string& canonical_signed) {
  int64_t valid = 0;
  // Signatures are unique per key id (the parser refuses duplicates), and so are a role's key ids.
  for (const Signature& signature : signatures) {
    bool in_role = std::find(role.key_ids.begin(), role.key_ids.end(), signature.key_id) != role.key_ids.end();
    auto key = root.keys.find(signature.key_id);
    if (!in_role || key == root.keys.end()) continue;
    if (key->second.type != "ed25519" || key->second.scheme != "ed25519") continue;
    if (ed25519_verify(key->second.public_hex, signature.sig, canonical_signed)) ++valid;
  }
  return valid;
}

Status check_length_and_hashes(std::string_view bytes, std::optional<int64_t> length,
                               const std::map<std::string, std::string>& hashes) {
  if (length && static_cast<int64_t>(bytes.size()) != *length) {
    return refused("length " + std::to_string(bytes.size()) + " differs from " + std::to_string(*length));
  }
  for (const auto& [algorithm, expected] : hashes) {
    if (algorithm != "sha256" && algorithm != "sha512") return refused("hash algorithm '" + algorithm + "' unknown");
    std::string actual = crypto::hex_digest(bytes, algorithm);
    if (actual != expected)
      return refused(algorithm + " " + actual.substr(0, 16) + " differs from " + expected.substr(0, 16));
  }
  return Status::Ok();
}

}  // namespace vigil::tuf
