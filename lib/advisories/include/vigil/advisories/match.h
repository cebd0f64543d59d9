// Which installed packages an advisory affects. Debian and Ubuntu advisories
// name source packages and their fixed versions are source versions, so a
// binary package is compared by its source package's version (libssl3 by
// openssl's); RPM advisories name binary packages and compare their EVR.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vigil/advisories/advisory.h"
#include "vigil/packages/installed.h"

namespace vigil::advisories {

struct InstalledPackage {
  std::string manager;  // dpkg | rpm
  std::string name;     // as the inventory names it (dpkg name:arch for Multi-Arch: same; rpm name.arch)
  std::string version;
  std::string source;          // source package name
  std::string source_version;  // its version (dpkg: the Source field's, else the package's own)
};

class InstalledIndex {
 public:
  explicit InstalledIndex(const packages::InstalledPackages& installed);
  // Is anything installed that `package` names? Cheap: asked for every advisory.
  bool has(std::string_view manager, bool by_source, std::string_view package) const;
  std::vector<const InstalledPackage*> named(const Advisory& advisory) const;
  size_t size() const { return packages_.size(); }

 private:
  static std::string key(std::string_view manager, bool by_source, std::string_view package);
  std::vector<InstalledPackage> packages_;
  std::unordered_map<std::string, std::vector<size_t>> by_key_;
};

struct Finding {
  const InstalledPackage* package = nullptr;
  const VersionRange* range = nullptr;  // the affected range the compared version is in
  std::string compared;                 // the version compared: the source's (by_source) or the package's
  std::string fixed() const { return range->fixed; }
  std::string evidence(const Advisory& advisory) const;
};

std::vector<Finding> findings(const Advisory& advisory, const InstalledIndex& index);

}  // namespace vigil::advisories
