// vigilctl diagnostics: one archive an operator can send to support: logs,
// configuration, status, the health report, the plugin list, recent errors,
// with every secret redacted (redactor.h). docs/health.md lists its members.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "base/paths.h"
#include "vigil/result/result.h"

namespace vigil::diagnostics {

struct BundleOptions {
  std::chrono::milliseconds timeout{3000};  // requests to vigild, the health check's network steps
  std::filesystem::path program_dir;        // vigilctl's directory, for the health check
  size_t max_log_bytes = size_t{8} << 20;   // per log file: its newest bytes
};

struct BundleSummary {
  std::vector<std::string> members;  // paths inside the archive
  size_t secrets = 0;                // secret values the redactor knew of
  bool daemon_running = false;
};

// "vigil-diagnostics-20261202T094000Z": the archive's top folder and default file name.
std::string bundle_name();
Result<BundleSummary> write_bundle(const Paths& paths, const std::filesystem::path& output,
                                   const BundleOptions& options);

}  // namespace vigil::diagnostics
