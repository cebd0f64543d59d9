// StateStore: schema, migrations, and that every write is whole or absent.
#include "store/state_store.h"

#include "store/config_table.h"
#include "store/key_hive.h"
#include "store/manifests.h"
#include "store/outbox.h"
#include "store/plugin_slots.h"
#include "store/plugin_state.h"
#include "store/snapshot_writer.h"
#include "store/snapshots.h"
#include "store/update_metadata.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <functional>

#include "test_support.h"
#include "vigil/sqlite/sqlite.h"

namespace vigil {
namespace {

std::unique_ptr<StateStore> open_store(const std::filesystem::path& path) {
  auto store = StateStore::open(path);
  EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error());
  return store.ok() ? std::move(store.value()) : nullptr;
}

TEST(StateStore, Open_CreatesSchemaAtLatestVersion) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "sub/config.db");
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), StateStore::latest_schema_version());
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "sub/config.db"));
}

TEST(StateStore, Open_NewerSchema_IsRefusedWithBothVersions) {
  test::TempDir dir;
  auto path = dir.path() / "config.db";
  { ASSERT_TRUE(open_store(path)); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto reopened = StateStore::open(path);
  ASSERT_FALSE(reopened.ok());
  EXPECT_NE(reopened.error().find("schema version 99 is newer"), std::string::npos) << reopened.error();
}

TEST(StateStore, Open_Version1Database_IsMigratedKeepingItsData) {
  test::TempDir dir;
  auto path = dir.path() / "config.db";
  {
    auto store = open_store(path);
    ASSERT_TRUE(store->config().set("AgentId", "kept").ok());
  }
  // Turn it back into what schema version 1 was, with a snapshot written by that version.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const char* downgrade =
      "DROP TABLE outbox; DROP TABLE outbox_set_aside; DROP TABLE counters; DROP TABLE module_schedule;"
      "DROP TABLE plugin_crashes; DROP TABLE module_settings; DROP TABLE update_metadata;"
      "DROP TABLE plugin_slots; DROP TABLE plugin_bad_versions; DROP TABLE plugin_upgrades;"
      "ALTER TABLE snapshots DROP COLUMN state; ALTER TABLE manifests DROP COLUMN source;"
      "INSERT INTO manifests VALUES ('pc','pc','local','mine'), ('vm','vm','7','theirs');"
      "INSERT INTO snapshots (module, manifest_type, started_at, finished_at, row_count) VALUES ('inv','inv',1,2,1);"
      "INSERT INTO snapshot_rows VALUES (1, 't', 'k', '{}');"
      "PRAGMA user_version=1;";
  ASSERT_EQ(sqlite3_exec(db, downgrade, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);

  auto store = open_store(path);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), StateStore::latest_schema_version());
  EXPECT_EQ(store->config().get("AgentId").value(), std::optional<std::string>("kept"));
  auto latest = store->snapshots().latest("inv").value();
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->state, "acknowledged");  // what a v1 snapshot was
  EXPECT_EQ(store->outbox().stats().value().depth, 0);
  // vigilctl labelled its manifests 'local'; the others came from the platform.
  EXPECT_EQ(store->manifests().get("pc", "pc").value()->source, "local");
  EXPECT_EQ(store->manifests().get("vm", "vm").value()->source, "platform");
}

TEST(StateStore, Open_NotADatabase_FailsNamingTheFile) {
  test::TempDir dir;
  auto path = dir.path() / "config.db";
  std::ofstream(path) << "this is not an SQLite database, just text that is long enough to have a header";
  auto store = StateStore::open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().find(path.string()), std::string::npos) << store.error();
}

