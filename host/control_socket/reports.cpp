// Store-backed reports for vigilctl.
#include "control_socket/reports.h"
#include "store/config_table.h"
#include "store/snapshots.h"

#include <algorithm>

namespace vigil {
namespace {

nlohmann::json snapshot_json(const SnapshotInfo& info) {
  return {{"id", info.id},
          {"manifest_type", info.manifest_type},
          {"started_at", info.started_at},
          {"finished_at", info.finished_at},
          {"row_count", info.row_count},
          {"state", info.state}};
}

}  // namespace

Result<nlohmann::json> last_snapshot_report(StateStore& store, const std::string& module) {
  auto latest = store.snapshots().latest(module);
  if (!latest.ok()) return Error{latest.error()};
  if (!latest.value()) return nlohmann::json(nullptr);
  return snapshot_json(*latest.value());
}

Result<nlohmann::json> results_report(StateStore& store, const std::string& module,
                                      const std::optional<std::string>& table, int64_t limit, int64_t offset) {
  auto latest = store.snapshots().latest(module);
  if (!latest.ok()) return Error{latest.error()};
  nlohmann::json report = {{"module", module}, {"snapshot", nullptr}, {"rows", nlohmann::json::array()}};
  if (!latest.value()) return report;
  report["snapshot"] = snapshot_json(*latest.value());
  limit = std::clamp<int64_t>(limit, 1, kMaxResultRows);
  offset = std::max<int64_t>(offset, 0);
  auto rows = store.snapshots().rows(latest.value()->id, table, limit + 1, offset);  // one more: is there a next page?
  if (!rows.ok()) return Error{rows.error()};
  if (table && rows.value().empty()) {
    // An empty page of a table the snapshot does not have is a mistake to name, not an empty result.
    auto tables = store.snapshots().tables(latest.value()->id);
    if (tables.ok() && std::find(tables.value().begin(), tables.value().end(), *table) == tables.value().end()) {
      std::string known;
      for (const std::string& name : tables.value()) known += (known.empty() ? "" : ", ") + name;
      return Error{"snapshot #" + std::to_string(latest.value()->id) + " of module '" + module + "' has no table '" +
                   *table + "' (tables: " + (known.empty() ? "none" : known) + ")"};
    }
  }
  bool more = static_cast<int64_t>(rows.value().size()) > limit;
  if (more) rows.value().pop_back();
  report["offset"] = offset;
  report["next_offset"] = more ? nlohmann::json(offset + limit) : nlohmann::json(nullptr);
  for (const SnapshotRow& row : rows.value()) {
    report["rows"].push_back({{"table", row.table},
                              {"key", nlohmann::json::parse(row.key, nullptr, false)},
                              {"values", nlohmann::json::parse(row.values, nullptr, false)}});
  }
  return report;
}

std::string agent_id(StateStore& store) {
  auto id = store.config().get("AgentId");
  return id.ok() && id.value() ? *id.value() : std::string();
}

}  // namespace vigil
