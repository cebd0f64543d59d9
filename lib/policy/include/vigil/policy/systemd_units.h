// systemd's own files as Debian 12's systemd (252) reads them:
// - a unit's properties: the unit file found first in the unit search path
//   (a symlink to /dev/null or an empty file masks it; foo@bar.service falls
//   back to foo@.service), then the drop-ins <unit>.d/*.conf, the template's,
//   the prefix ones (foo-.service.d) and the type's (service.d) from every
//   directory of the path, a file name in an earlier directory hiding the same
//   name later, applied in file name order;
// - systemd's configuration files (/etc/systemd/journald.conf, …) with their
//   drop-ins /etc|/run|/usr/local/lib|/usr/lib/systemd/<name>.conf.d/*.conf;
// both as "[Section]" and "Key=Value" lines with backslash continuation, each
// value with its file:line. Only keys this reader knows how systemd merges
// are read; anything it cannot interpret exactly throws std::runtime_error
// naming the file:line and the construct.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "vigil/policy/config_formats.h"

namespace vigil::policy {

// The unit search path of the system manager, highest priority first.
const std::vector<std::string>& systemd_unit_path();

// The files systemd loads for one unit.
struct UnitFiles {
  std::optional<std::filesystem::path> fragment;  // as on the target system; nullopt: no unit file
  std::string fragment_directory;                 // the directory of the search path it was found in
  bool masked = false;                            // the fragment is a link to /dev/null or empty
  std::vector<std::filesystem::path> dropins;     // in the order systemd applies them
};

// Throws std::runtime_error for a unit name systemd does not accept, a unit
// reached through an alias, an alias with drop-ins of its own, a drop-in
// that is not a file.
UnitFiles find_unit_files(const std::filesystem::path& root, const std::string& unit);

// Whether some *.wants / *.requires directory of the search path names the unit.
bool unit_is_wanted(const std::filesystem::path& root, const std::string& unit);

// "" when `key` ("Section.Key") is a property this reader reads for `unit`,
// else why not.
std::string systemd_unit_key_problem(const std::string& unit, const std::string& key);

// The value of `key` after the fragment and drop-ins (nullopt: not set);
// lists read as their words separated by blanks, booleans as yes / no.
std::optional<ConfigValue> systemd_unit_value(const std::filesystem::path& root, const UnitFiles& files,
                                              const std::string& key);

// The files systemd reads for the configuration file `path`
// (/etc/systemd/journald.conf, …): the file itself when it exists, then its
// drop-ins in the order they are applied.
std::vector<std::filesystem::path> systemd_config_files(const std::filesystem::path& root,
                                                        const std::filesystem::path& path);

// "" when `path` is a configuration file and `key` one of its keys this reader
// reads, else why not.
std::string systemd_config_key_problem(const std::filesystem::path& path, const std::string& key);

// The value of `key` ("Section.Key") after the file and its drop-ins.
std::optional<ConfigValue> systemd_config_value(const std::filesystem::path& root, const std::filesystem::path& path,
                                                const std::string& key);

// `value` as this reader spells it for `key` (of a unit or a configuration
// file): a boolean as yes / no; unchanged otherwise.
std::string systemd_normalized(const std::string& key, const std::string& value);

// One "Key=Value" line of a file in systemd's syntax.
struct SystemdAssignment {
  std::string key;  // Section.Key
  std::string value;
  std::string origin;  // file:line of its first line
};

// Every assignment of `file` in order, as systemd's config parser reads it
// (sections, comments, continued lines); throws std::runtime_error naming
// the file:line for a line it does not read exactly.
std::vector<SystemdAssignment> systemd_file_assignments(const std::filesystem::path& root,
                                                        const std::filesystem::path& file);

// The name of the mount unit for `path` ("/var/log" -> "var-log.mount").
std::string mount_unit_name(const std::string& path);

}  // namespace vigil::policy
