#include "vigil/packages/installed.h"

namespace vigil::packages {

InstalledPackages read_installed_packages(const std::filesystem::path& root) {
  InstalledPackages installed;
  installed.dpkg = read_dpkg_status(root / "var/lib/dpkg/status", &installed.dpkg_error);
  installed.rpm = read_rpm_database(root, &installed.rpm_error);
  return installed;
}

VersionMap installed_versions(const DpkgStatus& status) {
  VersionMap versions;
  for (const auto& package : status.packages) {
    if (!package.installed()) continue;
    versions.emplace(package.name, package.version);
    versions.emplace(package.package, package.version);
  }
  return versions;
}

VersionMap installed_versions(const std::vector<RpmPackage>& packages) {
  VersionMap versions;
  for (const auto& package : packages) {
    versions.emplace(package.name + "." + package.architecture, package.evr);
    versions.emplace(package.name, package.evr);
  }
  return versions;
}

}  // namespace vigil::packages
