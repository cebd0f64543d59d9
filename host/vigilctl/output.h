// Human-readable rendering of vigilctl's JSON reports.
#pragma once

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>
#include <vector>

namespace vigil {

// A value as a table shows it: strings as they are, null as "-", the rest as JSON.
std::string text_of(const nlohmann::json& value);
// "5 of 11 work units" for a scan's {"done", "total"}; empty before it knows its total.
std::string progress_text(const nlohmann::json& progress);
void print_plugins(std::ostream& out, const nlohmann::json& plugins);
void print_status(std::ostream& out, const nlohmann::json& status);
// The rows of a results report, grouped by table.
void print_results(std::ostream& out, const nlohmann::json& results);
// The columns of one table's rows: the key columns as they come, then those
// that say how a row came out (result, status, state, severity), then the
// others by name.
std::vector<std::string> result_columns(const std::vector<const nlohmann::json*>& rows);
// One line per swap, revert or rollback, newest first.
void print_plugin_history(std::ostream& out, const nlohmann::json& history);

}  // namespace vigil
