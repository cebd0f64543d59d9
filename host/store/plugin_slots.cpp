// The plugin_slots table.
#include "store/plugin_slots.h"

#include "store/store_errors.h"
#include "vigil/sqlite/sqlite.h"

namespace vigil {

namespace {

constexpr const char* kColumns =
    "module, active, previous, state, a_version, a_sha256, b_version, b_sha256, changed_at";

PluginSlotState read_row(sqlite::Statement& row) {
  PluginSlotState state;
  state.module = row.text(0);
  state.active = row.text(1);
  state.previous = row.text(2);
  state.state = row.text(3);
  state.a = {row.text(4), row.text(5)};
  state.b = {row.text(6), row.text(7)};
  state.changed_at = row.integer(8);
  return state;
}

}  // namespace

Result<std::optional<PluginSlotState>> PluginSlots::get(const std::string& module) {
  return guarded([&]() -> Result<std::optional<PluginSlotState>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_,
                                (std::string("SELECT ") + kColumns + " FROM plugin_slots WHERE module = ?").c_str());
    statement.bind(1, module);
    if (!statement.step()) return std::optional<PluginSlotState>();
    return std::optional<PluginSlotState>(read_row(statement));
  });
}

Result<std::vector<PluginSlotState>> PluginSlots::all() {
  return guarded([&]() -> Result<std::vector<PluginSlotState>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_,
                                (std::string("SELECT ") + kColumns + " FROM plugin_slots ORDER BY module").c_str());
    std::vector<PluginSlotState> states;
    while (statement.step()) states.push_back(read_row(statement));
    return states;
  });
}

Status PluginSlots::put(const PluginSlotState& state) {
  return guarded([&]() -> Status {
    std::lock_guard lock(mutex_);
    DurableWrites durable(db_);
    sqlite::Statement(
        db_, (std::string("INSERT OR REPLACE INTO plugin_slots (") + kColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
                 .c_str())
        .bind(1, state.module)
        .bind(2, state.active)
        .bind(3, state.previous)
        .bind(4, state.state)
        .bind(5, state.a.version)
        .bind(6, state.a.sha256)
        .bind(7, state.b.version)
        .bind(8, state.b.sha256)
        .bind(9, state.changed_at)
        .run();
    return Status::Ok();
  });
}

}  // namespace vigil
