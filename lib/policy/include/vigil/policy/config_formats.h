// Readers for the configuration formats policies look into, each with the
// semantics of the program that reads the file:
// - sshd_config: keywords case-insensitive, the FIRST value wins, Include
//   (globs, relative to /etc/ssh) read in place, Match blocks apply only to
//   the connection they describe;
// - sysctl: /usr/lib, /lib, /run and /etc sysctl.d/*.conf by file name (a
//   name in /etc hides the same name elsewhere), in lexical order, then
//   /etc/sysctl.conf; the LAST assignment wins;
// - keyvalue (login.defs style): "KEY value", the last one wins;
// - shell (/etc/default/*): KEY=value with optional quotes, the last one wins;
// - ini: [section] key = value, the last one wins.
// Every path is read under a root, so tests need no privileges.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::policy {

struct ConfigValue {
  std::string value;
  std::string origin;  // file:line it came from
};

// The connection an sshd Match block is checked against; empty fields never match.
struct SshdContext {
  std::string user, group, host, address, local_port;
};

// The effective value of `keyword` for the connection (global settings when
// `context` is empty). nullopt when nothing sets it. Throws std::runtime_error
// when the file cannot be read.
std::optional<ConfigValue> sshd_value(const std::filesystem::path& root, const std::filesystem::path& file,
                                      std::string_view keyword, const SshdContext& context);

// Every key as the kernel would get it after `sysctl --system`.
std::map<std::string, ConfigValue> sysctl_settings(const std::filesystem::path& root);

enum class Format { kKeyValue, kShell, kIni };
// Keys are "section.key" for ini (keys before any section have no prefix).
std::map<std::string, ConfigValue> read_config(const std::filesystem::path& root, const std::filesystem::path& file,
                                               Format format);

// Text of a file under root; throws std::runtime_error naming it.
std::string read_text(const std::filesystem::path& root, const std::filesystem::path& file);
// `path` (absolute, as the policy names it) under `root`.
std::filesystem::path under(const std::filesystem::path& root, const std::filesystem::path& path);

}  // namespace vigil::policy