TEST(StateStore, Config_SetOverwriteAndPersistAcrossReopen) {
  test::TempDir dir;
  auto path = dir.path() / "config.db";
  {
    auto store = open_store(path);
    EXPECT_FALSE(store->config().get("LogLevel").value().has_value());
    ASSERT_TRUE(store->config().set("LogLevel", "4").ok());
    ASSERT_TRUE(store->config().set("LogLevel", "5").ok());
    ASSERT_TRUE(store->config().set("AgentId", "abc").ok());
  }
  auto store = open_store(path);
  EXPECT_EQ(store->config().get("LogLevel").value(), std::optional<std::string>("5"));
  auto all = store->config().all().value();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].first, "AgentId");
}

TEST(StateStore, PluginState_IsScopedPerModuleAndBinarySafe) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  std::string binary("a\0b\xff", 4);
  ASSERT_TRUE(store->plugin_state().set("inv", "cursor", binary).ok());
  ASSERT_TRUE(store->plugin_state().set("vm", "cursor", "other").ok());
  EXPECT_EQ(store->plugin_state().get("inv", "cursor").value(), std::optional<std::string>(binary));
  EXPECT_EQ(store->plugin_state().get("vm", "cursor").value(), std::optional<std::string>("other"));
  EXPECT_TRUE(store->plugin_state().remove("inv", "cursor").value());
  EXPECT_FALSE(store->plugin_state().remove("inv", "cursor").value());
  EXPECT_FALSE(store->plugin_state().get("inv", "cursor").value().has_value());
}

TEST(StateStore, Manifest_ReplacedByNewVersion) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  ASSERT_TRUE(store->manifests().put({"inv", "inv", "1", "body one"}).ok());
  ASSERT_TRUE(store->manifests().put({"inv", "inv", "2", "body two"}).ok());
  auto manifest = store->manifests().get("inv", "inv").value();
  ASSERT_TRUE(manifest);
  EXPECT_EQ(manifest->version, "2");
  EXPECT_EQ(manifest->body, "body two");
  EXPECT_FALSE(store->manifests().get("inv", "other").value());
  EXPECT_EQ(manifest->source, "platform");
}

TEST(StateStore, Manifests_KeepTheirSourceAndAreRemoved) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->manifests().put({"pc", "pc", "local", "mine", "local"}).ok());
  ASSERT_TRUE(store->manifests().put({"inv", "inv", "3", "theirs", "platform"}).ok());
  auto from_platform = store->manifests().from_source("platform").value();
  ASSERT_EQ(from_platform.size(), 1u);
  EXPECT_EQ(from_platform[0].module, "inv");
  EXPECT_EQ(store->manifests().remove("pc", "other").value(), 0);
  EXPECT_EQ(store->manifests().remove("pc").value(), 1);
  EXPECT_TRUE(store->manifests().of_module("pc").value().empty());
  EXPECT_EQ(store->manifests().of_module("inv").value().size(), 1u);
}

TEST(StateStore, UpdateMetadata_KeepsTheNewestOfEachRoleBinarySafe) {
  test::TempDir dir;
  {
    auto store = open_store(dir.path() / "config.db");
    ASSERT_TRUE(store->update_metadata().save("root", 1, 100, std::string("r1\0x", 4)).ok());
    ASSERT_TRUE(store->update_metadata().save("root", 2, 200, "r2").ok());
    ASSERT_TRUE(store->update_metadata().save("timestamp", 7, 50, "t7").ok());
  }
  auto store = open_store(dir.path() / "config.db");
  EXPECT_EQ(*store->update_metadata().load("root").value(), "r2");
  auto summary = store->update_metadata().summary().value();
  ASSERT_EQ(summary.size(), 2u);
  EXPECT_EQ(summary[0].role, "root");
  EXPECT_EQ(summary[0].version, 2);
  EXPECT_EQ(summary[1].expires, 50);
  ASSERT_TRUE(store->update_metadata().erase("timestamp").ok());
  EXPECT_FALSE(store->update_metadata().load("timestamp").value());
  ASSERT_TRUE(store->update_metadata().save("root", 1, 100, std::string("r1\0x", 4)).ok());
  EXPECT_EQ(*store->update_metadata().load("root").value(), std::string("r1\0x", 4));
  ASSERT_TRUE(store->update_metadata().clear().ok());
  EXPECT_TRUE(store->update_metadata().summary().value().empty());
}

