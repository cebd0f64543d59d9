// vigilctl's side of the control socket: one blocking request/response call.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>

#include "base/paths.h"
#include "vigil/result/result.h"

namespace vigil {

// Sends `request` to the daemon at `socket_path` and returns its response.
// Fails with "not running" when nothing listens there.
Result<nlohmann::json> call_daemon(const std::filesystem::path& socket_path, const nlohmann::json& request);
// The same, given up after `timeout` with kTimedOut (a daemon that accepts
// but never answers must not hang vigilctl health).
Result<nlohmann::json> call_daemon(const std::filesystem::path& socket_path, const nlohmann::json& request,
                                   std::chrono::milliseconds timeout);

// True while a vigild process holds the instance lock of `paths` (it is alive,
// even if its socket is already closed).
bool instance_lock_held(const Paths& paths);

// True when a daemon answers on `socket_path`.
bool daemon_running(const std::filesystem::path& socket_path);

}  // namespace vigil
