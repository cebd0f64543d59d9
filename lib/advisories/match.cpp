#include "vigil/advisories/match.h"

namespace vigil::advisories {

std::string InstalledIndex::key(std::string_view manager, bool by_source, std::string_view package) {
  std::string out(manager);
  out += by_source ? "/s/" : "/b/";
  out += package;
  return out;
}

InstalledIndex::InstalledIndex(const packages::InstalledPackages& installed) {
  if (installed.dpkg) {
    for (const auto& package : installed.dpkg->packages) {
      if (!package.installed()) continue;
      packages_.push_back({"dpkg", package.name, package.version, package.source, package.source_version});
    }
  }
  if (installed.rpm) {
    for (const auto& package : *installed.rpm) {
      auto [source, source_version] = packages::split_source_rpm(package.source_rpm);
      packages_.push_back({"rpm", package.name + "." + package.architecture, package.evr, source, source_version});
    }
  }
  for (size_t i = 0; i < packages_.size(); ++i) {
    const InstalledPackage& package = packages_[i];
    std::string bare =
        package.name.substr(0, package.manager == "dpkg" ? package.name.find(':') : package.name.rfind('.'));
    by_key_[key(package.manager, false, bare)].push_back(i);
    if (!package.source.empty()) by_key_[key(package.manager, true, package.source)].push_back(i);
  }
}

bool InstalledIndex::has(std::string_view manager, bool by_source, std::string_view package) const {
  return by_key_.count(key(manager, by_source, package)) > 0;
}

std::vector<const InstalledPackage*> InstalledIndex::named(const Advisory& advisory) const {
  std::vector<const InstalledPackage*> out;
  auto found = by_key_.find(key(advisory.manager, advisory.by_source, advisory.package));
  if (found == by_key_.end()) return out;
  for (size_t i : found->second) out.push_back(&packages_[i]);
  return out;
}

std::vector<Finding> findings(const Advisory& advisory, const InstalledIndex& index) {
  std::vector<Finding> out;
  for (const InstalledPackage* package : index.named(advisory)) {
    std::string compared = advisory.by_source ? package->source_version : package->version;
    if (const VersionRange* range = affected_range(advisory, compared)) out.push_back({package, range, compared});
  }
  return out;
}

std::string Finding::evidence(const Advisory& advisory) const {
  std::string text = package->name + " " + package->version;
  if (advisory.by_source) text += " (source " + package->source + " " + package->source_version + ")";
  if (!range->fixed.empty()) return text + " < fixed " + range->fixed;
  if (!range->last_affected.empty()) return text + " <= last affected " + range->last_affected + " (no fix named)";
  return text + ": not fixed yet" + (advisory.unfixed.empty() ? "" : " (" + advisory.unfixed + ")");
}

}  // namespace vigil::advisories
