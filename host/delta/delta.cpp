// Snapshot difference by a merge walk over two sorted row lists.
#include "delta/delta.h"

#include <algorithm>
#include <tuple>

namespace vigil {
namespace {

int compare_identity(const SnapshotRow& left, const SnapshotRow& right) {
  if (int by_table = left.table.compare(right.table); by_table != 0) return by_table;
  return left.key.compare(right.key);
}

nlohmann::json parse(const std::string& text) {
  return nlohmann::json::parse(text, nullptr, false);
}

nlohmann::json row_json(const SnapshotRow& row) {
  return {{"table", row.table}, {"key", parse(row.key)}, {"values", parse(row.values)}};
}

}  // namespace

void sort_rows(std::vector<SnapshotRow>& rows) {
  std::sort(rows.begin(), rows.end(), [](const SnapshotRow& left, const SnapshotRow& right) {
    return std::tie(left.table, left.key) < std::tie(right.table, right.key);
  });
}

Delta compute_delta(const std::vector<SnapshotRow>& before, const std::vector<SnapshotRow>& after) {
  Delta delta;
  size_t old_index = 0;
  size_t new_index = 0;
  while (old_index < before.size() || new_index < after.size()) {
    if (new_index == after.size()) {
      delta.removed.push_back(before[old_index++]);
      continue;
    }
    if (old_index == before.size()) {
      delta.added.push_back(after[new_index++]);
      continue;
    }
    const SnapshotRow& old_row = before[old_index];
    const SnapshotRow& new_row = after[new_index];
    int order = compare_identity(old_row, new_row);
    if (order < 0) {
      delta.removed.push_back(old_row);
      ++old_index;
    } else if (order > 0) {
      delta.added.push_back(new_row);
      ++new_index;
    } else {
      if (old_row.values != new_row.values) {
        delta.changed.push_back({new_row.table, new_row.key, old_row.values, new_row.values});
      }
      ++old_index;
      ++new_index;
    }
  }
  return delta;
}

nlohmann::json delta_to_json(const Delta& delta) {
  nlohmann::json document = {
      {"added", nlohmann::json::array()}, {"removed", nlohmann::json::array()}, {"changed", nlohmann::json::array()}};
  for (const auto& row : delta.added) document["added"].push_back(row_json(row));
  for (const auto& row : delta.removed) document["removed"].push_back(row_json(row));
  for (const auto& change : delta.changed) {
    document["changed"].push_back({{"table", change.table},
                                   {"key", parse(change.key)},
                                   {"old", parse(change.old_values)},
                                   {"new", parse(change.new_values)}});
  }
  return document;
}

}  // namespace vigil
