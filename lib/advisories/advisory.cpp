#include "vigil/advisories/advisory.h"

#include <algorithm>

#include "vigil/packages/dpkg_version.h"
#include "vigil/packages/rpm_version.h"

namespace vigil::advisories {

namespace {

int compare(const std::string& manager, std::string_view a, std::string_view b) {
  return manager == "rpm" ? packages::compare_rpm_versions(a, b) : packages::compare_dpkg_versions(a, b);
}

}  // namespace

const VersionRange* affected_range(const Advisory& advisory, std::string_view version) {
  for (const VersionRange& range : advisory.ranges) {
    if (!range.introduced.empty() && compare(advisory.manager, version, range.introduced) < 0) continue;
    if (!range.fixed.empty() && compare(advisory.manager, version, range.fixed) >= 0) continue;
    if (!range.last_affected.empty() && compare(advisory.manager, version, range.last_affected) > 0) continue;
    return &range;
  }
  return nullptr;
}

std::string version_problem(const std::string& manager, std::string_view version) {
  if (version.empty()) return "an empty version";
  if (std::any_of(version.begin(), version.end(), [](char c) { return c <= ' ' || c == ';' || c == 0x7f; })) {
    return "version '" + std::string(version) + "' has blanks or control characters";
  }
  if (manager == "dpkg") {
    std::string error;
    if (!packages::parse_dpkg_version(version, &error)) return "version '" + std::string(version) + "': " + error;
  }
  return "";
}

}  // namespace vigil::advisories
