// The RPM database (<root>/var/lib/rpm, read with librpm): what is installed
// on an RPM-based system, or in an RPM database kept on another system.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vigil::packages {

struct RpmPackage {
  std::string name;
  std::string evr;  // [epoch:]version-release, as rpm compares it
  std::string architecture;
  std::string source_rpm;
  int64_t install_time = 0;
};

// nullopt with `error` when there is no database under `root` or librpm
// cannot read it (e.g. a truncated file). Not thread-safe (librpm's globals):
// one reader at a time per process.
// The source package a SOURCERPM names: "openssl-3.0.7-27.el9.src.rpm" ->
// {"openssl", "3.0.7-27.el9"}; two empty strings when it is not of that form.
std::pair<std::string, std::string> split_source_rpm(std::string_view file);

std::optional<std::vector<RpmPackage>> read_rpm_database(const std::filesystem::path& root,
                                                         std::string* error = nullptr);

}  // namespace vigil::packages
