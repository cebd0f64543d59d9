// The dpkg status database (/var/lib/dpkg/status): what is installed, read
// straight from the file dpkg itself keeps, without running dpkg-query.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::packages {

struct DpkgPackage {
  std::string name;     // as dpkg-query's ${binary:Package}: name:arch for Multi-Arch: same
  std::string package;  // the bare package name
  std::string version;
  std::string architecture;
  std::string source;  // source package name (the package's own name when not given)
  std::string source_version;
  std::string status;      // e.g. "install ok installed"
  bool installed() const;  // unpacked and configured (status word "installed")
};

struct DpkgStatus {
  std::vector<DpkgPackage> packages;  // every stanza with a Package field, in file order
  std::vector<std::string> problems;  // stanzas skipped, with the line they start at and why
};

// Parses the text of a status file. Never throws; malformed stanzas are skipped
// and named in `problems`.
DpkgStatus parse_dpkg_status(std::string_view text);
// Reads and parses `file`; nullopt with `error` when the file cannot be read.
std::optional<DpkgStatus> read_dpkg_status(const std::filesystem::path& file, std::string* error = nullptr);

}  // namespace vigil::packages
