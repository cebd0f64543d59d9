#include "update_repository.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "vigil/crypto/digest.h"
#include "vigil/tuf/protection_key.h"
#include "vigil/tuf/signer.h"

namespace vigil::platform {

namespace fs = std::filesystem;
using nlohmann::json;
using tuf::Role;

namespace {

constexpr const char* kSchema = R"sql(
  CREATE TABLE IF NOT EXISTS update_metadata (
    role TEXT NOT NULL, version INTEGER NOT NULL, expires INTEGER NOT NULL, bytes BLOB NOT NULL,
    PRIMARY KEY (role, version)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS plugin_targets (
    module TEXT NOT NULL, arch TEXT NOT NULL, version TEXT NOT NULL, sha256 TEXT NOT NULL, length INTEGER NOT NULL,
    library BLOB NOT NULL, published_order INTEGER NOT NULL, PRIMARY KEY (module, arch, sha256));
  DROP TABLE IF EXISTS plugin_packages;
)sql";

constexpr Role kRoles[] = {Role::kRoot, Role::kTimestamp, Role::kSnapshot, Role::kTargets};
constexpr int kPluginVersionsKept = 3;

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Written 0600 from the start: a private key is never readable by others, not even briefly.
void write_private(const fs::path& file, const std::string& text) {
  fs::path partial = file.string() + ".partial";
  mode_t old_mask = ::umask(077);
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
      ::umask(old_mask);
      throw std::runtime_error("cannot write " + partial.string());
    }
  }
  ::umask(old_mask);
  fs::rename(partial, file);
}

std::string target_path(const std::string& arch, const std::string& module, const std::string& version) {
  return "plugins/" + arch + "/" + module + "-" + version + ".so";
}

// Names that become part of a path and of metadata: plain words only.
void require_word(const std::string& what, const std::string& value) {
  bool plain = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '+' || c == '~';
  });
  if (!plain || value.front() == '.') {
    throw std::runtime_error(what + " '" + value + "' is not a plain name (letters, digits, . _ - + ~)");
  }
}

}  // namespace

UpdateRepository::UpdateRepository(sqlite::Database& db, fs::path key_dir) : db_(db), key_dir_(std::move(key_dir)) {
  db_.exec(kSchema);
}

bool UpdateRepository::initialised() {
  return version(Role::kRoot) > 0;
}

int64_t UpdateRepository::version(Role role) {
  sqlite::Statement query(db_, "SELECT COALESCE(MAX(version), 0) FROM update_metadata WHERE role = ?");
  query.bind(1, tuf::role_name(role));
  query.step();
  return query.integer(0);
}

std::optional<std::string> UpdateRepository::metadata(Role role, std::optional<int64_t> version) {
  sqlite::Statement query(db_, version ? "SELECT bytes FROM update_metadata WHERE role = ?1 AND version = ?2"
                                       : "SELECT bytes FROM update_metadata WHERE role = ?1 ORDER BY version DESC "
                                         "LIMIT 1");
  query.bind(1, tuf::role_name(role));
  if (version) query.bind(2, *version);
  if (!query.step()) return std::nullopt;
  return query.text(0);
}

json UpdateRepository::current_body(Role role) {
  std::optional<std::string> bytes = metadata(role);
  if (!bytes) throw std::runtime_error("no signing keys yet: run admin signing-keys init");
  return json::parse(*bytes)["signed"];
}

UpdateRepository::Key UpdateRepository::new_key(Role role) {
  Result<tuf::SigningKey> key = tuf::ed25519_generate();
  if (!key) throw std::runtime_error(key.error());
  std::string id = tuf::key_id(tuf::ed25519_key_object(key->public_hex)).value();
  write_private(key_dir_ / (std::string(tuf::role_name(role)) + "-" + id.substr(0, 8) + ".pem"), key->private_pem);
  return {id, *key};
}

