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

TEST(StateStore, Snapshot_RowsReadBackOrderedAndFilteredByTable) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  std::vector<SnapshotRow> rows = {
      {"b", R"({"id":"2"})", "{}"}, {"a", R"({"id":"1"})", R"({"v":"x"})"}, {"b", R"({"id":"1"})", "{}"}};
  auto id = store->write_snapshot({0, "inv", "inv", 10, 20, 0}, rows);
  ASSERT_TRUE(id.ok()) << id.error();
  auto latest = store->latest_snapshot("inv").value();
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->id, id.value());
  EXPECT_EQ(latest->row_count, 3);
  auto all = store->snapshot_rows(id.value(), std::nullopt).value();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].table, "a");
  EXPECT_EQ(all[1].key, R"({"id":"1"})");
  auto only_b = store->snapshot_rows(id.value(), std::string("b")).value();
  EXPECT_EQ(only_b.size(), 2u);
}

TEST(StateStore, Snapshot_FailedWrite_LeavesNothingBehind) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  // The same key twice violates the primary key halfway through the write.
  std::vector<SnapshotRow> rows = {{"t", "k1", "{}"}, {"t", "k2", "{}"}, {"t", "k1", "{}"}};
  auto id = store->write_snapshot({0, "inv", "inv", 1, 2, 0}, rows);
  ASSERT_FALSE(id.ok());
  EXPECT_FALSE(store->latest_snapshot("inv").value().has_value());
}

TEST(StateStore, Snapshot_KeepsOnlyTheNewestPerModule) {
  test::TempDir dir;
  auto store = open_store(dir.path() / "config.db");
  std::vector<int64_t> ids;
  for (int i = 0; i < 4; ++i)
    ids.push_back(store->write_snapshot({0, "inv", "inv", i, i, 0}, {{"t", "k", "{}"}}).value());
  ASSERT_TRUE(store->write_snapshot({0, "vm", "vm", 0, 0, 0}, {{"t", "k", "{}"}}).ok());
  EXPECT_TRUE(store->snapshot_rows(ids[0], std::nullopt).value().empty());
  EXPECT_EQ(store->snapshot_rows(ids[3], std::nullopt).value().size(), 1u);
  EXPECT_EQ(store->snapshot_rows(ids[2], std::nullopt).value().size(), 1u);
  EXPECT_TRUE(store->latest_snapshot("vm").value().has_value());
}

}  // namespace
}  // namespace vigil
