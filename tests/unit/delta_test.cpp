// Snapshot deltas: added, removed and changed rows matched by (table, key).
#include "delta/delta.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(Delta, IdenticalSnapshots_AreEmpty) {
  std::vector<SnapshotRow> rows = {{"pkg", "a", "1"}, {"pkg", "b", "2"}};
  EXPECT_TRUE(compute_delta(rows, rows).empty());
  EXPECT_TRUE(compute_delta({}, {}).empty());
}

TEST(Delta, AddedRemovedAndChanged_AreSeparated) {
  std::vector<SnapshotRow> before = {{"os", "k", "debian"}, {"pkg", "a", "1"}, {"pkg", "b", "2"}, {"pkg", "c", "3"}};
  std::vector<SnapshotRow> after = {{"os", "k", "debian"}, {"pkg", "b", "2.1"}, {"pkg", "c", "3"}, {"pkg", "d", "4"}};
  Delta delta = compute_delta(before, after);
  ASSERT_EQ(delta.added.size(), 1u);
  EXPECT_EQ(delta.added[0].key, "d");
  ASSERT_EQ(delta.removed.size(), 1u);
  EXPECT_EQ(delta.removed[0].key, "a");
  ASSERT_EQ(delta.changed.size(), 1u);
  EXPECT_EQ(delta.changed[0].old_values, "2");
  EXPECT_EQ(delta.changed[0].new_values, "2.1");
  EXPECT_EQ(delta.size(), 3u);
}

TEST(Delta, SameKeyInDifferentTables_AreDifferentRows) {
  Delta delta = compute_delta({{"a", "k", "1"}}, {{"b", "k", "1"}});
  EXPECT_EQ(delta.added.size(), 1u);
  EXPECT_EQ(delta.removed.size(), 1u);
}

TEST(Delta, FromNothing_EverythingIsAdded) {
  Delta delta = compute_delta({}, {{"t", "a", "1"}, {"t", "b", "1"}});
  EXPECT_EQ(delta.added.size(), 2u);
  EXPECT_TRUE(delta.removed.empty());
}

TEST(Delta, SortRows_MatchesTheStoresOrder) {
  std::vector<SnapshotRow> rows = {{"b", "1", ""}, {"a", "2", ""}, {"a", "10", ""}};
  sort_rows(rows);
  EXPECT_EQ(rows[0].key, "10");  // byte order, as SQLite's BINARY collation
  EXPECT_EQ(rows[1].key, "2");
  EXPECT_EQ(rows[2].table, "b");
}

TEST(Delta, Json_CarriesKeysValuesAndOldNew) {
  Delta delta = compute_delta({{"t", R"({"id":"1"})", R"({"v":"old"})"}}, {{"t", R"({"id":"1"})", R"({"v":"new"})"}});
  nlohmann::json document = delta_to_json(delta);
  ASSERT_EQ(document["changed"].size(), 1u);
  EXPECT_EQ(document["changed"][0]["key"]["id"], "1");
  EXPECT_EQ(document["changed"][0]["old"]["v"], "old");
  EXPECT_EQ(document["changed"][0]["new"]["v"], "new");
  EXPECT_TRUE(document["added"].empty());
}

}  // namespace
}  // namespace vigil