// Records every difference it is handed ("+t/k", "-t/k", "~t/k old>new") and
// closes a chunk ("m chunk N") every `per_chunk` differences, as ChunkEncoder
// does by size.
class RecordingEncoder : public DeltaEncoder {
 public:
  explicit RecordingEncoder(size_t per_chunk = 1000) : per_chunk_(per_chunk) {}
  std::optional<std::string> add(const RowDifference& change) override {
    const char* sign = change.kind == ChangeKind::kAdded ? "+" : change.kind == ChangeKind::kRemoved ? "-" : "~";
    std::string seen = sign + change.row.table + "/" + change.row.key;
    if (change.old_values != nullptr) seen += " " + *change.old_values + ">" + change.row.values;
    changes.push_back(seen);
    if (++in_chunk_ <= per_chunk_) return std::nullopt;
    in_chunk_ = 1;
    return "chunk " + std::to_string(chunks_++);
  }
  std::optional<std::string> finish() override {
    if (in_chunk_ == 0) return std::nullopt;
    return "chunk " + std::to_string(chunks_++) + " last";
  }
  std::vector<std::string> changes;

 private:
  size_t per_chunk_;
  size_t in_chunk_ = 0;
  int chunks_ = 0;
};

// A scan of `module` that emitted `rows`, streamed and committed as run_scan does.
Result<CommitResult> scan_into(StateStore& store, const std::string& module, const std::vector<SnapshotRow>& rows,
                               DeltaEncoder& encoder, int64_t finished_at = 2) {
  auto id = store.snapshots().begin(module, 1);
  if (!id.ok()) return Error{id.error()};
  SnapshotWriter writer(store.snapshots(), id.value());
  Status written = Status::Ok();
  for (const SnapshotRow& row : rows) {
    if (written.ok()) written = writer.add(row);
  }
  if (written.ok()) written = writer.flush();
  if (!written.ok()) {
    EXPECT_TRUE(store.snapshots().discard(id.value()).ok());
    return Error{written.error()};
  }
  return store.snapshots().commit({id.value(), module, module, 1, finished_at, writer.rows(), {}}, encoder);
}

CommitResult scan_into(StateStore& store, const std::string& module, const std::vector<SnapshotRow>& rows) {
  RecordingEncoder encoder;
  auto committed = scan_into(store, module, rows, encoder);
  EXPECT_TRUE(committed.ok()) << committed.error();
  return committed.ok() ? committed.value() : CommitResult{};
}

TEST(StateStore, PluginSlots_HistoryAndBadVersionsAreWrittenWithTheRow) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  PluginSlots& slots = store->plugin_slots();
  PluginSlotState row;
  row.module = "inv";
  // Staged only from what the caller read: a swap that started meanwhile wins.
  EXPECT_TRUE(slots.stage(row, "a", {"2.0", "aa", 5000}, 10).value());
  PluginSlotState swapping = slots.get("inv").value().value();
  EXPECT_EQ(swapping.state, "staged");
  EXPECT_EQ(swapping.a.version, "2.0");
  EXPECT_EQ(swapping.a.downloaded, 5000);
  swapping.active = "a";
  swapping.previous = "factory";
  swapping.state = "swapping";
  ASSERT_TRUE(slots.put(swapping).ok());
  EXPECT_FALSE(slots.stage(row, "b", {"3.0", "bb", 0}, 11).value());
  EXPECT_EQ(slots.get("inv").value()->b.version, "");

  UpgradeRecord reverted;
  reverted.at = 12;
  reverted.module = "inv";
  reverted.from_version = "1.0";
  reverted.to_version = "2.0";
  reverted.outcome = "reverted";
  reverted.reason = "its first scan failed";
  reverted.bad_sha256 = "aa";
  reverted.bytes_downloaded = 5000;
  swapping.active = "factory";
  swapping.state = "stable";
  ASSERT_TRUE(slots.put(swapping, &reverted).ok());
  ASSERT_TRUE(slots.set_revert_ms("inv", 42).ok());
  EXPECT_EQ(slots.bad_reason("inv", "aa").value(), std::optional<std::string>("reverted: its first scan failed"));
  EXPECT_EQ(slots.bad_reason("inv", "bb").value(), std::nullopt);
  EXPECT_EQ(slots.bad_reason("vm", "aa").value(), std::nullopt);
  auto history = slots.history("inv").value();
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].outcome, "reverted");
  EXPECT_EQ(history[0].revert_ms, 42);
  EXPECT_EQ(history[0].swap_ms, -1);
  EXPECT_EQ(history[0].bytes_downloaded, 5000);

  // The history keeps the last 100 lines of a module, newest first.
  UpgradeRecord line = reverted;
  line.bad_sha256.clear();
  for (int i = 0; i < 120; ++i) {
    line.at = 100 + i;
    ASSERT_TRUE(slots.put(swapping, &line).ok());
  }
  history = slots.history("inv").value();
  ASSERT_EQ(history.size(), 100u);
  EXPECT_EQ(history.front().at, 219);
  EXPECT_EQ(history.back().at, 120);
}

