// StateStore: schema, migrations, and that every write is whole or absent.
#include "store/state_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "test_support.h"

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
    ASSERT_TRUE(store->set_config("AgentId", "kept").ok());
  }
  // Turn it back into what schema version 1 was, with a snapshot written by that version.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const char* downgrade =
      "DROP TABLE outbox; DROP TABLE counters; DROP TABLE module_schedule; DROP TABLE plugin_crashes;"
      "ALTER TABLE snapshots DROP COLUMN state;"
      "INSERT INTO snapshots (module, manifest_type, started_at, finished_at, row_count) VALUES ('inv','inv',1,2,1);"
      "INSERT INTO snapshot_rows VALUES (1, 't', 'k', '{}');"
      "PRAGMA user_version=1;";
  ASSERT_EQ(sqlite3_exec(db, downgrade, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);

  auto store = open_store(path);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), StateStore::latest_schema_version());
  EXPECT_EQ(store->config("AgentId").value(), std::optional<std::string>("kept"));
  auto latest = store->latest_snapshot("inv").value();
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->state, "acknowledged");  // what a v1 snapshot was
  EXPECT_EQ(store->outbox_stats().value().depth, 0);
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
    EXPECT_FALSE(store->config("LogLevel").value().has_value());
    ASSERT_TRUE(store->set_config("LogLevel", "4").ok());
    ASSERT_TRUE(store->set_config("LogLevel", "5").ok());
    ASSERT_TRUE(store->set_config("AgentId", "abc").ok());
  }
  auto store = open_store(path);
  EXPECT_EQ(store->config("LogLevel").value(), std::optional<std::string>("5"));
  auto all = store->all_config().value();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].first, "AgentId");
}

TEST(StateStore, PluginState_IsScopedPerModuleAndBinarySafe) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  std::string binary("a\0b\xff", 4);
  ASSERT_TRUE(store->set_plugin_state("inv", "cursor", binary).ok());
  ASSERT_TRUE(store->set_plugin_state("vm", "cursor", "other").ok());
  EXPECT_EQ(store->plugin_state("inv", "cursor").value(), std::optional<std::string>(binary));
  EXPECT_EQ(store->plugin_state("vm", "cursor").value(), std::optional<std::string>("other"));
  EXPECT_TRUE(store->delete_plugin_state("inv", "cursor").value());
  EXPECT_FALSE(store->delete_plugin_state("inv", "cursor").value());
  EXPECT_FALSE(store->plugin_state("inv", "cursor").value().has_value());
}

TEST(StateStore, Manifest_ReplacedByNewVersion) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  ASSERT_TRUE(store->put_manifest({"inv", "inv", "1", "body one"}).ok());
  ASSERT_TRUE(store->put_manifest({"inv", "inv", "2", "body two"}).ok());
  auto manifest = store->manifest("inv", "inv").value();
  ASSERT_TRUE(manifest);
  EXPECT_EQ(manifest->version, "2");
  EXPECT_EQ(manifest->body, "body two");
  EXPECT_FALSE(store->manifest("inv", "other").value());
}

// A payload builder that records the base it saw and always reports a change.
StateStore::PayloadBuilder always_changed(std::vector<SnapshotRow>* seen_base = nullptr) {
  return [seen_base](const std::vector<SnapshotRow>& base, int64_t sequence) -> std::optional<std::string> {
    if (seen_base != nullptr) *seen_base = base;
    return "payload " + std::to_string(sequence);
  };
}

StateStore::PayloadBuilder never_changed() {
  return [](const std::vector<SnapshotRow>&, int64_t) -> std::optional<std::string> { return std::nullopt; };
}

SnapshotInfo scan_of(const std::string& module) {
  return {0, module, module, 1, 2, 0, {}};
}

TEST(StateStore, Snapshot_RowsReadBackOrderedAndFilteredByTable) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  std::vector<SnapshotRow> rows = {
      {"a", R"({"id":"1"})", R"({"v":"x"})"}, {"b", R"({"id":"1"})", "{}"}, {"b", R"({"id":"2"})", "{}"}};
  auto committed = store->commit_snapshot(scan_of("inv"), rows, always_changed());
  ASSERT_TRUE(committed.ok()) << committed.error();
  auto latest = store->latest_snapshot("inv").value();
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->id, committed.value().snapshot_id);
  EXPECT_EQ(latest->row_count, 3);
  EXPECT_EQ(latest->state, "pending");
  auto all = store->snapshot_rows(latest->id, std::nullopt).value();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].table, "a");
  EXPECT_EQ(store->snapshot_rows(latest->id, std::string("b")).value().size(), 2u);
}

TEST(StateStore, Commit_FailedWrite_LeavesNothingBehind) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  // The same key twice violates the primary key halfway through the write.
  std::vector<SnapshotRow> rows = {{"t", "k1", "{}"}, {"t", "k2", "{}"}, {"t", "k1", "{}"}};
  ASSERT_FALSE(store->commit_snapshot(scan_of("inv"), rows, always_changed()).ok());
  EXPECT_FALSE(store->latest_snapshot("inv").value().has_value());
  EXPECT_FALSE(store->oldest_outbox_entry().value().has_value());
  EXPECT_EQ(store->outbox_stats().value().last_sequence, 0);
}

