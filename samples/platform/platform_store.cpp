#include "platform_store.h"

#include <sqlite3.h>

namespace vigil::platform {

using nlohmann::json;

namespace {

constexpr const char* kSchema = R"sql(
  CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  INSERT OR IGNORE INTO meta (name, value) VALUES ('generation', 0);
  CREATE TABLE IF NOT EXISTS customers (id TEXT PRIMARY KEY, name TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS activation_keys (
    id TEXT PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES customers (id),
    modules TEXT NOT NULL, tags TEXT NOT NULL, profile TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS profiles (name TEXT PRIMARY KEY, body TEXT NOT NULL, version INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS manifests (
    module TEXT NOT NULL, manifest_type TEXT NOT NULL, version TEXT NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (module, manifest_type));
  CREATE TABLE IF NOT EXISTS agents (
    id TEXT PRIMARY KEY, token_hash TEXT NOT NULL, customer_id TEXT NOT NULL, activation_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL, hostname TEXT NOT NULL, state TEXT NOT NULL, previous_agent_id TEXT NOT NULL,
    reason TEXT NOT NULL, provisioned_at INTEGER NOT NULL, last_checkin INTEGER NOT NULL DEFAULT 0,
    last_sequence INTEGER NOT NULL DEFAULT 0, outbox_depth INTEGER NOT NULL DEFAULT 0,
    status_digest TEXT NOT NULL DEFAULT '', modules TEXT NOT NULL DEFAULT '[]', nonce TEXT);
  CREATE UNIQUE INDEX IF NOT EXISTS agents_by_nonce ON agents (nonce);
  CREATE TABLE IF NOT EXISTS commands (
    id INTEGER PRIMARY KEY AUTOINCREMENT, agent_id TEXT NOT NULL, kind TEXT NOT NULL,
    arguments TEXT NOT NULL, created_at INTEGER NOT NULL);
  CREATE INDEX IF NOT EXISTS commands_by_agent ON commands (agent_id, id);
  CREATE TABLE IF NOT EXISTS command_history (
    id INTEGER PRIMARY KEY, agent_id TEXT NOT NULL, kind TEXT NOT NULL, arguments TEXT NOT NULL,
    created_at INTEGER NOT NULL, outcome TEXT NOT NULL DEFAULT 'done', reason TEXT NOT NULL DEFAULT '',
    control_id TEXT NOT NULL DEFAULT '', updated_at INTEGER NOT NULL DEFAULT 0);
  CREATE INDEX IF NOT EXISTS command_history_by_agent ON command_history (agent_id, id);
  CREATE TABLE IF NOT EXISTS agent_ignored_settings (
    agent_id TEXT PRIMARY KEY, settings TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS uploads (
    agent_id TEXT NOT NULL, sequence INTEGER NOT NULL, module TEXT NOT NULL, kind TEXT NOT NULL,
    received_at INTEGER NOT NULL, bytes INTEGER NOT NULL, rows INTEGER NOT NULL,
    PRIMARY KEY (agent_id, sequence)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS agent_rows (
    agent_id TEXT NOT NULL, module TEXT NOT NULL, table_name TEXT NOT NULL, row_key TEXT NOT NULL,
    row_values TEXT NOT NULL, PRIMARY KEY (agent_id, module, table_name, row_key)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS agent_events (
    agent_id TEXT NOT NULL, module TEXT NOT NULL, sequence INTEGER NOT NULL, event TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS module_sequences (
    agent_id TEXT NOT NULL, module TEXT NOT NULL, last_sequence INTEGER NOT NULL,
    PRIMARY KEY (agent_id, module)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS staged_snapshots (
    agent_id TEXT NOT NULL, module TEXT NOT NULL, snapshot_id INTEGER NOT NULL, next_chunk INTEGER NOT NULL,
    PRIMARY KEY (agent_id, module)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS staged_rows (
    agent_id TEXT NOT NULL, module TEXT NOT NULL, table_name TEXT NOT NULL, row_key TEXT NOT NULL,
    row_values TEXT, PRIMARY KEY (agent_id, module, table_name, row_key)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS agent_health (agent_id TEXT PRIMARY KEY, health TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS complete_snapshots (
    agent_id TEXT NOT NULL, module TEXT NOT NULL, snapshot_id INTEGER NOT NULL, row_count INTEGER NOT NULL,
    chunks INTEGER NOT NULL, completed_at INTEGER NOT NULL, PRIMARY KEY (agent_id, module)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS advisories (
    release TEXT NOT NULL, id TEXT NOT NULL, manager TEXT NOT NULL, package TEXT NOT NULL, line TEXT NOT NULL,
    PRIMARY KEY (release, package, id, manager)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS release_manifests (
    module TEXT NOT NULL, manifest_type TEXT NOT NULL, release TEXT NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (module, manifest_type, release)) WITHOUT ROWID;
)sql";

std::vector<std::string> string_list(const std::string& text) {
  return json::parse(text).get<std::vector<std::string>>();
}

AgentRecord read_agent(sqlite::Statement& row) {
  AgentRecord agent;
  agent.id = row.text(0);
  agent.token_hash = row.text(1);
  agent.customer_id = row.text(2);
  agent.activation_id = row.text(3);
  agent.fingerprint = row.text(4);
  agent.hostname = row.text(5);
  agent.state = row.text(6);
  agent.previous_agent_id = row.text(7);
  agent.reason = row.text(8);
  agent.provisioned_at = row.integer(9);
  agent.last_checkin = row.integer(10);
  agent.last_sequence = row.integer(11);
  agent.outbox_depth = row.integer(12);
  agent.status_digest = row.text(13);
  agent.modules = json::parse(row.text(14));
  if (!row.is_null(15)) agent.health = json::parse(row.text(15));
  if (!row.is_null(16)) agent.ignored_settings = json::parse(row.text(16));
  return agent;
}

constexpr const char* kAgentColumns =
    "id, token_hash, customer_id, activation_id, fingerprint, hostname, state, previous_agent_id, reason, "
    "provisioned_at, last_checkin, last_sequence, outbox_depth, status_digest, modules, "
    "(SELECT health FROM agent_health WHERE agent_health.agent_id = agents.id), "
    "(SELECT settings FROM agent_ignored_settings WHERE agent_ignored_settings.agent_id = agents.id)";

// NULL matches every module in "?N IS NULL OR module = ?N".
void bind_module(sqlite::Statement& statement, int index, const std::optional<std::string>& module) {
  if (module) {
    statement.bind(index, *module);
  } else {
    statement.bind_null(index);
  }
}

}  // namespace

PlatformStore::PlatformStore(const std::filesystem::path& file) : db_(file.string()) {
  sqlite3_busy_timeout(db_.handle(), 10000);
  db_.exec("PRAGMA journal_mode=WAL");
  db_.exec("PRAGMA synchronous=NORMAL");
  db_.exec(kSchema);
}

int64_t PlatformStore::generation() {
  // Asked on every request: prepared once.
  if (!generation_query_) {
    generation_query_ = std::make_unique<sqlite::Statement>(db_, "SELECT value FROM meta WHERE name = 'generation'");
  }
  generation_query_->step();
  int64_t value = generation_query_->integer(0);
  generation_query_->reset();
  return value;
}

void PlatformStore::bump_generation() {
  db_.exec("UPDATE meta SET value = value + 1 WHERE name = 'generation'");
}

void PlatformStore::add_customer(const std::string& id, const std::string& name) {
  sqlite::Statement(db_, "INSERT INTO customers (id, name) VALUES (?, ?)").bind(1, id).bind(2, name).run();
  bump_generation();
}

bool PlatformStore::customer_exists(const std::string& id) {
  sqlite::Statement statement(db_, "SELECT 1 FROM customers WHERE id = ?");
  statement.bind(1, id);
  return statement.step();
}

void PlatformStore::put_key(const ActivationKey& key) {
  sqlite::Statement(db_,
                    "INSERT INTO activation_keys (id, customer_id, modules, tags, profile) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET modules = excluded.modules, tags = excluded.tags, "
                    "profile = excluded.profile")
      .bind(1, key.id)
      .bind(2, key.customer_id)
      .bind(3, json(key.modules).dump())
      .bind(4, json(key.tags).dump())
      .bind(5, key.profile)
      .run();
  bump_generation();
}

std::optional<ActivationKey> PlatformStore::key(const std::string& id) {
  for (auto& key : keys()) {
    if (key.id == id) return key;
  }
  return std::nullopt;
}

std::vector<ActivationKey> PlatformStore::keys() {
  sqlite::Statement statement(db_, "SELECT id, customer_id, modules, tags, profile FROM activation_keys ORDER BY id");
  std::vector<ActivationKey> keys;
  while (statement.step()) {
    keys.push_back({statement.text(0), statement.text(1), string_list(statement.text(2)),
                    string_list(statement.text(3)), statement.text(4)});
  }
  return keys;
}

void PlatformStore::put_profile(const std::string& name, const json& body) {
  sqlite::Statement(db_,
                    "INSERT INTO profiles (name, body, version) VALUES (?, ?, 1) "
                    "ON CONFLICT (name) DO UPDATE SET body = excluded.body, version = version + 1")
      .bind(1, name)
      .bind(2, body.dump())
      .run();
  bump_generation();
}

std::optional<json> PlatformStore::profile(const std::string& name) {
  sqlite::Statement statement(db_, "SELECT body FROM profiles WHERE name = ?");
  statement.bind(1, name);
  if (!statement.step()) return std::nullopt;
  return json::parse(statement.text(0));
}

void PlatformStore::put_manifest(const StoredManifest& manifest) {
  sqlite::Statement(db_,
                    "INSERT INTO manifests (module, manifest_type, version, body) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (module, manifest_type) DO UPDATE SET version = excluded.version, "
                    "body = excluded.body")
      .bind(1, manifest.module)
      .bind(2, manifest.manifest_type)
      .bind(3, manifest.version)
      .bind(4, manifest.body)
      .run();
  bump_generation();
}

std::optional<StoredManifest> PlatformStore::manifest(const std::string& module, const std::string& manifest_type) {
  sqlite::Statement statement(db_, "SELECT version, body FROM manifests WHERE module = ? AND manifest_type = ?");
  statement.bind(1, module).bind(2, manifest_type);
  if (!statement.step()) return std::nullopt;
  return StoredManifest{module, manifest_type, statement.text(0), statement.text(1)};
}

std::vector<StoredManifest> PlatformStore::manifest_versions() {
  sqlite::Statement statement(db_,
                              "SELECT module, manifest_type, version FROM manifests ORDER BY module, manifest_type");
  std::vector<StoredManifest> list;
  while (statement.step()) list.push_back({statement.text(0), statement.text(1), statement.text(2), {}});
  return list;
}

void PlatformStore::put_release_manifest(const StoredManifest& manifest, const std::string& release) {
  sqlite::Statement(db_,
                    "INSERT INTO release_manifests (module, manifest_type, release, body) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (module, manifest_type, release) DO UPDATE SET body = excluded.body")
      .bind(1, manifest.module)
      .bind(2, manifest.manifest_type)
      .bind(3, release)
      .bind_blob(4, manifest.body)
      .run();
}

std::optional<std::string> PlatformStore::release_manifest(const std::string& module, const std::string& manifest_type,
                                                           const std::string& release) {
  sqlite::Statement statement(
      db_, "SELECT body FROM release_manifests WHERE module = ? AND manifest_type = ? AND release = ?");
  statement.bind(1, module).bind(2, manifest_type).bind(3, release);
  if (!statement.step()) return std::nullopt;
  return statement.text(0);
}

PlatformStore::AdvisoryWriter::AdvisoryWriter(PlatformStore& store)
    : insert_(store.db_,
              "INSERT INTO advisories (release, id, manager, package, line) VALUES (?, ?, ?, ?, ?) "
              "ON CONFLICT (release, package, id, manager) DO UPDATE SET line = excluded.line") {}

void PlatformStore::AdvisoryWriter::put(const std::string& release, const std::string& id, const std::string& manager,
                                        const std::string& package, const std::string& line) {
  insert_.bind(1, release).bind(2, id).bind(3, manager).bind(4, package).bind(5, line);
  insert_.run();
}

std::vector<std::pair<std::string, int64_t>> PlatformStore::advisory_releases() {
  sqlite::Statement statement(db_, "SELECT release, COUNT(*) FROM advisories GROUP BY release ORDER BY release");
  std::vector<std::pair<std::string, int64_t>> releases;
  while (statement.step()) releases.emplace_back(statement.text(0), statement.integer(1));
  return releases;
}

void PlatformStore::advisory_lines(const std::string& release, const std::function<void(const std::string&)>& line) {
  sqlite::Statement statement(db_, "SELECT line FROM advisories WHERE release = ? ORDER BY package, id, manager");
  statement.bind(1, release);
  while (statement.step()) line(statement.text(0));
}

void PlatformStore::put_agent(const AgentRecord& agent) {
  sqlite::Statement(db_,
                    "INSERT INTO agents (id, token_hash, customer_id, activation_id, fingerprint, hostname, state, "
                    "previous_agent_id, reason, provisioned_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash, "
                    "customer_id = excluded.customer_id, activation_id = excluded.activation_id, "
                    "fingerprint = excluded.fingerprint, hostname = excluded.hostname, state = excluded.state, "
                    "reason = excluded.reason, provisioned_at = excluded.provisioned_at")
      .bind(1, agent.id)
      .bind(2, agent.token_hash)
      .bind(3, agent.customer_id)
      .bind(4, agent.activation_id)
      .bind(5, agent.fingerprint)
      .bind(6, agent.hostname)
      .bind(7, agent.state)
      .bind(8, agent.previous_agent_id)
      .bind(9, agent.reason)
      .bind(10, agent.provisioned_at)
      .run();
}

std::optional<AgentRecord> PlatformStore::agent(const std::string& id) {
  sqlite::Statement statement(db_, (std::string("SELECT ") + kAgentColumns + " FROM agents WHERE id = ?").c_str());
  statement.bind(1, id);
  if (!statement.step()) return std::nullopt;
  return read_agent(statement);
}

std::optional<std::string> PlatformStore::agent_by_nonce(const std::string& nonce) {
  sqlite::Statement statement(db_, "SELECT id FROM agents WHERE nonce = ?");
  statement.bind(1, nonce);
  if (!statement.step()) return std::nullopt;
  return statement.text(0);
}

void PlatformStore::set_agent_nonce(const std::string& id, const std::string& nonce) {
  sqlite::Statement(db_, "UPDATE agents SET nonce = ? WHERE id = ?").bind(1, nonce).bind(2, id).run();
}

std::vector<AgentRecord> PlatformStore::agents() {
  sqlite::Statement statement(
      db_, (std::string("SELECT ") + kAgentColumns + " FROM agents ORDER BY provisioned_at, id").c_str());
  std::vector<AgentRecord> list;
  while (statement.step()) list.push_back(read_agent(statement));
  return list;
}

void PlatformStore::set_agent_state(const std::string& id, const std::string& state) {
  sqlite::Statement(db_, "UPDATE agents SET state = ? WHERE id = ?").bind(1, state).bind(2, id).run();
}

void PlatformStore::touch_agent(const std::string& id, int64_t last_checkin, int64_t outbox_depth) {
  sqlite::Statement(db_, "UPDATE agents SET last_checkin = ?, outbox_depth = ? WHERE id = ?")
      .bind(1, last_checkin)
      .bind(2, outbox_depth)
      .bind(3, id)
      .run();
}

void PlatformStore::set_agent_health(const std::string& id, const json& health) {
  sqlite::Statement(db_,
                    "INSERT INTO agent_health (agent_id, health) VALUES (?, ?) "
                    "ON CONFLICT (agent_id) DO UPDATE SET health = excluded.health")
      .bind(1, id)
      .bind(2, health.dump())
      .run();
}

void PlatformStore::set_agent_modules(const std::string& id, const std::string& digest, const json& modules) {
  sqlite::Statement(db_, "UPDATE agents SET status_digest = ?, modules = ? WHERE id = ?")
      .bind(1, digest)
      .bind(2, modules.dump())
      .bind(3, id)
      .run();
}

int64_t PlatformStore::queue_command(const std::string& agent_id, const std::string& kind, const json& arguments) {
  sqlite::Statement(db_, "INSERT INTO commands (agent_id, kind, arguments, created_at) VALUES (?, ?, ?, unixepoch())")
      .bind(1, agent_id)
      .bind(2, kind)
      .bind(3, arguments.dump())
      .run();
  int64_t id = sqlite3_last_insert_rowid(db_.handle());
  bump_generation();
  return id;
}

std::vector<QueuedCommand> PlatformStore::pending_commands(const std::string& agent_id) {
  sqlite::Statement statement(db_, "SELECT id, kind, arguments FROM commands WHERE agent_id = ? ORDER BY id");
  statement.bind(1, agent_id);
  std::vector<QueuedCommand> list;
  while (statement.step()) {
    list.push_back({statement.integer(0), agent_id, statement.text(1), json::parse(statement.text(2))});
  }
  return list;
}

std::vector<std::string> PlatformStore::agents_with_commands() {
  sqlite::Statement statement(db_, "SELECT DISTINCT agent_id FROM commands");
  std::vector<std::string> list;
  while (statement.step()) list.push_back(statement.text(0));
  return list;
}

void PlatformStore::command_done(const std::string& agent_id, int64_t id) {
  // Kept with its outcome (command_outcome) for admin commands; rotate_token
  // ends when the agent uses its new token, never on its word.
  sqlite::Transaction transaction(db_);
  sqlite::Statement(db_,
                    "INSERT OR IGNORE INTO command_history (id, agent_id, kind, arguments, created_at, updated_at) "
                    "SELECT id, agent_id, kind, arguments, created_at, unixepoch() FROM commands "
                    "WHERE agent_id = ? AND id = ? AND kind != 'rotate_token'")
      .bind(1, agent_id)
      .bind(2, id)
      .run();
  sqlite::Statement(db_, "DELETE FROM commands WHERE agent_id = ? AND id = ? AND kind != 'rotate_token'")
      .bind(1, agent_id)
      .bind(2, id)
      .run();
  // The history is bounded: the newest kCommandsKept per agent.
  sqlite::Statement(db_,
                    "DELETE FROM command_history WHERE agent_id = ?1 AND id <= (SELECT id FROM command_history "
                    "WHERE agent_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)")
      .bind(1, agent_id)
      .bind(2, kCommandsKept)
      .run();
  transaction.commit();
}

void PlatformStore::command_outcome(const std::string& agent_id, const v1::CommandOutcome& outcome) {
  // A final outcome is never replaced by "queued" (the agent resends until acknowledged).
  sqlite::Statement(db_,
                    "UPDATE command_history SET outcome = ?, reason = ?, "
                    "control_id = CASE WHEN ? = '' THEN control_id ELSE ? END, updated_at = ? "
                    "WHERE agent_id = ? AND id = ? AND NOT (? = 'queued' AND outcome IN "
                    "('completed', 'failed', 'cancelled'))")
      .bind(1, outcome.outcome())
      .bind(2, outcome.reason())
      .bind(3, outcome.control_id())
      .bind(4, outcome.control_id())
      .bind(5, outcome.at())
      .bind(6, agent_id)
      .bind(7, static_cast<int64_t>(outcome.id()))
      .bind(8, outcome.outcome())
      .run();
}

json PlatformStore::commands(const std::string& agent_id, int64_t limit) {
  json list = json::array();
  sqlite::Statement statement(db_,
                              "SELECT id, kind, arguments, created_at, 'waiting for the agent', '', '', 0 "
                              "FROM commands WHERE agent_id = ?1 UNION ALL "
                              "SELECT id, kind, arguments, created_at, outcome, reason, control_id, updated_at "
                              "FROM command_history WHERE agent_id = ?1 ORDER BY 1 DESC LIMIT ?2");
  statement.bind(1, agent_id).bind(2, limit);
  while (statement.step()) {
    list.push_back({{"id", statement.integer(0)},
                    {"kind", statement.text(1)},
                    {"arguments", json::parse(statement.text(2))},
                    {"created_at", statement.integer(3)},
                    {"outcome", statement.text(4)},
                    {"reason", statement.text(5)},
                    {"control_id", statement.text(6)},
                    {"updated_at", statement.integer(7)}});
  }
  return list;
}

void PlatformStore::set_ignored_settings(const std::string& agent_id, const json& settings) {
  sqlite::Statement(db_,
                    "INSERT INTO agent_ignored_settings (agent_id, settings) VALUES (?, ?) "
                    "ON CONFLICT (agent_id) DO UPDATE SET settings = excluded.settings")
      .bind(1, agent_id)
      .bind(2, settings.dump())
      .run();
}

void PlatformStore::set_command_arguments(int64_t id, const json& arguments) {
  sqlite::Statement(db_, "UPDATE commands SET arguments = ? WHERE id = ?").bind(1, arguments.dump()).bind(2, id).run();
}

void PlatformStore::finish_token_rotation(const std::string& agent_id, const std::string& token_hash) {
  sqlite::Transaction transaction(db_);
  sqlite::Statement(db_, "UPDATE agents SET token_hash = ? WHERE id = ?").bind(1, token_hash).bind(2, agent_id).run();
  sqlite::Statement(db_, "DELETE FROM commands WHERE agent_id = ? AND kind = 'rotate_token'").bind(1, agent_id).run();
  transaction.commit();
}

namespace {

// A row's columns as the canonical JSON object text the agent keys rows by.
std::string columns_text(const google::protobuf::RepeatedPtrField<v1::Column>& columns) {
  json object = json::object();
  for (const auto& column : columns) object[column.name()] = column.value();
  return object.dump();
}

}  // namespace

int64_t PlatformStore::stage_chunk(const std::string& agent_id, const std::string& module,
                                   const v1::DeltaChunk& chunk) {
  if (chunk.module() != module) {
    throw std::invalid_argument("chunk of module '" + chunk.module() + "' uploaded as module '" + module + "'");
  }
  if (chunk.chunk_index() == 0) {
    // A new snapshot: whatever an earlier, never completed one staged goes.
    sqlite::Statement(db_, "DELETE FROM staged_rows WHERE agent_id = ? AND module = ?")
        .bind(1, agent_id)
        .bind(2, module)
        .run();
    sqlite::Statement(db_,
                      "INSERT INTO staged_snapshots (agent_id, module, snapshot_id, next_chunk) VALUES (?, ?, ?, 0) "
                      "ON CONFLICT DO UPDATE SET snapshot_id = excluded.snapshot_id, next_chunk = 0")
        .bind(1, agent_id)
        .bind(2, module)
        .bind(3, chunk.snapshot_id())
        .run();
  }
  sqlite::Statement staged(db_,
                           "SELECT snapshot_id, next_chunk FROM staged_snapshots WHERE agent_id = ? AND module = ?");
  staged.bind(1, agent_id).bind(2, module);
  if (!staged.step() || staged.integer(0) != chunk.snapshot_id() ||
      staged.integer(1) != static_cast<int64_t>(chunk.chunk_index())) {
    throw std::invalid_argument("chunk " + std::to_string(chunk.chunk_index()) + " of snapshot " +
                                std::to_string(chunk.snapshot_id()) + " arrived without the chunks before it");
  }
  staged.reset();
  sqlite::Statement stage(db_,
                          "INSERT INTO staged_rows (agent_id, module, table_name, row_key, row_values) "
                          "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET row_values = excluded.row_values");
  int64_t rows = 0;
  for (const auto* part : {&chunk.added(), &chunk.changed(), &chunk.removed()}) {
    for (const v1::Row& row : *part) {
      if (row.table().empty() || row.key().empty()) throw std::invalid_argument("a row without table or key");
      stage.bind(1, agent_id).bind(2, module).bind(3, row.table()).bind(4, columns_text(row.key()));
      if (part == &chunk.removed()) {
        stage.bind_null(5);  // NULL: remove the row
      } else {
        stage.bind(5, columns_text(row.values()));
      }
      stage.run();
      ++rows;
    }
  }
  sqlite::Statement(db_, "UPDATE staged_snapshots SET next_chunk = next_chunk + 1 WHERE agent_id = ? AND module = ?")
      .bind(1, agent_id)
      .bind(2, module)
      .run();
  if (chunk.last_chunk()) complete_snapshot(agent_id, module, chunk);
  return rows;
}

void PlatformStore::complete_snapshot(const std::string& agent_id, const std::string& module,
                                      const v1::DeltaChunk& chunk) {
  // Set-wise, inside the upload's transaction: readers of agent_rows see the
  // snapshot before or after, never half of it, and memory stays flat.
  sqlite::Statement(db_,
                    "INSERT INTO agent_rows (agent_id, module, table_name, row_key, row_values) "
                    "SELECT agent_id, module, table_name, row_key, row_values FROM staged_rows "
                    "WHERE agent_id = ?1 AND module = ?2 AND row_values IS NOT NULL "
                    "ON CONFLICT DO UPDATE SET row_values = excluded.row_values")
      .bind(1, agent_id)
      .bind(2, module)
      .run();
  sqlite::Statement(db_,
                    "DELETE FROM agent_rows WHERE agent_id = ?1 AND module = ?2 AND (table_name, row_key) IN "
                    "(SELECT table_name, row_key FROM staged_rows WHERE agent_id = ?1 AND module = ?2 "
                    "AND row_values IS NULL)")
      .bind(1, agent_id)
      .bind(2, module)
      .run();
  sqlite::Statement(db_, "DELETE FROM staged_rows WHERE agent_id = ? AND module = ?")
      .bind(1, agent_id)
      .bind(2, module)
      .run();
  sqlite::Statement(db_, "DELETE FROM staged_snapshots WHERE agent_id = ? AND module = ?")
      .bind(1, agent_id)
      .bind(2, module)
      .run();
  sqlite::Statement(db_,
                    "INSERT INTO complete_snapshots (agent_id, module, snapshot_id, row_count, chunks, completed_at) "
                    "VALUES (?, ?, ?, ?, ?, unixepoch()) ON CONFLICT DO UPDATE SET snapshot_id = excluded.snapshot_id, "
                    "row_count = excluded.row_count, chunks = excluded.chunks, completed_at = excluded.completed_at")
      .bind(1, agent_id)
      .bind(2, module)
      .bind(3, chunk.snapshot_id())
      .bind(4, chunk.row_count())
      .bind(5, static_cast<int64_t>(chunk.chunk_index()) + 1)
      .run();
}

UploadOutcome PlatformStore::apply_upload(const std::string& agent_id, int64_t sequence, const std::string& module,
                                          const std::string& kind, const std::string& payload, int64_t now) {
  sqlite::Transaction transaction(db_);
  sqlite::Statement known(db_, "SELECT 1 FROM agents WHERE id = ?");
  known.bind(1, agent_id);
  if (!known.step()) throw std::invalid_argument("unknown agent");
  known.reset();
  // Each module's uploads arrive in sequence order; modules interleave.
  sqlite::Statement last(db_, "SELECT last_sequence FROM module_sequences WHERE agent_id = ? AND module = ?");
  last.bind(1, agent_id).bind(2, module);
  if (last.step() && sequence <= last.integer(0)) return {true, 0};
  last.reset();

  int64_t rows = 0;
  if (kind == "delta") {
    v1::DeltaChunk chunk;
    if (!chunk.ParseFromString(payload)) throw std::invalid_argument("payload is not a DeltaChunk");
    rows = stage_chunk(agent_id, module, chunk);
  } else if (kind == "events") {
    v1::EventBatch batch;
    if (!batch.ParseFromString(payload)) throw std::invalid_argument("payload is not an EventBatch");
    sqlite::Statement insert(db_, "INSERT INTO agent_events (agent_id, module, sequence, event) VALUES (?, ?, ?, ?)");
    for (const v1::Event& event : batch.events()) {
      json values = json::object();
      for (const auto& column : event.values()) values[column.name()] = column.value();
      json document = {{"table", event.table()}, {"time_ms", event.time_ms()}, {"values", std::move(values)}};
      insert.bind(1, agent_id).bind(2, module).bind(3, sequence).bind(4, document.dump()).run();
      ++rows;
    }
  } else {
    throw std::invalid_argument("unknown upload kind '" + kind + "'");
  }
  sqlite::Statement(db_,
                    "INSERT INTO uploads (agent_id, sequence, module, kind, received_at, bytes, rows) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind(1, agent_id)
      .bind(2, sequence)
      .bind(3, module)
      .bind(4, kind)
      .bind(5, now)
      .bind(6, static_cast<int64_t>(payload.size()))
      .bind(7, rows)
      .run();
  sqlite::Statement(db_,
                    "INSERT INTO module_sequences (agent_id, module, last_sequence) VALUES (?, ?, ?) "
                    "ON CONFLICT DO UPDATE SET last_sequence = excluded.last_sequence")
      .bind(1, agent_id)
      .bind(2, module)
      .bind(3, sequence)
      .run();
  sqlite::Statement(db_, "UPDATE agents SET last_sequence = max(last_sequence, ?) WHERE id = ?")
      .bind(1, sequence)
      .bind(2, agent_id)
      .run();
  transaction.commit();
  return {false, rows};
}

json PlatformStore::results(const std::string& agent_id, const std::optional<std::string>& module) {
  sqlite::Statement statement(db_,
                              "SELECT module, table_name, row_key, row_values FROM agent_rows WHERE agent_id = ?1 "
                              "AND (?2 IS NULL OR module = ?2) ORDER BY module, table_name, row_key");
  statement.bind(1, agent_id);
  bind_module(statement, 2, module);
  json results = json::object();
  while (statement.step()) {
    results[statement.text(0)][statement.text(1)].push_back(
        {{"key", json::parse(statement.text(2))}, {"values", json::parse(statement.text(3))}});
  }
  return results;
}

json PlatformStore::events(const std::string& agent_id, const std::optional<std::string>& module, int64_t limit) {
  sqlite::Statement statement(db_,
                              "SELECT module, sequence, event FROM (SELECT rowid, module, sequence, event FROM "
                              "agent_events WHERE agent_id = ?1 AND (?2 IS NULL OR module = ?2) ORDER BY rowid DESC "
                              "LIMIT ?3) ORDER BY rowid");
  statement.bind(1, agent_id);
  bind_module(statement, 2, module);
  statement.bind(3, limit);
  json events = json::array();
  while (statement.step()) {
    events.push_back(
        {{"module", statement.text(0)}, {"sequence", statement.integer(1)}, {"event", json::parse(statement.text(2))}});
  }
  return events;
}

std::optional<CanaryEvent> PlatformStore::canary_event(const std::string& agent_id, const std::string& module,
                                                       const std::string& path, int64_t since_ms) {
  sqlite::Statement statement(
      db_,
      "SELECT json_extract(e.event, '$.values.action'), json_extract(e.event, '$.time_ms'), u.received_at "
      "FROM agent_events e JOIN uploads u "
      "ON u.agent_id = e.agent_id AND u.module = e.module AND u.sequence = e.sequence "
      "WHERE e.agent_id = ? AND e.module = ? AND json_extract(e.event, '$.values.path') = ? "
      "AND json_extract(e.event, '$.time_ms') >= ? ORDER BY e.rowid LIMIT 1");
  statement.bind(1, agent_id).bind(2, module).bind(3, path).bind(4, since_ms);
  if (!statement.step()) return std::nullopt;
  return CanaryEvent{statement.is_null(0) ? "" : statement.text(0), statement.integer(1), statement.integer(2)};
}

json PlatformStore::upload_counts(const std::string& agent_id) {
  sqlite::Statement statement(db_,
                              "SELECT module, count(*), sum(rows), max(received_at) FROM uploads WHERE agent_id = ? "
                              "GROUP BY module ORDER BY module");
  statement.bind(1, agent_id);
  json counts = json::object();
  while (statement.step()) {
    counts[statement.text(0)] = {{"uploads", statement.integer(1)},
                                 {"rows_changed", statement.integer(2)},
                                 {"last_upload", statement.integer(3)}};
  }
  return counts;
}

json PlatformStore::snapshots(const std::string& agent_id) {
  json modules = json::object();
  sqlite::Statement complete(db_,
                             "SELECT module, snapshot_id, row_count, chunks, completed_at FROM complete_snapshots "
                             "WHERE agent_id = ? ORDER BY module");
  complete.bind(1, agent_id);
  while (complete.step()) {
    modules[complete.text(0)]["complete"] = {{"snapshot_id", complete.integer(1)},
                                             {"row_count", complete.integer(2)},
                                             {"chunks", complete.integer(3)},
                                             {"completed_at", complete.integer(4)}};
  }
  sqlite::Statement held(db_, "SELECT module, count(*) FROM agent_rows WHERE agent_id = ? GROUP BY module");
  held.bind(1, agent_id);
  while (held.step()) modules[held.text(0)]["rows"] = held.integer(1);
  sqlite::Statement arriving(db_, "SELECT module, snapshot_id, next_chunk FROM staged_snapshots WHERE agent_id = ?");
  arriving.bind(1, agent_id);
  while (arriving.step()) {
    modules[arriving.text(0)]["arriving"] = {{"snapshot_id", arriving.integer(1)}, {"chunks", arriving.integer(2)}};
  }
  return modules;
}

}  // namespace vigil::platform
