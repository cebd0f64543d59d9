// What is installed, from whichever package databases the system under a root
// has (dpkg, RPM): read once, for the modules that list packages or compare
// their versions.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "vigil/packages/dpkg_status.h"
#include "vigil/packages/rpm_database.h"

namespace vigil::packages {

struct InstalledPackages {
  std::optional<DpkgStatus> dpkg;  // nullopt: no readable <root>/var/lib/dpkg/status
  std::string dpkg_error;
  std::optional<std::vector<RpmPackage>> rpm;  // nullopt: no readable RPM database
  std::string rpm_error;
};

InstalledPackages read_installed_packages(const std::filesystem::path& root);

// Package name -> installed version. Each package is there under its bare
// name and under its qualified one (dpkg name:arch for Multi-Arch: same, rpm
// name.arch), since rules may name either; when several packages share a name
// (two architectures, two kernels) the first in the database wins.
using VersionMap = std::unordered_map<std::string, std::string>;
VersionMap installed_versions(const DpkgStatus& status);  // installed packages only
VersionMap installed_versions(const std::vector<RpmPackage>& packages);

}  // namespace vigil::packages