TEST(StateStore, Commit_WithChanges_QueuesOneOutboxEntryAndPendingSnapshot) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  auto first = store->commit_snapshot(scan_of("inv"), {{"t", "k", "{}"}}, always_changed()).value();
  ASSERT_EQ(first.sequence, std::optional<int64_t>(1));
  auto entry = store->oldest_outbox_entry().value();
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->sequence, 1);
  EXPECT_EQ(entry->module, "inv");
  EXPECT_EQ(entry->snapshot_id, first.snapshot_id);
  EXPECT_EQ(entry->payload, "payload 1");
  EXPECT_TRUE(store->has_pending_delta("inv").value());
  EXPECT_FALSE(store->has_pending_delta("vm").value());
}

TEST(StateStore, Acknowledge_PromotesSnapshotToBaseAndIsIdempotent) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  auto first = store->commit_snapshot(scan_of("inv"), {{"t", "a", "{}"}}, always_changed()).value();
  EXPECT_TRUE(store->acknowledge(*first.sequence).value());
  EXPECT_FALSE(store->acknowledge(*first.sequence).value());
  EXPECT_EQ(store->latest_snapshot("inv").value()->state, "acknowledged");

  std::vector<SnapshotRow> base_seen;
  auto second = store->commit_snapshot(scan_of("inv"), {{"t", "b", "{}"}}, always_changed(&base_seen)).value();
  ASSERT_EQ(base_seen.size(), 1u);
  EXPECT_EQ(base_seen[0].key, "a");
  EXPECT_EQ(second.sequence, std::optional<int64_t>(2));
  ASSERT_TRUE(store->acknowledge(2).value());
  // The older base is pruned once the newer one is acknowledged.
  EXPECT_TRUE(store->snapshot_rows(first.snapshot_id, std::nullopt).value().empty());
  EXPECT_EQ(store->outbox_stats().value().depth, 0);
  EXPECT_EQ(store->outbox_stats().value().last_sequence, 2);
}

TEST(StateStore, Commit_WithoutChanges_KeepsTheBaseAndQueuesNothing) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  auto first = store->commit_snapshot(scan_of("inv"), {{"t", "a", "{}"}}, always_changed()).value();
  ASSERT_TRUE(store->acknowledge(*first.sequence).value());
  auto again = store->commit_snapshot({0, "inv", "inv", 50, 60, 0, {}}, {{"t", "a", "{}"}}, never_changed()).value();
  EXPECT_FALSE(again.sequence.has_value());
  EXPECT_EQ(again.snapshot_id, first.snapshot_id);
  EXPECT_EQ(store->latest_snapshot("inv").value()->finished_at, 60);
  EXPECT_FALSE(store->oldest_outbox_entry().value().has_value());
}

TEST(StateStore, OutboxBound_DropsOldestCountsItAndMergesItsChanges) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  store->set_outbox_limits(2, 1 << 20);
  auto first = store->commit_snapshot(scan_of("inv"), {{"t", "a", "{}"}}, always_changed()).value();
  store->commit_snapshot(scan_of("vm"), {{"t", "a", "{}"}}, always_changed()).value();
  auto third = store->commit_snapshot(scan_of("pc"), {{"t", "a", "{}"}}, always_changed()).value();
  EXPECT_EQ(third.dropped, 1);
  auto stats = store->outbox_stats().value();
  EXPECT_EQ(stats.depth, 2);
  EXPECT_EQ(stats.dropped, 1);
  EXPECT_EQ(store->oldest_outbox_entry().value()->module, "vm");
  // inv's pending snapshot went with its delta: its next delta starts from the acknowledged base (none).
  EXPECT_TRUE(store->snapshot_rows(first.snapshot_id, std::nullopt).value().empty());
  EXPECT_FALSE(store->has_pending_delta("inv").value());
}

TEST(StateStore, Hive_CreateSetListAndChangesFromOtherProcessesAreVisible) {
  test::TempDir dir;
  auto path = dir.path() / "config.db";
  auto store = open_store(path);
  EXPECT_TRUE(store->hive_create("ScanOnDemand/Inventory", "ScanOnDemand", "0").value());
  EXPECT_FALSE(store->hive_create("ScanOnDemand/Inventory", "ScanOnDemand", "5").value());
  ASSERT_TRUE(store->hive_set("ScanOnDemand/Inventory", "CpuLimit", "20").ok());
  ASSERT_TRUE(store->hive_create("ScanOnDemand/UDC", "ScanOnDemand", "0").ok());
  auto values = store->hive_list("ScanOnDemand/Inv").value();
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0].name, "CpuLimit");
  EXPECT_EQ(values[1].value, "0");

  int64_t before = store->data_version().value();
  ASSERT_TRUE(store->hive_set("ScanOnDemand/Inventory", "ScanOnDemand", "2").ok());
  EXPECT_EQ(store->data_version().value(), before);  // our own writes do not count
  {
    auto other = open_store(path);  // another connection, as another process would have
    ASSERT_TRUE(other->hive_set("ScanOnDemand/Inventory", "ScanOnDemand", "1").ok());
  }
  EXPECT_NE(store->data_version().value(), before);
  EXPECT_EQ(store->hive_get("ScanOnDemand/Inventory", "ScanOnDemand").value(), std::optional<std::string>("1"));
}

TEST(StateStore, ModuleSchedule_RemembersLastCompletion) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  EXPECT_FALSE(store->last_scan_completed("inv").value());
  ASSERT_TRUE(store->set_last_scan_completed("inv", 100).ok());
  ASSERT_TRUE(store->set_last_scan_completed("inv", 200).ok());
  EXPECT_EQ(store->last_scan_completed("inv").value(), std::optional<int64_t>(200));
}

}  // namespace
}  // namespace vigil
