// Security advisories as the VM module evaluates them (docs/vulnerability-management.md):
// which package of which OS release is affected in which version ranges, and
// how the advisory describes itself. Imported from OSV and the Debian Security
// Tracker (import.h), carried to agents one line each (manifest.h).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::advisories {

// Versions v with introduced <= v < fixed and v <= last_affected; an empty
// bound does not limit. A range with no bound at all is every version.
struct VersionRange {
  std::string introduced;
  std::string fixed;
  std::string last_affected;
};

struct Advisory {
  std::string id;         // DSA-5532-1, CVE-2024-0727, ALSA-2024:1234, ...
  std::string release;    // the OS release it is for, as machine::release_key names it ("debian:12")
  std::string manager;    // "dpkg" or "rpm": whose version ordering applies
  bool by_source = true;  // `package` names a source package (Debian, Ubuntu), else a binary one
  std::string package;
  std::vector<VersionRange> ranges;  // affected when any holds
  std::string severity;              // one of kSeverities
  std::string unfixed;  // why no fix is known when the matched range has none: "open", "undetermined", "end-of-life"
  std::vector<std::string> cves;        // CVE ids among the id, aliases and upstream ids
  std::vector<std::string> aliases;     // the other ids, CVEs included
  std::vector<std::string> references;  // URLs
  std::string cvss;                     // CVSS vectors as published, space-separated; not scored here
  std::string summary;
};

// Severity words, lowest first: each source's scale is mapped onto these.
inline constexpr const char* kSeverities[] = {"unknown", "negligible", "low", "medium", "high", "critical"};

// The ranges of `advisory` that hold for `version`, under its manager's
// ordering; the first that holds, or nullptr.
const VersionRange* affected_range(const Advisory& advisory, std::string_view version);

// Checks a version as the advisory's manager would read it: "" when fine,
// else why not (dpkg refuses what parse_dpkg_version refuses).
std::string version_problem(const std::string& manager, std::string_view version);

}  // namespace vigil::advisories
