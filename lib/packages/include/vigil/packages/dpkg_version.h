// Debian package versions, [epoch:]upstream[-revision], ordered the way dpkg
// orders them (Debian Policy 5.6.12): epochs numerically, then upstream and
// revision by alternating non-digit runs ('~' before everything, even the end;
// letters before other characters) and digit runs compared as numbers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vigil::packages {

struct DpkgVersion {
  uint64_t epoch = 0;
  std::string upstream;
  std::string revision;  // empty when the version has none
};

// nullopt with `error` set for what dpkg itself refuses: empty, a bad epoch,
// an empty upstream part, characters outside the allowed set.
std::optional<DpkgVersion> parse_dpkg_version(std::string_view text, std::string* error = nullptr);

// <0, 0 or >0 as `a` sorts before, with or after `b`.
int compare_dpkg_versions(const DpkgVersion& a, const DpkgVersion& b);
// Strings that do not parse are compared as if their whole text were the upstream part.
int compare_dpkg_versions(std::string_view a, std::string_view b);

}  // namespace vigil::packages
