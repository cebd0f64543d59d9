// The Inventory manifest (docs/inventory.md): which tables to collect and,
// per table, which value columns to keep. One table per line:
//   <table> [column,column,...]
// '#' starts a comment. Key columns are always kept (they identify rows).
#pragma once

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

namespace vigil::inventory {

struct Selection {
  // table -> value columns to keep (empty set = all of them)
  std::map<std::string, std::set<std::string>> tables;
};

// Throws std::invalid_argument naming the line and what is wrong: an unknown
// table or column, a table listed twice, an empty manifest.
Selection parse_manifest(std::string_view text);

}  // namespace vigil::inventory
