// vigilctl health: runs every step against the agent under `paths`, with
// vigild running or not, and returns the report (docs/health.md).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <vector>

#include "base/paths.h"
#include "health/report.h"

namespace vigil::health {

struct Context;

struct HealthOptions {
  std::chrono::milliseconds timeout{3000};  // each network attempt and each request to vigild
  std::filesystem::path program_dir;        // vigilctl's directory: vigild is looked for beside it too
  // Steps the caller adds after the numbered ones, on the same context (vigilctl health --canary).
  std::vector<std::function<Step(const Context&)>> extra_steps{};
};

Report run_health_check(const Paths& paths, const HealthOptions& options);

// <log directory>/HealthCheck: LogFileDir (under the root) when set, else the default log directory.
std::filesystem::path report_directory(const Paths& paths);

}  // namespace vigil::health
