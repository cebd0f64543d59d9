// Whether this vigilctl may operate the agent at all. The agent's state,
// configuration and control socket are private to root and the agent's user
// (docs/security.md); anyone else is told what they need, up front, instead of
// a string of "permission denied" from whatever vigilctl touched first.
#pragma once

#include "base/paths.h"
#include "vigil/result/result.h"

namespace vigil {

Status require_agent_access(const Paths& paths);

}  // namespace vigil