TEST(StateStore, Snapshot_RowsReadBackOrderedAndFilteredByTable) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  std::vector<SnapshotRow> rows = {
      {"b", R"({"id":"2"})", "{}"}, {"a", R"({"id":"1"})", R"({"v":"x"})"}, {"b", R"({"id":"1"})", "{}"}};
  auto committed = scan_into(*store, "inv", rows);
  auto latest = store->snapshots().latest("inv").value();
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->id, committed.snapshot_id);
  EXPECT_EQ(latest->row_count, 3);
  EXPECT_EQ(latest->state, "pending");
  auto all = store->snapshots().rows(latest->id, std::nullopt).value();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].table, "a");
  EXPECT_EQ(all[2].key, R"({"id":"2"})");
  EXPECT_EQ(store->snapshots().rows(latest->id, std::string("b")).value().size(), 2u);
}

TEST(StateStore, Staging_DuplicateKeyAcrossBatches_FailsNamingItAndLeavesNothing) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  std::vector<SnapshotRow> rows;
  for (size_t i = 0; i < SnapshotWriter::kBatchRows + 10; ++i) rows.push_back({"t", "k" + std::to_string(i), "{}"});
  rows.push_back({"t", "k3", "{}"});  // in a batch already written
  RecordingEncoder encoder;
  auto committed = scan_into(*store, "inv", rows, encoder);
  ASSERT_FALSE(committed.ok());
  EXPECT_NE(committed.error().find("table 't': duplicate key k3"), std::string::npos) << committed.error();
  EXPECT_FALSE(store->snapshots().latest("inv").value().has_value());
  EXPECT_FALSE(store->outbox().oldest().value().has_value());
  EXPECT_EQ(store->outbox().stats().value().last_sequence, 0);
}

TEST(StateStore, Staging_DuplicateKeyInOneBatch_IsRefusedAtOnce) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  SnapshotWriter writer(store->snapshots(), store->snapshots().begin("inv", 1).value());
  ASSERT_TRUE(writer.add({"t", "k", "{}"}).ok());
  Status again = writer.add({"t", "k", "{}"});
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().find("duplicate key k"), std::string::npos);
  EXPECT_TRUE(writer.add({"u", "k", "{}"}).ok());  // another table, another row
}

TEST(StateStore, Staging_IsInvisibleUntilCommittedAndDroppedAfterACrash) {
  test::TempDir dir;
  auto path = dir.path() / "config.db";
  {
    auto store = open_store(path);
    SnapshotWriter writer(store->snapshots(), store->snapshots().begin("inv", 1).value());
    ASSERT_TRUE(writer.add({"t", "a", "{}"}).ok());
    ASSERT_TRUE(writer.flush().ok());
    EXPECT_FALSE(store->snapshots().latest("inv").value().has_value());
  }  // the process dies mid-scan
  auto store = open_store(path);
  EXPECT_EQ(store->snapshots().drop_staging().value(), 1);
  EXPECT_EQ(store->snapshots().drop_staging().value(), 0);
}

