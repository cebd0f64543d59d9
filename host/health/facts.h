// The facts of the JSON report that are no step's: identity, disk space and
// the disk the agent uses; and the low-disk finding.
#pragma once

#include "health/context.h"
#include "health/report.h"

namespace vigil::health {

// Adds timestamp, ids, provisioned, free disk and the disk used by data and
// program files to report.facts.
void collect_facts(const Context& context, Report& report);
// The file system of the data directory into report.facts["free_disk"]: a
// statvfs, cheap enough for the digest the running agent sends.
void collect_free_disk(const Context& context, Report& report);
// Adds the free disk line to `step`, and disk-low when free space is short.
void judge_free_disk(const Report& report, Step& step);
// Bytes of the files under `path` (a file: its size); 0 when missing.
int64_t disk_usage(const std::filesystem::path& path);

}  // namespace vigil::health
