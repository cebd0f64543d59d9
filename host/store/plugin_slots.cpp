// The plugin_slots table.
#include "store/plugin_slots.h"

#include "store/store_errors.h"
#include "vigil/sqlite/sqlite.h"

namespace vigil {

namespace {

constexpr const char* kColumns =
    "module, active, previous, state, a_version, a_sha256, b_version, b_sha256, changed_at, factory_file, "
    "factory_sha256, probe_deadline, attempts, a_downloaded, b_downloaded";
constexpr int kKeptHistory = 100;

PluginSlotState read_row(sqlite::Statement& row) {
  PluginSlotState state;
  state.module = row.text(0);
  state.active = row.text(1);
  state.previous = row.text(2);
  state.state = row.text(3);
  state.a = {row.text(4), row.text(5), row.integer(13)};
  state.b = {row.text(6), row.text(7), row.integer(14)};
  state.changed_at = row.integer(8);
  state.factory_file = row.text(9);
  state.factory_sha256 = row.text(10);
  state.probe_deadline = row.integer(11);
  state.attempts = row.integer(12);
  return state;
}

}  // namespace

std::optional<PluginSlotState> PluginSlots::read_locked(const std::string& module) {
  sqlite::Statement statement(db_, (std::string("SELECT ") + kColumns + " FROM plugin_slots WHERE module = ?").c_str());
  statement.bind(1, module);
  if (!statement.step()) return std::nullopt;
  return read_row(statement);
}

Result<std::optional<PluginSlotState>> PluginSlots::get(const std::string& module) {
  return guarded([&]() -> Result<std::optional<PluginSlotState>> {
    std::lock_guard lock(mutex_);
    return read_locked(module);
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

Status PluginSlots::put(const PluginSlotState& state, const UpgradeRecord* record) {
  return guarded([&]() -> Status {
    std::lock_guard lock(mutex_);
    write_locked(state, record);
    return Status::Ok();
  });
}

void PluginSlots::write_locked(const PluginSlotState& state, const UpgradeRecord* record) {
  DurableWrites durable(db_);
  sqlite::Transaction transaction(db_);
  sqlite::Statement(db_, (std::string("INSERT OR REPLACE INTO plugin_slots (") + kColumns +
                          ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
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
      .bind(10, state.factory_file.string())
      .bind(11, state.factory_sha256)
      .bind(12, state.probe_deadline)
      .bind(13, state.attempts)
      .bind(14, state.a.downloaded)
      .bind(15, state.b.downloaded)
      .run();
  if (record != nullptr) {
    sqlite::Statement(db_,
                      "INSERT INTO plugin_upgrades (at, module, from_version, to_version, outcome, reason, swap_ms, "
                      "revert_ms, bytes_downloaded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(1, record->at)
        .bind(2, record->module)
        .bind(3, record->from_version)
        .bind(4, record->to_version)
        .bind(5, record->outcome)
        .bind(6, record->reason)
        .bind(7, record->swap_ms)
        .bind(8, record->revert_ms)
        .bind(9, record->bytes_downloaded)
        .run();
    sqlite::Statement(db_,
                      "DELETE FROM plugin_upgrades WHERE module = ? AND id NOT IN (SELECT id FROM plugin_upgrades "
                      "WHERE module = ? ORDER BY id DESC LIMIT ?)")
        .bind(1, record->module)
        .bind(2, record->module)
        .bind(3, int64_t{kKeptHistory})
        .run();
    if (!record->bad_sha256.empty()) {
      sqlite::Statement(db_,
                        "INSERT OR REPLACE INTO plugin_bad_versions (module, sha256, version, reason, at) VALUES (?, "
                        "?, ?, ?, ?)")
          .bind(1, record->module)
          .bind(2, record->bad_sha256)
          .bind(3, record->to_version)
          .bind(4, record->outcome + ": " + record->reason)
          .bind(5, record->at)
          .run();
    }
  }
  transaction.commit();
}

Result<bool> PluginSlots::stage(const PluginSlotState& before, const std::string& slot, const SlotFile& file,
                                int64_t now) {
  return guarded([&]() -> Result<bool> {
    std::lock_guard lock(mutex_);  // read and write as one: the agent's thread may start a swap meanwhile
    PluginSlotState row = read_locked(before.module).value_or(before);
    if (row.active != before.active || row.active == slot || (row.state != "stable" && row.state != "staged")) {
      return false;
    }
    row.file(slot) = file;
    row.state = "staged";
    row.changed_at = now;
    write_locked(row, nullptr);
    return true;
  });
}

Result<std::optional<std::string>> PluginSlots::bad_reason(const std::string& module, const std::string& sha256) {
  return guarded([&]() -> Result<std::optional<std::string>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "SELECT reason FROM plugin_bad_versions WHERE module = ? AND sha256 = ?");
    statement.bind(1, module).bind(2, sha256);
    if (!statement.step()) return std::optional<std::string>();
    return std::optional<std::string>(statement.text(0));
  });
}

Status PluginSlots::set_revert_ms(const std::string& module, int64_t revert_ms) {
  return guarded([&]() -> Status {
    std::lock_guard lock(mutex_);
    sqlite::Statement(db_,
                      "UPDATE plugin_upgrades SET revert_ms = ? WHERE id = (SELECT max(id) FROM plugin_upgrades WHERE "
                      "module = ?)")
        .bind(1, revert_ms)
        .bind(2, module)
        .run();
    return Status::Ok();
  });
}

Result<std::vector<UpgradeRecord>> PluginSlots::history(const std::string& module, int limit) {
  return guarded([&]() -> Result<std::vector<UpgradeRecord>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(
        db_,
        "SELECT at, from_version, to_version, outcome, reason, swap_ms, revert_ms, bytes_downloaded FROM "
        "plugin_upgrades WHERE module = ? ORDER BY id DESC LIMIT ?");
    statement.bind(1, module).bind(2, int64_t{limit});
    std::vector<UpgradeRecord> records;
    while (statement.step()) {
      UpgradeRecord record;
      record.module = module;
      record.at = statement.integer(0);
      record.from_version = statement.text(1);
      record.to_version = statement.text(2);
      record.outcome = statement.text(3);
      record.reason = statement.text(4);
      record.swap_ms = statement.integer(5);
      record.revert_ms = statement.integer(6);
      record.bytes_downloaded = statement.integer(7);
      records.push_back(std::move(record));
    }
    return records;
  });
}

}  // namespace vigil
