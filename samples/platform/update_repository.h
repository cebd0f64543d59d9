// The platform's repository of signed plugin updates, after The Update
// Framework (docs/design/self-patch.md): Ed25519 signing keys in files under
// <data>/signing-keys (0700, each key 0600), every version of the four roles'
// metadata in the table update_metadata (root versions are kept forever: an
// agent follows the chain from the one it pinned), and the plugin files the
// targets role describes in plugin_targets (the last 3 per module and
// architecture).
//
// Online roles are re-signed lazily (renew): timestamp when less than half of
// its 7 days is left, snapshot (30 days) and targets (90 days) at a third, so
// an idle platform never lets its metadata expire. Root (365 days) is renewed
// only by an operator (rotate). Errors throw std::runtime_error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/sqlite/sqlite.h"
#include "vigil/tuf/ed25519.h"
#include "vigil/tuf/metadata.h"

namespace vigil::platform {

struct PluginFile {
  std::string module;
  std::string arch;
  std::string version;
  std::string sha256;
  int64_t length = 0;
  std::string path;  // the target path: plugins/<arch>/<module>-<version>.so
};

class UpdateRepository {
 public:
  static constexpr int64_t kDay = 86'400;
  static constexpr int64_t kRootLife = 365 * kDay, kTargetsLife = 90 * kDay, kSnapshotLife = 30 * kDay,
                           kTimestampLife = 7 * kDay;

  UpdateRepository(sqlite::Database& db, std::filesystem::path key_dir);

  bool initialised();
  // Makes `keys` keys per role (each role needs `threshold` of them) and
  // publishes root, targets, snapshot and timestamp v1. Refuses when keys exist.
  void init(int keys, int threshold, int64_t now);
  // Replaces the role's keys by as many new ones: root N+1 lists them, signed
  // by the old root keys and (for root) the new ones; the role and those that
  // describe it are signed again with the new keys.
  void rotate(tuf::Role role, int64_t now);
  // Adds a plugin file to targets (the newest of its module and arch is the
  // current one) and signs targets, snapshot and timestamp, in one transaction.
  PluginFile publish_plugin(const std::string& module, const std::string& arch, const std::string& version,
                            const std::string& library, int64_t now);
  // A self-protection key for `agent_id`, valid `life` seconds from `now`,
  // signed by the current root's keys (docs/self-protection.md).
  std::string protection_key(const std::string& agent_id, int64_t now, int64_t life);
  // Signs new versions of online roles near their expiry; true if it did.
  bool renew(int64_t now);

  // A role's metadata: the newest, or `version`.
  std::optional<std::string> metadata(tuf::Role role, std::optional<int64_t> version = std::nullopt);
  int64_t version(tuf::Role role);
  // A published plugin file's bytes, by sha256: `max` bytes from `offset`.
  struct Chunk {
    PluginFile file;
    std::string bytes;
  };
  std::optional<Chunk> plugin_chunk(const std::string& sha256, int64_t offset, int64_t max);
  std::vector<PluginFile> plugins();
  // Key ids, versions and time left per role, with warnings (JSON).
  nlohmann::json show(int64_t now);

 private:
  struct Key {
    std::string id;
    tuf::SigningKey key;
  };
  std::vector<Key> keys_of(const nlohmann::json& root_body, tuf::Role role);
  Key new_key(tuf::Role role);
  nlohmann::json current_body(tuf::Role role);
  void store(tuf::Role role, const nlohmann::json& body, const std::vector<Key>& signers);
  void sign_targets(int64_t now);
  void sign_snapshot(int64_t now);
  void sign_timestamp(int64_t now);

  sqlite::Database& db_;
  std::filesystem::path key_dir_;
};

}  // namespace vigil::platform