TEST(StateStore, Commit_WithChanges_QueuesOutboxEntryAndPendingSnapshot) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  auto first = scan_into(*store, "inv", {{"t", "k", "{}"}});
  ASSERT_EQ(first.sequence, std::optional<int64_t>(1));
  EXPECT_EQ(first.added, 1);
  auto entry = store->outbox().oldest().value();
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->sequence, 1);
  EXPECT_EQ(entry->module, "inv");
  EXPECT_EQ(entry->snapshot_id, first.snapshot_id);
  EXPECT_EQ(entry->payload, "chunk 0 last");
  EXPECT_TRUE(entry->last_chunk);
  EXPECT_TRUE(store->outbox().has_pending_delta("inv").value());
  EXPECT_FALSE(store->outbox().has_pending_delta("vm").value());
}

TEST(StateStore, Commit_LargeDelta_IsChunkedAndOnlyTheLastChunkCompletesTheSnapshot) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  std::vector<SnapshotRow> rows;
  for (int i = 0; i < 25; ++i) rows.push_back({"t", "k" + std::to_string(100 + i), "{}"});
  RecordingEncoder encoder(10);
  auto committed = scan_into(*store, "inv", rows, encoder).value();
  EXPECT_EQ(committed.chunks, 3);
  EXPECT_EQ(committed.sequence, std::optional<int64_t>(3));
  for (int64_t sequence = 1; sequence <= 2; ++sequence) {
    auto entry = store->outbox().oldest("inv").value();
    EXPECT_EQ(entry->sequence, sequence);
    EXPECT_FALSE(entry->last_chunk);
    ASSERT_TRUE(store->outbox().acknowledge(sequence).value());
    EXPECT_EQ(store->snapshots().latest("inv").value()->state, "pending");
  }
  EXPECT_EQ(store->outbox().oldest("inv").value()->payload, "chunk 2 last");
  ASSERT_TRUE(store->outbox().acknowledge(3).value());
  EXPECT_EQ(store->snapshots().latest("inv").value()->state, "acknowledged");
}

TEST(StateStore, Acknowledge_PromotesSnapshotToBaseAndIsIdempotent) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  auto first = scan_into(*store, "inv", {{"t", "a", R"({"v":"1"})"}, {"t", "c", "{}"}});
  EXPECT_TRUE(store->outbox().acknowledge(*first.sequence).value());
  EXPECT_FALSE(store->outbox().acknowledge(*first.sequence).value());
  EXPECT_EQ(store->snapshots().latest("inv").value()->state, "acknowledged");

  RecordingEncoder encoder;
  auto second = scan_into(*store, "inv", {{"t", "b", "{}"}, {"t", "a", R"({"v":"2"})"}}, encoder).value();
  EXPECT_EQ(encoder.changes, (std::vector<std::string>{R"(~t/a {"v":"1"}>{"v":"2"})", "+t/b", "-t/c"}));
  EXPECT_EQ(second.sequence, std::optional<int64_t>(2));
  ASSERT_TRUE(store->outbox().acknowledge(2).value());
  // The older base is pruned once the newer one is acknowledged.
  EXPECT_TRUE(store->snapshots().rows(first.snapshot_id, std::nullopt).value().empty());
  EXPECT_EQ(store->outbox().stats().value().depth, 0);
  EXPECT_EQ(store->outbox().stats().value().last_sequence, 2);
}

