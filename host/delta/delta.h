// The difference between two snapshots of a module: rows added, removed and
// changed (old and new values), matched by (table, key). This is what travels
// to the platform, so an unchanged scan yields an empty delta.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "store/state_store.h"

namespace vigil {

struct RowChange {
  std::string table;
  std::string key;
  std::string old_values;
  std::string new_values;
};

struct Delta {
  std::vector<SnapshotRow> added;
  std::vector<SnapshotRow> removed;
  std::vector<RowChange> changed;

  bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
  size_t size() const { return added.size() + removed.size() + changed.size(); }
};

// Orders rows by (table, key), the order compute_delta expects and the order
// StateStore::snapshot_rows returns.
void sort_rows(std::vector<SnapshotRow>& rows);

// `before` and `after` must be sorted by (table, key). Linear in their sizes.
Delta compute_delta(const std::vector<SnapshotRow>& before, const std::vector<SnapshotRow>& after);

// The delta as a JSON document: {"added": [...], "removed": [...], "changed": [...]}
// with each row's key and values as objects.
nlohmann::json delta_to_json(const Delta& delta);

}  // namespace vigil
