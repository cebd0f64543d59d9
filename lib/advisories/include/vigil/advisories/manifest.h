// The VM advisories manifest (manifest type "vm-advisories"): one OS
// release's advisories, one tab-separated line each, so that an agent reads
// tens of thousands of them in milliseconds and looks at the few whose
// package is installed. Format (docs/vulnerability-management.md):
//   vigil-advisories 1
//   release <key>
//   <id> <manager> <source|binary> <package> <ranges> <severity> <unfixed> <cves> <aliases> <references> <cvss>
//   <summary>
// ranges: ';'-separated ranges of space-separated bounds (>=V, <V, <=V), or '*'
// for every version; empty list fields are '-'.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "vigil/advisories/advisory.h"

namespace vigil::advisories {

std::string manifest_header(const std::string& release);
std::string manifest_line(const Advisory& advisory);  // with its newline

struct ManifestInfo {
  std::string release;
  size_t advisories = 0;
};

// The release a manifest is for, read from its header alone; throws
// std::invalid_argument when the header is malformed.
std::string manifest_release(std::string_view text);

// Reads a manifest line by line. `wanted(manager, by_source, package)` is
// asked first for each line, and only the lines it wants are read whole and
// handed to `found`. Throws std::invalid_argument naming the line number and
// field of anything malformed (in any line, wanted or not, so a broken
// manifest never passes in part).
ManifestInfo read_manifest(
    std::string_view text,
    const std::function<bool(std::string_view manager, bool by_source, std::string_view package)>& wanted,
    const std::function<void(Advisory&&)>& found);

}  // namespace vigil::advisories
