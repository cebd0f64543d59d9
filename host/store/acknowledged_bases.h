// Internal to store/: a module's acknowledged snapshots, the bases of its
// next delta. A snapshot's commit (snapshots.cpp) and the acknowledgement of
// its delta (outbox.cpp) both keep only the newest. The caller holds the
// store's mutex.
#pragma once

#include <cstdint>
#include <string_view>

#include "vigil/sqlite/sqlite.h"

namespace vigil {

// Drops `module`'s acknowledged snapshots older than snapshot `keep`.
void prune_acknowledged_before(sqlite::Database& db, std::string_view module, int64_t keep);

}  // namespace vigil