std::vector<UpdateRepository::Key> UpdateRepository::keys_of(const json& root_body, Role role) {
  std::vector<Key> keys;
  for (const json& id_value : root_body["roles"][tuf::role_name(role)]["keyids"]) {
    std::string id = id_value.get<std::string>();
    fs::path file = key_dir_ / (std::string(tuf::role_name(role)) + "-" + id.substr(0, 8) + ".pem");
    Result<tuf::SigningKey> key = tuf::ed25519_read(read_text(file));
    if (!key) throw std::runtime_error(file.string() + ": " + key.error());
    if (tuf::key_id(tuf::ed25519_key_object(key->public_hex)).value() != id) {
      throw std::runtime_error(file.string() + " is not the key " + id.substr(0, 8) + " that root lists");
    }
    keys.push_back({id, *key});
  }
  return keys;
}

void UpdateRepository::store(Role role, const json& body, const std::vector<Key>& signers) {
  std::vector<tuf::SigningKey> keys;
  for (const Key& key : signers) keys.push_back(key.key);
  Result<std::string> document = tuf::sign_document(body, keys);
  if (!document) throw std::runtime_error(std::string("cannot sign ") + tuf::role_name(role) + ": " + document.error());
  sqlite::Statement(db_, "INSERT INTO update_metadata (role, version, expires, bytes) VALUES (?, ?, ?, ?)")
      .bind(1, tuf::role_name(role))
      .bind(2, body["version"].get<int64_t>())
      .bind(3, *tuf::parse_expires(body["expires"].get<std::string>()))
      .bind_blob(4, *document)
      .run();
}

void UpdateRepository::init(int keys, int threshold, int64_t now) {
  if (keys < 1 || threshold < 1 || threshold > keys) {
    throw std::runtime_error("--threshold must be between 1 and --keys (" + std::to_string(keys) + ")");
  }
  if (initialised()) throw std::runtime_error("signing keys exist already: rotate them with admin signing-keys rotate");
  fs::create_directories(key_dir_);
  fs::permissions(key_dir_, fs::perms::owner_all, fs::perm_options::replace);
  sqlite::Transaction transaction(db_);
  std::map<Role, tuf::RoleSpec> roles;
  std::vector<Key> root_keys;
  for (Role role : kRoles) {
    roles[role].threshold = threshold;
    for (int i = 0; i < keys; ++i) {
      Key key = new_key(role);
      roles[role].public_keys.push_back(key.key.public_hex);
      if (role == Role::kRoot) root_keys.push_back(key);
    }
  }
  store(Role::kRoot, tuf::root_body(1, now + kRootLife, roles), root_keys);
  sign_targets(now);
  transaction.commit();
}

void UpdateRepository::rotate(Role role, int64_t now) {
  sqlite::Transaction transaction(db_);
  json old_root = current_body(Role::kRoot);
  std::vector<Key> signers = keys_of(old_root, Role::kRoot);
  json root = old_root;
  json& ids = root["roles"][tuf::role_name(role)]["keyids"];
  size_t count = ids.size();
  ids = json::array();
  for (size_t i = 0; i < count; ++i) {
    Key key = new_key(role);
    root["keys"][key.id] = tuf::ed25519_key_object(key.key.public_hex);
    ids.push_back(key.id);
    if (role == Role::kRoot) signers.push_back(key);  // signed by the old and the new root keys
  }
  // Keys no role lists any more leave root.
  for (auto key = root["keys"].begin(); key != root["keys"].end();) {
    bool used = false;
    for (Role listed : kRoles) {
      const json& role_ids = root["roles"][tuf::role_name(listed)]["keyids"];
      used |= std::find(role_ids.begin(), role_ids.end(), key.key()) != role_ids.end();
    }
    key = used ? std::next(key) : root["keys"].erase(key);
  }
  root["version"] = old_root["version"].get<int64_t>() + 1;
  root["expires"] = tuf::format_time(now + kRootLife);
  store(Role::kRoot, root, signers);
  // The rotated role and those that describe it, under the new keys.
  if (role == Role::kTargets) {
    sign_targets(now);
  } else if (role == Role::kSnapshot) {
    sign_snapshot(now);
  } else if (role == Role::kTimestamp) {
    sign_timestamp(now);
  }
  transaction.commit();
}

