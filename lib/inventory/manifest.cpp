#include "vigil/inventory/manifest.h"

#include <algorithm>
#include <sstream>

#include "vigil/inventory/sources.h"

namespace vigil::inventory {

Selection parse_manifest(std::string_view text) {
  Selection selection;
  std::istringstream lines{std::string(text)};
  size_t number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    std::string where = "manifest line " + std::to_string(number) + ": ";
    line = line.substr(0, line.find('#'));
    std::istringstream words(line);
    std::string table, columns, extra;
    if (!(words >> table)) continue;
    words >> columns;
    if (words >> extra) throw std::invalid_argument(where + "expected '<table> [column,...]', got more");
    const auto& known = sources();
    auto source = std::find_if(known.begin(), known.end(), [&](const Source& s) { return s.table == table; });
    if (source == known.end()) {
      std::string names;
      for (const auto& s : known) names += (names.empty() ? "" : ", ") + s.table;
      throw std::invalid_argument(where + "unknown table '" + table + "' (tables: " + names + ")");
    }
    if (selection.tables.count(table) > 0) throw std::invalid_argument(where + "table '" + table + "' listed twice");
    std::set<std::string>& kept = selection.tables[table];
    std::istringstream list(columns);
    for (std::string column; std::getline(list, column, ',');) {
      if (std::count(source->value_columns.begin(), source->value_columns.end(), column) == 0) {
        std::string names;
        for (const auto& c : source->value_columns) names += (names.empty() ? "" : ", ") + c;
        throw std::invalid_argument(where + "table '" + table + "' has no column '" + column +
                                    "' (columns: " + (names.empty() ? "none besides its keys" : names) + ")");
      }
      kept.insert(column);
    }
  }
  if (selection.tables.empty()) throw std::invalid_argument("manifest selects no table");
  return selection;
}

}  // namespace vigil::inventory
