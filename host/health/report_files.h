// The HealthCheck directory: each run's short text report and detailed JSON
// report, kept for the last kKeptReports runs.
#pragma once

#include <filesystem>

#include "health/report.h"
#include "vigil/result/result.h"

namespace vigil::health {

inline constexpr size_t kKeptReports = 10;

struct WrittenReports {
  std::filesystem::path text;
  std::filesystem::path json;
};

// Writes health-<UTC time>.txt and .json into `directory` (made 0750 if
// missing; files 0640, like the logs), each by rename so a reader never sees
// half a report, then removes all but the newest kKeptReports of each.
Result<WrittenReports> write_reports(const std::filesystem::path& directory, const Report& report);

}  // namespace vigil::health
