// A TUF repository in memory that tests drive into every state, good or bad,
// after the public tuf-conformance suite's simulator: each role's "signed"
// part is plain JSON that a test may edit, publish() signs it with the role's
// signers and appends it to the role's published versions (version N is the
// Nth published document, whatever it says inside), and fetch() serves them
// and records each request.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/tuf/ed25519.h"
#include "vigil/tuf/metadata.h"
#include "vigil/tuf/updater.h"

namespace vigil::tuf::testing {

// 2026-06-01T00:00:00Z: the tests' "now".
inline constexpr int64_t kNow = 1'780'272'000;
inline constexpr int64_t kDay = 86'400;

class RepoSimulator : public Fetcher {
 public:
  // Root, timestamp, snapshot and targets v1, one key each, threshold 1.
  RepoSimulator();

  nlohmann::json& body(Role role) { return bodies_[role]; }
  std::vector<SigningKey>& signers(Role role) { return signers_[role]; }

  static SigningKey new_signer();
  // Lists the key for the role in root and signs the role with it.
  void add_key(Role role, const SigningKey& key, const nlohmann::json& extra_key_fields = nullptr);
  // Removes every key of the role from root, and its signers.
  void clear_keys(Role role);
  // Replaces the role's keys by `threshold` new ones.
  void rotate_keys(Role role);

  // Signs and publishes each role in turn, bumping its version when it has
  // been published before; targets and snapshot are then described in
  // snapshot and timestamp (with length and sha256 when compute_hashes).
  void publish(const std::vector<Role>& roles);
  void publish_all() { publish({Role::kRoot, Role::kTargets, Role::kSnapshot, Role::kTimestamp}); }

  // Adds a target file with its sha256, listed in targets when published.
  void add_target(const std::string& path, const std::string& data, nlohmann::json custom = nullptr);
  const std::string& target_data(const std::string& path) { return target_data_[path]; }

  std::map<Role, std::vector<std::string>> published;
  std::vector<std::pair<Role, std::optional<int64_t>>> requests;
  bool compute_hashes = false;

  Result<std::string> fetch(Role role, std::optional<int64_t> version, size_t max_bytes) override;
  // The whole document: `body` signed by each of `keys`.
  std::string sign(const nlohmann::json& body, const std::vector<SigningKey>& keys);

 private:
  std::map<Role, nlohmann::json> bodies_;
  std::map<Role, std::vector<SigningKey>> signers_;
  std::map<std::string, std::string> target_data_;
  std::map<std::string, std::string> key_ids_;  // by public key, as root lists them
};

// The client's side: trusted metadata in memory, with a switch that makes
// every save fail.
class MemoryStore : public TrustedStore {
 public:
  Result<std::optional<std::string>> load(Role role) override;
  Status save(Role role, int64_t version, int64_t expires, const std::string& bytes) override;
  Status erase(Role role) override;

  // (role, version) of every stored document, in role-name order.
  std::vector<std::pair<std::string, int64_t>> trusted_roles() const;
  std::optional<int64_t> version(Role role) const;

  std::map<Role, std::string> documents;
  bool fail_saves = false;
};

}  // namespace vigil::tuf::testing
