#include "agent/state_migration.h"

#include <iostream>

#include "store/state_store.h"

namespace vigil {

int migrate_state(const Paths& paths) {
  auto store = StateStore::open(paths.state_db());
  if (!store.ok()) {
    std::cerr << "vigild: " << store.error() << "\n";
    return 1;
  }
  std::cout << "state store " << paths.state_db().string() << ": schema version " << store.value()->schema_version()
            << "\n";
  return 0;
}

}  // namespace vigil
