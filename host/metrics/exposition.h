// The agent's metrics in the Prometheus text exposition format (0.0.4), for
// node_exporter's textfile collector: `vigil_` names, base units (seconds,
// bytes), `_total` counters. Built from the status report the control
// socket gives (`vigilctl status --json`) and what the worker measures of
// itself; docs/metrics.md lists every metric.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "vigil/result/result.h"

namespace vigil::metrics {

struct WorkerSample {
  int64_t resident_bytes = 0;
  double cpu_seconds = 0;
};

// This process's resident memory and CPU time (user + system).
WorkerSample sample_self();

// `status` is Agent::status_report() (with "scans"); `crashes` maps each
// module to the crashes charged to it; `now` in unix seconds.
std::string render(const nlohmann::json& status, const std::map<std::string, int64_t>& crashes,
                   const WorkerSample& worker, int64_t now);

// Writes `text` to a temporary file beside `file` and renames it over
// `file` (0644: node_exporter reads it), so a reader never sees half of it.
Status write_textfile(const std::filesystem::path& file, const std::string& text);

}  // namespace vigil::metrics