TEST(StateStore, Commit_WithoutChanges_KeepsTheBaseAndQueuesNothing) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  auto first = scan_into(*store, "inv", {{"t", "a", "{}"}});
  ASSERT_TRUE(store->outbox().acknowledge(*first.sequence).value());
  RecordingEncoder encoder;
  auto again = scan_into(*store, "inv", {{"t", "a", "{}"}}, encoder, 60).value();
  EXPECT_FALSE(again.sequence.has_value());
  EXPECT_EQ(again.snapshot_id, first.snapshot_id);
  EXPECT_EQ(store->snapshots().latest("inv").value()->finished_at, 60);
  EXPECT_FALSE(store->outbox().oldest().value().has_value());
}

TEST(StateStore, OutboxBound_DropsOldestSnapshotWithAllItsChunksAndCountsThem) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  store->outbox().set_limits(3, 1 << 20);
  RecordingEncoder in_two(1);
  auto first = scan_into(*store, "inv", {{"t", "a", "{}"}, {"t", "b", "{}"}}, in_two).value();
  ASSERT_EQ(first.chunks, 2);
  scan_into(*store, "vm", {{"t", "a", "{}"}});
  auto third = scan_into(*store, "pc", {{"t", "a", "{}"}});
  EXPECT_EQ(third.dropped, 2);
  auto stats = store->outbox().stats().value();
  EXPECT_EQ(stats.depth, 2);
  EXPECT_EQ(stats.dropped, 2);
  EXPECT_EQ(store->outbox().oldest().value()->module, "vm");
  // inv's pending snapshot went with its delta: its next delta starts from the acknowledged base (none).
  EXPECT_TRUE(store->snapshots().rows(first.snapshot_id, std::nullopt).value().empty());
  EXPECT_FALSE(store->outbox().has_pending_delta("inv").value());
}

TEST(StateStore, OutboxBound_NeverDropsTheDeltaJustWritten) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  store->outbox().set_limits(2, 1 << 20);
  RecordingEncoder one_per_chunk(1);
  auto big = scan_into(*store, "inv", {{"t", "a", "{}"}, {"t", "b", "{}"}, {"t", "c", "{}"}}, one_per_chunk).value();
  EXPECT_EQ(big.chunks, 3);
  EXPECT_EQ(big.dropped, 0);
  EXPECT_EQ(store->outbox().stats().value().depth, 3);
}

TEST(StateStore, SetAside_MovesTheSnapshotsChunksAsideAndOtherModulesGoOn) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  RecordingEncoder one_per_chunk(1);
  auto inv = scan_into(*store, "inv", {{"t", "a", "{}"}, {"t", "b", "{}"}}, one_per_chunk).value();
  scan_into(*store, "vm", {{"t", "a", "{}"}});
  ASSERT_TRUE(store->outbox().append("fim", "events", "e").ok());
  EXPECT_EQ(store->outbox().modules().value(), (std::vector<std::string>{"fim", "inv", "vm"}));

  EXPECT_EQ(store->outbox().record_upload_attempt(1).value(), 1);
  EXPECT_EQ(store->outbox().record_upload_attempt(1).value(), 2);
  EXPECT_EQ(store->outbox().set_aside(1, "platform answered 422").value(), 2);
  EXPECT_FALSE(store->outbox().oldest("inv").value().has_value());
  EXPECT_TRUE(store->snapshots().rows(inv.snapshot_id, std::nullopt).value().empty());  // its next delta is whole again
  EXPECT_EQ(store->outbox().oldest("vm").value()->sequence, 3);
  auto stats = store->outbox().stats().value();
  EXPECT_EQ(stats.set_aside, 2);
  EXPECT_EQ(stats.depth, 2);
  auto aside = store->outbox().set_aside_entries(10).value();
  ASSERT_EQ(aside.size(), 2u);
  EXPECT_EQ(aside[1].sequence, 1);
  EXPECT_EQ(aside[1].reason, "platform answered 422");
  EXPECT_EQ(aside[1].attempts, 2);
  EXPECT_EQ(aside[0].reason, "chunk of the same snapshot as sequence 1");

  EXPECT_EQ(store->outbox().set_aside(4, "bad events").value(), 1);  // an events entry goes alone
  EXPECT_EQ(store->outbox().modules().value(), (std::vector<std::string>{"vm"}));
}

