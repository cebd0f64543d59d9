// `vigild --migrate-state`: the package runs it once on upgrade, so the state
// store's migrations run before the new vigild starts, and a store this build
// cannot read fails the upgrade instead of the service.
#pragma once

#include "base/paths.h"

namespace vigil {

// Opens (creating if need be) and migrates <data>/config.db; prints the
// schema version. Returns the process's exit status.
int migrate_state(const Paths& paths);

}  // namespace vigil
