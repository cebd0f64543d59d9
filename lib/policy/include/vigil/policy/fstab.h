// /etc/fstab as Debian 12's util-linux (libmount 2.38) reads it, and the
// mount a path is configured to get at boot: its fstab entry or its systemd
// .mount unit, whichever systemd 252 uses.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace vigil::policy {

struct FstabEntry {
  std::string source, target, type, options;  // octal escapes decoded; options "" when the field is missing
  int freq = 0, passno = 0;                   // 0 when the field is missing
  std::string origin;                         // file:line
};

// The entries of `file` (normally /etc/fstab; none when it does not exist).
// Throws std::runtime_error naming the file:line for a line libmount would
// not read, or would read in a way this reader does not model (fewer than
// three fields, more than six, a dump or pass field that is not a number, an
// octal escape above \377, a NUL byte).
std::vector<FstabEntry> read_fstab(const std::filesystem::path& root, const std::filesystem::path& file);

struct ConfiguredMount {
  bool configured = false;  // mounted at boot by an fstab entry or an enabled .mount unit
  std::string options;      // as configured, comma-separated
  std::string evidence;     // the fstab line or the unit with its file:line, or why there is none
};

// What is configured to be mounted on `path`: the .mount unit when one is
// found in a directory systemd prefers to its fstab generator's, else the
// fstab entry (without noauto), else the unit of a lower directory
// (enabled and not masked); /dev/shm, which systemd mounts itself with
// nosuid and nodev, by its fstab entry or else as systemd mounts it. Throws std::runtime_error naming the file:line
// for what cannot be read exactly (a path in fstab twice, drop-ins for a unit
// fstab makes, a unit whose Where= is another path or that has no What=).
ConfiguredMount configured_mount(const std::filesystem::path& root, const std::string& path);

// Whether mount `option` is in effect with `options` as mount(8) applies them
// left to right: for nodev, nosuid, noexec, ro and their opposites the last
// of the pair wins and "defaults" sets dev, suid, exec, rw; any other option
// is in effect when it is listed. Throws std::runtime_error (with `where`)
// for options this reader does not model: quotes, and user, users, owner or
// group when nodev, nosuid or noexec is asked.
bool mount_option_in_effect(const std::string& options, const std::string& option, const std::string& where);

}  // namespace vigil::policy
