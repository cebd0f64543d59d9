// Human-readable rendering of vigilctl's JSON reports.
#pragma once

#include <nlohmann/json.hpp>

#include <ostream>

namespace vigil {

void print_plugins(std::ostream& out, const nlohmann::json& plugins);
void print_status(std::ostream& out, const nlohmann::json& status);
void print_results(std::ostream& out, const nlohmann::json& results);
// One line per swap, revert or rollback, newest first.
void print_plugin_history(std::ostream& out, const nlohmann::json& history);

}  // namespace vigil