TEST(StateStore, ResetUploadedState_EmptiesTheOutboxAndItsCounters) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  scan_into(*store, "inv", {{"t", "a", "{}"}});
  EXPECT_EQ(store->reset_uploaded_state().value(), 1);
  auto stats = store->outbox().stats().value();
  EXPECT_EQ(stats.depth, 0);
  EXPECT_EQ(stats.bytes, 0);
  EXPECT_EQ(stats.last_sequence, 1);  // sequences are never reused
}

TEST(StateStore, Hive_CreateSetListAndChangesFromOtherProcessesAreVisible) {
  test::TempDir dir;
  auto path = dir.path() / "config.db";
  auto store = open_store(path);
  EXPECT_TRUE(store->hive().create("ScanOnDemand/Inventory", "ScanOnDemand", "0").value());
  EXPECT_FALSE(store->hive().create("ScanOnDemand/Inventory", "ScanOnDemand", "5").value());
  ASSERT_TRUE(store->hive().set("ScanOnDemand/Inventory", "CpuLimit", "20").ok());
  ASSERT_TRUE(store->hive().create("ScanOnDemand/UDC", "ScanOnDemand", "0").ok());
  auto values = store->hive().list("ScanOnDemand/Inv").value();
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0].name, "CpuLimit");
  EXPECT_EQ(values[1].value, "0");

  int64_t before = store->data_version().value();
  ASSERT_TRUE(store->hive().set("ScanOnDemand/Inventory", "ScanOnDemand", "2").ok());
  EXPECT_EQ(store->data_version().value(), before);  // our own writes do not count
  {
    auto other = open_store(path);  // another connection, as another process would have
    ASSERT_TRUE(other->hive().set("ScanOnDemand/Inventory", "ScanOnDemand", "1").ok());
  }
  EXPECT_NE(store->data_version().value(), before);
  EXPECT_EQ(store->hive().get("ScanOnDemand/Inventory", "ScanOnDemand").value(), std::optional<std::string>("1"));
}

TEST(StateStore, ModuleSchedule_RemembersLastCompletion) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  EXPECT_FALSE(store->snapshots().last_scan_completed("inv").value());
  ASSERT_TRUE(store->snapshots().set_last_scan_completed("inv", 100).ok());
  ASSERT_TRUE(store->snapshots().set_last_scan_completed("inv", 200).ok());
  EXPECT_EQ(store->snapshots().last_scan_completed("inv").value(), std::optional<int64_t>(200));
}

// SQLite words a full disk and a full database alike ("database or disk is
// full"); the wrapper puts "disk full" first so the cause survives every layer
// above it. A database held to a few pages (max_page_count) fills like a disk.
TEST(SqliteWrapper, AFullDatabase_SaysDiskFullFirst) {
  test::TempDir dir;
  sqlite::Database db((dir.path() / "full.db").string());
  db.exec("CREATE TABLE t (v BLOB)");
  db.exec("PRAGMA max_page_count=8");
  auto error_of = [](const std::function<void()>& work) {
    try {
      work();
    } catch (const sqlite::SqliteError& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of([&] {
              sqlite::Statement insert(db, "INSERT INTO t VALUES (?1)");
              insert.bind_blob(1, std::string(size_t{1} << 20, 'x')).run();
            }),
            "disk full: step failed: database or disk is full");
  EXPECT_EQ(error_of([&] { db.exec("INSERT INTO t VALUES (zeroblob(1048576))"); }),
            "disk full: database or disk is full");
  // Other failures say what they are, and nothing of disks.
  EXPECT_EQ(error_of([&] { db.exec("INSERT INTO nowhere VALUES (1)"); }), "no such table: nowhere");
}

}  // namespace
}  // namespace vigil
