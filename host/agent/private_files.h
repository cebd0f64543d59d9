// The agent's own files stay private (docs/security.md): the state directory
// 0700, the database and its WAL and SHM 0600, the configuration directory
// 0750, the log directory 2750 owned by the log group (so new logs inherit
// the group) with logs 0640. Looser modes left by older versions or by hand
// are tightened at every start; the caller logs each change once.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/paths.h"

namespace vigil {

inline constexpr const char* kLogGroupKey = "LogGroup";
// Debian's group for reading system logs; when the host has none, the logs
// keep the agent's own group.

struct PrivateFilesReport {
  std::vector<std::string> changes;   // "tightened … from mode 0644 to 0600"
  std::vector<std::string> problems;  // what could not be done, and why
};

// The state, configuration and run directories and the database files;
// creates the directories that are missing.
void make_state_private(const Paths& paths, PrivateFilesReport& report);
// The log directory and the logs in it; `log_group` is the LogGroup setting
// (nullopt: the default).
void make_logs_private(const std::filesystem::path& log_dir, const std::optional<std::string>& log_group,
                       PrivateFilesReport& report);

}  // namespace vigil
