// The reference platform's database (SQLite, WAL): customers, activation keys,
// configuration profiles, agents, manifests, queued commands, received
// uploads and each agent's current results. Used by the server and by the
// admin commands (another process) alike; not thread-safe, callers lock.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vigil/agent/v1/agent.pb.h"
#include "vigil/sqlite/sqlite.h"

namespace vigil::platform {

namespace v1 = ::vigil::agent::v1;

struct ActivationKey {
  std::string id;
  std::string customer_id;
  std::vector<std::string> modules;
  std::vector<std::string> tags;
  std::string profile;
};

struct AgentRecord {
  std::string id;
  std::string token_hash;
  std::string customer_id;
  std::string activation_id;
  std::string fingerprint;
  std::string hostname;
  std::string state;  // active, superseded, uninstalled
  std::string previous_agent_id;
  std::string reason;
  int64_t provisioned_at = 0;
  int64_t last_checkin = 0;
  int64_t last_sequence = 0;
  int64_t outbox_depth = 0;
  std::string status_digest;
  nlohmann::json modules = nlohmann::json::array();
  nlohmann::json health = nullptr;  // the digest of its last check-in that carried one (docs/platform.md)
  nlohmann::json ignored_settings = nlohmann::json::array();  // as the agent last reported them
};

struct StoredManifest {
  std::string module;
  std::string manifest_type;
  std::string version;
  std::string body;
};

struct QueuedCommand {
  int64_t id = 0;
  std::string agent_id;
  std::string kind;  // scan_now, uninstall, reprovision, rotate_token
  nlohmann::json arguments;
};

struct CanaryEvent {
  std::string action;
  int64_t time_ms = 0;
  int64_t received_at = 0;
};

struct UploadOutcome {
  bool duplicate = false;
  int64_t rows_applied = 0;
};

class PlatformStore {
 public:
  explicit PlatformStore(const std::filesystem::path& file);

  // Moves with every change the admin commands make (keys, profiles,
  // manifests, commands, packages), so the server knows to reload its caches.
  int64_t generation();
  sqlite::Database& db() { return db_; }

  void add_customer(const std::string& id, const std::string& name);
  bool customer_exists(const std::string& id);
  void put_key(const ActivationKey& key);
  std::optional<ActivationKey> key(const std::string& id);
  std::vector<ActivationKey> keys();

  // Profiles are JSON documents (docs/platform.md); version bumps on change.
  void put_profile(const std::string& name, const nlohmann::json& body);
  std::optional<nlohmann::json> profile(const std::string& name);

  void put_manifest(const StoredManifest& manifest);
  std::optional<StoredManifest> manifest(const std::string& module, const std::string& manifest_type);
  std::vector<StoredManifest> manifest_versions();  // bodies left empty
  // A manifest published per OS release (vm-advisories): its manifests row
  // carries the version, this table the body each release is served.
  void put_release_manifest(const StoredManifest& manifest, const std::string& release);
  std::optional<std::string> release_manifest(const std::string& module, const std::string& manifest_type,
                                              const std::string& release);

  // Imported advisories, one manifest line each (docs/vulnerability-management.md).
  class AdvisoryWriter {
   public:
    explicit AdvisoryWriter(PlatformStore& store);
    void put(const std::string& release, const std::string& id, const std::string& manager, const std::string& package,
             const std::string& line);

   private:
    sqlite::Statement insert_;
  };
  // The releases with advisories, and how many each has.
  std::vector<std::pair<std::string, int64_t>> advisory_releases();
  // Calls `line` for each advisory line of `release`, by package and id.
  void advisory_lines(const std::string& release, const std::function<void(const std::string&)>& line);

  void put_agent(const AgentRecord& agent);
  std::optional<AgentRecord> agent(const std::string& id);
  std::optional<std::string> agent_by_nonce(const std::string& nonce);
  void set_agent_nonce(const std::string& id, const std::string& nonce);
  std::vector<AgentRecord> agents();
  void set_agent_state(const std::string& id, const std::string& state);
  // Check-in facts, written in batches by the server.
  void touch_agent(const std::string& id, int64_t last_checkin, int64_t outbox_depth);
  void set_agent_modules(const std::string& id, const std::string& digest, const nlohmann::json& modules);
  // The health digest of the agent's last check-in: {overall, findings, top_code, top_text, checked_at}.
  void set_agent_health(const std::string& id, const nlohmann::json& health);

  int64_t queue_command(const std::string& agent_id, const std::string& kind, const nlohmann::json& arguments);
  std::vector<QueuedCommand> pending_commands(const std::string& agent_id);
  std::vector<std::string> agents_with_commands();
  // A rotate_token command is done only when the agent used its new token
  // (finish_token_rotation), never on the agent's word.
  void command_done(const std::string& agent_id, int64_t id);
  // What the agent reported of a command it carried out (command_done first).
  void command_outcome(const std::string& agent_id, const v1::CommandOutcome& outcome);
  // The agent's newest `limit` commands, newest first: queued ones
  // ("waiting for the agent") and carried out ones with their outcome.
  nlohmann::json commands(const std::string& agent_id, int64_t limit);
  static constexpr int64_t kCommandsKept = 200;
  void set_ignored_settings(const std::string& agent_id, const nlohmann::json& settings);
  // The hash of the token a pending rotate_token command last handed out.
  void set_command_arguments(int64_t id, const nlohmann::json& arguments);
  // The agent used its new token: it becomes the only one, the command ends.
  void finish_token_rotation(const std::string& agent_id, const std::string& token_hash);

  // Applies one upload exactly once: a sequence at or below the last one of
  // its (agent, module) is acknowledged as a duplicate and changes nothing.
  // A delta's chunks are staged until its last chunk arrives, then applied
  // together. Throws on a payload that is not a DeltaChunk or EventBatch, or
  // a chunk out of order (nothing applied).
  UploadOutcome apply_upload(const std::string& agent_id, int64_t sequence, const std::string& module,
                             const std::string& kind, const std::string& payload, int64_t now);
  // module -> table -> rows ({key, values}) of the agent's current state.
  nlohmann::json results(const std::string& agent_id, const std::optional<std::string>& module);
  nlohmann::json upload_counts(const std::string& agent_id);
  // module -> the last complete snapshot ({snapshot_id, row_count, chunks,
  // completed_at}), the rows the platform holds, and a snapshot still arriving ({snapshot_id, chunks}).
  nlohmann::json snapshots(const std::string& agent_id);
  // The agent's latest `limit` events (oldest first), each {module, sequence, event}.
  nlohmann::json events(const std::string& agent_id, const std::optional<std::string>& module, int64_t limit);
  // The first event of the agent's `module` whose "path" value is `path` and
  // whose time is at or after `since_ms` (vigilctl health --canary).
  std::optional<CanaryEvent> canary_event(const std::string& agent_id, const std::string& module,
                                          const std::string& path, int64_t since_ms);

  // Moves the generation for changes made outside this class (the update
  // repository's signing and publishing).
  void bump_generation();

 private:
  // Stages a chunk's rows; the last chunk applies the whole snapshot. Returns the chunk's rows.
  int64_t stage_chunk(const std::string& agent_id, const std::string& module, const v1::DeltaChunk& chunk);
  void complete_snapshot(const std::string& agent_id, const std::string& module, const v1::DeltaChunk& chunk);

  sqlite::Database db_;
  std::unique_ptr<sqlite::Statement> generation_query_;
};

}  // namespace vigil::platform
