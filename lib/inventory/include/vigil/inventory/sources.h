// Where the Inventory tables come from: each source reads real system files
// under a root ("/" on a machine, a temp dir in tests) and returns its rows.
// A missing or unreadable source gives no rows and a reason, never a failure.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace vigil::inventory {

using Fields = std::vector<std::pair<std::string, std::string>>;

struct Row {
  Fields keys;
  Fields values;
};

struct TableRows {
  std::vector<Row> rows;
  std::vector<std::string> notes;  // why something is missing (logged by the plugin)
};

struct Source {
  std::string table;
  std::vector<std::string> key_columns;
  std::vector<std::string> value_columns;
  std::function<TableRows(const std::filesystem::path& root)> read;
};

// Every table the Inventory module knows, in a fixed order.
const std::vector<Source>& sources();

}  // namespace vigil::inventory
