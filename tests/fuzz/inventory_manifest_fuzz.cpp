// Fuzzes the Inventory manifest parser: any text selects known tables and
// columns only, or is refused with a reason.
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "vigil/inventory/manifest.h"
#include "vigil/inventory/sources.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto selection = vigil::inventory::parse_manifest({reinterpret_cast<const char*>(data), size});
    for (const auto& [table, columns] : selection.tables) {
      bool known = false;
      for (const auto& source : vigil::inventory::sources()) known |= source.table == table;
      if (!known) __builtin_trap();
    }
  } catch (const std::invalid_argument& error) {
    if (std::string_view(error.what()).empty()) __builtin_trap();
  }
  return 0;
}
