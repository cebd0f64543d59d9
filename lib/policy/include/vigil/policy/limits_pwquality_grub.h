// Readers for the files behind resource limits, password quality and the
// kernel command line, each with the semantics of Debian 12's program:
// - limits.conf and limits.d/*.conf as pam_limits (Linux-PAM 1.5.2) applies
//   them to one user's session;
// - pwquality.conf.d/*.conf and pwquality.conf as libpwquality 1.4.5 reads
//   them, and pam_pwquality's module arguments on top;
// - /etc/default/grub (+ grub.d/*.cfg) as grub-mkconfig sources them, and
//   the linux lines of /boot/grub/grub.cfg.
// Anything a reader cannot interpret exactly throws std::runtime_error naming
// the file:line and the construct. Every path is read under a root.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vigil/policy/config_formats.h"

namespace vigil::policy {

struct LimitsValue {
  // As written ("0", "1024"), "unlimited" for -1, -, unlimited and infinity;
  // for a limit no line sets, PID 1's from the root's /proc/1/limits (where
  // Debian's pam_limits starts), else nullopt.
  std::optional<ConfigValue> value;
  std::string stopped_by;  // file:line of a "<domain> -" line: pam_limits then sets nothing for the user
};

// The `item` (core, nofile, maxlogins, ...) limit of `type` (soft or hard;
// not used for maxlogins, maxsyslogins, priority and nonewprivs) Debian's
// pam_limits gives `user`, an account of the root's /etc/passwd; with `user`
// empty, a user that only `*` (and `%`) lines name.
LimitsValue limits_value(const std::filesystem::path& root, const std::string& user, const std::string& item,
                         const std::string& type);
// Whether pam_limits 1.5.2 knows `item`.
bool limits_known_item(const std::string& item);

// Every libpwquality 1.4.5 setting with its value (lowercase name; numbers as
// libpwquality stores them, e.g. minlen 4 reads 6; enforce_for_root and
// local_users_only "1" when set, else "0"), from its default (origin
// "default") or pwquality.conf.d/*.conf then pwquality.conf; badwords is
// absent unless set.
std::map<std::string, ConfigValue> pwquality_files(const std::filesystem::path& root);
// The settings after pam_pwquality's arguments `args` (origin `where`), in order.
void pwquality_apply_args(std::map<std::string, ConfigValue>& settings, const std::vector<std::string>& args,
                          const std::string& where);
bool pwquality_known_setting(const std::string& name);

// One word of a kernel command line and where it came from.
struct KernelWord {
  std::string text;
  std::string origin;  // file:line, with the variable for /etc/default/grub
};
struct KernelCommandLine {
  std::string what;  // "/boot/grub/grub.cfg:123" or "/etc/default/grub normal entry"
  std::vector<KernelWord> words;
};

// The command lines update-grub would write from /etc/default/grub and
// /etc/default/grub.d/*.cfg: the normal entry (GRUB_CMDLINE_LINUX then
// GRUB_CMDLINE_LINUX_DEFAULT) and, unless GRUB_DISABLE_RECOVERY is true, the
// recovery entry ("single" then GRUB_CMDLINE_LINUX).
std::vector<KernelCommandLine> default_grub_command_lines(const std::filesystem::path& root);
// The command line of every linux line of /boot/grub/grub.cfg (and of
// custom.cfg beside it, which Debian's grub.cfg sources when it exists).
std::vector<KernelCommandLine> grub_cfg_command_lines(const std::filesystem::path& root);
// The value of `parameter` on `line` ("" for a bare word such as quiet;
// nullopt when absent); names compare with - and _ alike, as the kernel's.
// Throws when it is given more than once with different values.
std::optional<KernelWord> kernel_parameter(const KernelCommandLine& line, const std::string& parameter);

}  // namespace vigil::policy