void UpdateRepository::sign_targets(int64_t now) {
  std::map<std::string, tuf::TargetFile> targets;
  // The newest file of each module and arch is the one agents install.
  sqlite::Statement query(db_,
                          "SELECT module, arch, version, sha256, length, published_order = MAX(published_order) OVER "
                          "(PARTITION BY module, arch) FROM plugin_targets");
  while (query.step()) {
    tuf::TargetFile file;
    file.length = query.integer(4);
    file.hashes = {{"sha256", query.text(3)}};
    file.custom = {{"module", query.text(0)},
                   {"arch", query.text(1)},
                   {"version", query.text(2)},
                   {"current", query.integer(5) != 0}};
    targets[target_path(query.text(1), query.text(0), query.text(2))] = file;
  }
  store(Role::kTargets, tuf::targets_body(version(Role::kTargets) + 1, now + kTargetsLife, targets),
        keys_of(current_body(Role::kRoot), Role::kTargets));
  sign_snapshot(now);
}

void UpdateRepository::sign_snapshot(int64_t now) {
  int64_t targets_version = version(Role::kTargets);
  tuf::MetaFile targets = tuf::describe(targets_version, *metadata(Role::kTargets));
  store(Role::kSnapshot, tuf::snapshot_body(version(Role::kSnapshot) + 1, now + kSnapshotLife, targets),
        keys_of(current_body(Role::kRoot), Role::kSnapshot));
  sign_timestamp(now);
}

void UpdateRepository::sign_timestamp(int64_t now) {
  tuf::MetaFile snapshot = tuf::describe(version(Role::kSnapshot), *metadata(Role::kSnapshot));
  store(Role::kTimestamp, tuf::timestamp_body(version(Role::kTimestamp) + 1, now + kTimestampLife, snapshot),
        keys_of(current_body(Role::kRoot), Role::kTimestamp));
}

PluginFile UpdateRepository::publish_plugin(const std::string& module, const std::string& arch,
                                            const std::string& version, const std::string& library, int64_t now) {
  require_word("module", module);
  require_word("arch", arch);
  require_word("version", version);
  if (library.empty()) throw std::runtime_error("the plugin file is empty");
  if (!initialised()) throw std::runtime_error("no signing keys yet: run admin signing-keys init first");
  PluginFile file{module,
                  arch,
                  version,
                  crypto::sha256_hex(library),
                  static_cast<int64_t>(library.size()),
                  target_path(arch, module, version)};
  sqlite::Transaction transaction(db_);
  // A version published again with other bytes replaces the old file of that version.
  sqlite::Statement(db_, "DELETE FROM plugin_targets WHERE module = ? AND arch = ? AND version = ?")
      .bind(1, module)
      .bind(2, arch)
      .bind(3, version)
      .run();
  sqlite::Statement(db_,
                    "INSERT OR REPLACE INTO plugin_targets (module, arch, version, sha256, length, library, "
                    "published_order) VALUES (?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(published_order), 0) + 1 FROM "
                    "plugin_targets))")
      .bind(1, module)
      .bind(2, arch)
      .bind(3, version)
      .bind(4, file.sha256)
      .bind(5, file.length)
      .bind_blob(6, library)
      .run();
  sqlite::Statement(db_,
                    "DELETE FROM plugin_targets WHERE module = ?1 AND arch = ?2 AND published_order NOT IN (SELECT "
                    "published_order FROM plugin_targets WHERE module = ?1 AND arch = ?2 ORDER BY published_order DESC "
                    "LIMIT ?3)")
      .bind(1, module)
      .bind(2, arch)
      .bind(3, static_cast<int64_t>(kPluginVersionsKept))
      .run();
  sign_targets(now);
  transaction.commit();
  return file;
}

