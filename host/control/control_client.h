// vigilctl's side of the control socket: one blocking request/response call.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>

#include "base/status.h"

namespace vigil {

// Sends `request` to the daemon at `socket_path` and returns its response.
// Fails with "not running" when nothing listens there.
Result<nlohmann::json> call_daemon(const std::filesystem::path& socket_path, const nlohmann::json& request);

// True when a daemon answers on `socket_path`.
bool daemon_running(const std::filesystem::path& socket_path);

}  // namespace vigil
