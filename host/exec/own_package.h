// The package Vigil was installed from, and removing it: used by `vigilctl
// uninstall` and by the platform's uninstall command (docs/installing.md).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace vigil {

// The command that removes (or purges) vigil-agent through the package
// manager that installed it; nullopt when Vigil is not installed as a package.
std::optional<std::vector<std::string>> own_package_removal(bool purge);

// Runs `argv` (looked up in PATH) with this process's output; its exit status, or -1.
int run_program(std::vector<std::string> argv);

// Starts `argv` so that it outlives vigild and its service: a transient
// systemd unit when systemd runs (stopping vigild.service kills its whole
// cgroup), else a detached session. Returns an error text, "" on success.
std::string start_detached(const std::vector<std::string>& argv);

}  // namespace vigil