bool UpdateRepository::renew(int64_t now) {
  if (!initialised()) return false;
  auto expires = [this](Role role) {
    return tuf::parse_expires(current_body(role)["expires"].get<std::string>()).value_or(0);
  };
  // Cheap checks first: this runs on every metadata request.
  bool targets = expires(Role::kTargets) - now < kTargetsLife / 3;
  bool snapshot = expires(Role::kSnapshot) - now < kSnapshotLife / 3;
  bool timestamp = expires(Role::kTimestamp) - now < kTimestampLife / 2;
  if (!targets && !snapshot && !timestamp) return false;
  sqlite::Transaction transaction(db_);
  // Another process may have renewed since the checks above.
  if (expires(Role::kTargets) - now < kTargetsLife / 3) {
    sign_targets(now);
  } else if (expires(Role::kSnapshot) - now < kSnapshotLife / 3) {
    sign_snapshot(now);
  } else if (expires(Role::kTimestamp) - now < kTimestampLife / 2) {
    sign_timestamp(now);
  } else {
    return false;
  }
  transaction.commit();
  return true;
}

std::optional<UpdateRepository::Chunk> UpdateRepository::plugin_chunk(const std::string& sha256, int64_t offset,
                                                                      int64_t max) {
  sqlite::Statement query(db_,
                          "SELECT module, arch, version, sha256, length, rowid FROM plugin_targets WHERE sha256 = ?1");
  query.bind(1, sha256);
  if (!query.step()) return std::nullopt;
  Chunk chunk{{query.text(0), query.text(1), query.text(2), query.text(3), query.integer(4),
               target_path(query.text(1), query.text(0), query.text(2))},
              db_.read_blob("plugin_targets", "library", query.integer(5), offset, max)};
  return chunk;
}

std::vector<PluginFile> UpdateRepository::plugins() {
  std::vector<PluginFile> files;
  sqlite::Statement query(db_,
                          "SELECT module, arch, version, sha256, length FROM plugin_targets ORDER BY module, arch, "
                          "published_order");
  while (query.step()) {
    files.push_back({query.text(0), query.text(1), query.text(2), query.text(3), query.integer(4),
                     target_path(query.text(1), query.text(0), query.text(2))});
  }
  return files;
}

json UpdateRepository::show(int64_t now) {
  if (!initialised()) throw std::runtime_error("no signing keys yet: run admin signing-keys init");
  json root = current_body(Role::kRoot);
  json out = {{"roles", json::object()}, {"warnings", json::array()}};
  for (Role role : kRoles) {
    json body = current_body(role);
    int64_t left = tuf::parse_expires(body["expires"].get<std::string>()).value_or(0) - now;
    json ids = json::array();
    for (const json& id : root["roles"][tuf::role_name(role)]["keyids"])
      ids.push_back(id.get<std::string>().substr(0, 8));
    out["roles"][tuf::role_name(role)] = {{"version", body["version"]},
                                          {"expires", body["expires"]},
                                          {"days_left", left / kDay},
                                          {"keys", ids},
                                          {"threshold", root["roles"][tuf::role_name(role)]["threshold"]}};
    if (role == Role::kRoot && left < 30 * kDay) {
      out["warnings"].push_back("root expires in " + std::to_string(left / kDay) +
                                " days and is not renewed by itself: run admin signing-keys rotate --role root");
    }
  }
  return out;
}

std::string UpdateRepository::protection_key(const std::string& agent_id, int64_t now, int64_t life) {
  if (!initialised()) throw std::runtime_error("no signing keys yet: run admin signing-keys init first");
  std::vector<tuf::SigningKey> signers;
  for (const Key& key : keys_of(current_body(Role::kRoot), Role::kRoot)) signers.push_back(key.key);
  Result<std::string> text = tuf::issue_protection_key({agent_id, now, now + life, version(Role::kRoot)}, signers);
  if (!text) throw std::runtime_error(text.error());
  return *text;
}

}  // namespace vigil::platform
