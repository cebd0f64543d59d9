// The facts of the JSON report that are no step's: identity, disk space and
// the disk the agent uses; and the low-disk finding.
#pragma once

#include "health/context.h"
#include "health/report.h"

namespace vigil::health {

// Adds timestamp, ids, provisioned, free disk and the disk used by data and
// program files to report.facts.
void collect_facts(const Context& context, Report& report);
// Bytes of the files under `path` (a file: its size); 0 when missing.
int64_t disk_usage(const std::filesystem::path& path);

}  // namespace vigil::health
