// The table of check kinds and what each requires of a parsed check.
#include "vigil/policy/check_kinds.h"

#include <algorithm>
#include <set>

#include "vigil/policy/limits_pwquality_grub.h"
#include "vigil/policy/systemd_units.h"

namespace vigil::policy {
namespace {

std::string needs(const Check& check, const char* field) {
  return "a " + check.kind + " check needs '" + field + "'";
}

std::string needs_path(Check& check) {
  return check.path.empty() ? needs(check, "path") : "";
}

std::string complete_permissions(Check& check) {
  if (check.path.empty()) return needs(check, "path");
  if (check.owner.empty() && check.group.empty() && !check.max_mode) return needs(check, "owner, group or max_mode");
  return "";
}

std::string complete_file_content(Check& check) {
  if (check.path.empty()) return needs(check, "path");
  if (!check.line_matches && !check.no_line_matches) return needs(check, "line_matches or no_line_matches");
  return "";
}

std::string complete_config(Check& check) {
  if (check.format.empty()) return needs(check, "format");
  if (check.key.empty()) return needs(check, "key");
  // sysctl reads its directories, sshd its one default file.
  if (check.format == "sshd" && check.path.empty()) check.path = "/etc/ssh/sshd_config";
  if (check.format != "sysctl" && check.path.empty()) return needs(check, "path");
  if (check.format == "systemd") return systemd_config_key_problem(check.path, check.key);
  return "";
}

std::string complete_sysctl(Check& check) {
  return check.key.empty() ? needs(check, "key") : "";
}

std::string complete_package(Check& check) {
  if (check.name.empty()) return needs(check, "name");
  if (!check.installed && check.version_at_least.empty() && check.version_before.empty())
    return needs(check, "installed, version_at_least or version_before");
  return "";
}

std::string complete_service(Check& check) {
  if (check.name.empty()) return needs(check, "unit");  // the unit is kept as the check's name
  if (!check.enabled && !check.active) return needs(check, "enabled or active");
  return "";
}

std::string complete_accounts(Check& check) {
  static const std::set<std::string> kRules = {"no_empty_passwords",
                                               "only_root_has_uid_0",
                                               "unique_uids",
                                               "unique_user_names",
                                               "unique_gids",
                                               "unique_group_names",
                                               "no_legacy_plus_entries",
                                               "password_max_days",
                                               "password_min_days",
                                               "password_warn_days",
                                               "shadow_hashed_passwords",
                                               "primary_groups_exist",
                                               "system_accounts_no_login_shell",
                                               "locked_without_login_shell",
                                               "interactive_homes",
                                               "interactive_dot_files"};
  if (check.rule.empty()) return needs(check, "rule");
  if (kRules.count(check.rule) == 0) return "unknown accounts rule '" + check.rule + "'";
  return "";
}

std::string complete_kernel_module(Check& check) {
  if (check.name.empty()) return needs(check, "name");
  if (!check.loaded && !check.disabled) return needs(check, "loaded or disabled");
  return "";
}

std::string complete_file_hash(Check& check) {
  if (check.path.empty()) return needs(check, "path");
  if (!check.expect.equals && check.expect.one_of.empty()) return needs(check, "equals or one_of");
  return "";
}

std::string complete_command(Check& check) {
  return check.argv.empty() ? needs(check, "argv") : "";
}

std::string complete_pam(Check& check) {
  if (check.service.empty()) return needs(check, "service");
  if (check.type.empty()) return needs(check, "type");
  if (check.module.empty()) return needs(check, "module");
  return "";
}

std::string complete_mount(Check& check) {
  if (check.path.empty()) return needs(check, "path");
  if (check.configured && check.mounted) return "a mount check takes 'configured' or 'mounted', not both";
  if (check.configured == false && !check.options.empty()) return "'configured: false' takes no options";
  return "";
}

std::string complete_sudoers(Check& check) {
  if (check.path.empty()) check.path = "/etc/sudoers";
  if (check.key.empty() == check.rule.empty()) return "a sudoers check needs 'key' or 'rule' (one of them)";
  if (!check.rule.empty()) {
    if (check.rule != "no_nopasswd" && check.rule != "no_authenticate_off")
      return "unknown sudoers rule '" + check.rule + "' (no_nopasswd, no_authenticate_off)";
    if (!check.expect.empty() || !check.scope.empty() || check.default_value)
      return "a sudoers rule takes no expectation, scope or default";
    return "";
  }
  if (!sudoers_known_default(check.key)) return "'" + check.key + "' is not a Defaults setting sudo 1.9.13 knows";
  if (check.expect.empty()) return "a sudoers check of a key needs an expectation";
  if (check.scope.empty()) check.scope = "all";
  return "";
}

std::string complete_systemd_unit(Check& check) {
  if (check.name.empty()) return needs(check, "unit");  // the unit is kept as the check's name
  if (check.key.empty()) return needs(check, "key");
  if (check.expect.empty()) return "a systemd_unit check needs an expectation";
  return systemd_unit_key_problem(check.name, check.key);
}

std::string complete_limits(Check& check) {
  if (check.item.empty()) return needs(check, "item");
  if (!limits_known_item(check.item)) return "'" + check.item + "' is not a limit item pam_limits 1.5.2 knows";
  bool typed = check.item != "maxlogins" && check.item != "maxsyslogins" && check.item != "priority" &&
               check.item != "nonewprivs";
  if (typed && check.type.empty()) return needs(check, "type") + " (soft or hard)";
  if (!typed && !check.type.empty()) return "pam_limits keeps one " + check.item + " value: give no type";
  if (check.user == "*") check.user.clear();  // the user only * lines name
  if (check.expect.empty()) return "a limits check needs an expectation";
  return "";
}

std::string complete_pwquality(Check& check) {
  if (check.key.empty()) return needs(check, "key");
  if (!pwquality_known_setting(check.key)) return "'" + check.key + "' is not a setting libpwquality 1.4.5 knows";
  if (check.service.empty()) check.service = "common-password";
  if (check.expect.empty()) return "a pwquality check needs an expectation";
  return "";
}

std::string complete_kernel_cmdline(Check& check) {
  if (check.parameter.empty()) return needs(check, "parameter");
  if (check.source.empty()) check.source = "all";
  if (check.expect.empty()) return "a kernel_cmdline check needs an expectation";
  return "";
}

std::string complete_audit_rule(Check& check) {
  if (check.source.empty()) check.source = "files";
  bool watch = !check.watch.empty() || !check.every_setid_under.empty();
  if (!check.watch.empty() && !check.every_setid_under.empty()) return "watch and every_setid_under exclude each other";
  int asks = (watch || !check.syscalls.empty()) + !check.setting.empty() + !check.rule.empty();
  if (asks != 1)
    return "an audit_rule check needs one of 'watch' / 'every_setid_under' / 'syscalls', 'setting' or 'rule'";
  if (!check.setting.empty()) {
    if (!check.expect.empty() && check.key.empty() && check.audit_fields.empty() && check.arch.empty() &&
        check.permissions.empty())
      return "";
    return "an audit_rule setting takes an expectation and nothing of a rule";
  }
  if (!check.expect.empty()) return "only an audit_rule setting takes an expectation";
  if (!check.rule.empty()) {
    if (check.rule != "files_match_loaded") return "unknown audit_rule rule '" + check.rule + "' (files_match_loaded)";
    return check.key.empty() && check.audit_fields.empty() && check.arch.empty() && check.permissions.empty()
               ? ""
               : "the audit_rule rule files_match_loaded takes nothing else";
  }
  if (watch && check.permissions.empty()) return needs(check, "permissions");
  if (!watch && !check.permissions.empty()) return "permissions go with a watch";
  if (check.arch.empty()) check.arch = "both";
  return "";
}

}  // namespace

// One row per kind; a table, so longer than a function should be.
const std::vector<CheckKind>& check_kinds() {
  static const std::vector<CheckKind> kinds = {
      {"file_exists",
       {"path", "type", "exists"},
       false,
       needs_path,
       evaluators::file_exists,
       R"(`path`, `type: file\|directory\|any`, `exists` (default true))",
       R"(the path exists (or not) with that type)"},
      {"permissions",
       {"path", "owner", "group", "max_mode"},
       false,
       complete_permissions,
       evaluators::permissions,
       R"(`path`, `owner`, `group`, `max_mode: '0640'`)",
       R"(owner and group names match (from the root's passwd/group) and no permission bit beyond `max_mode` is set)"},
      {"file_content",
       {"path", "line_matches", "no_line_matches"},
       false,
       complete_file_content,
       evaluators::file_content,
       R"(`path`, `line_matches`, `no_line_matches`)",
       R"(some line matches / no line matches (a missing file has no lines))"},
      {"config",
       {"path", "format", "key", "match", "default"},
       true,
       complete_config,
       evaluators::config,
       R"(`format`, `key`, `path`, `match`, `default` + expectation)",
       R"(the effective value meets the expectation (formats below))"},
      {"sysctl",
       {"key"},
       true,
       complete_sysctl,
       evaluators::sysctl,
       R"(`key` + expectation)",
       R"(the running kernel's value (`/proc/sys`) meets it; a key the kernel lacks is "not set")"},
      {"package",
       {"name", "manager", "installed", "version_at_least", "version_before"},
       false,
       complete_package,
       evaluators::package,
       R"(`name`, `manager: dpkg\|rpm\|any`, `installed`, `version_at_least`, `version_before`)",
       R"(installed state and version (dpkg or RPM ordering))"},
      {"service",
       {"unit", "enabled", "active"},
       false,
       complete_service,
       evaluators::service,
       R"(`unit`, `enabled`, `active`)",
       R"(enabled: a `*.wants`/`*.requires` link exists and the unit is not masked; active: systemd runs it now)"},
      {"mount",
       {"path", "mounted", "options", "configured"},
       false,
       complete_mount,
       evaluators::mount,
       R"(`path`, `mounted`, `options: [nodev, …]`; or `configured`, `options`)",
       R"(the path is a mount point (the visible one) with those options; `configured`: the mount configured )"
       R"(for boot (its `/etc/fstab` entry or enabled `.mount` unit, mounts below) exists (or not) with those )"
       R"(options in effect)"},
      {"accounts",
       {"rule"},
       true,
       complete_accounts,
       evaluators::accounts,
       R"(`rule` (+ expectation for the password rules))",
       R"(`no_empty_passwords`, `only_root_has_uid_0`, `unique_uids`, `unique_user_names`, `unique_gids`, )"
       R"(`unique_group_names`, `shadow_hashed_passwords`, `no_legacy_plus_entries`, `password_max_days` / )"
       R"(`password_min_days` / `password_warn_days` (per account with a password), `primary_groups_exist`, )"
       R"(`system_accounts_no_login_shell` (UID below login.defs' UID_MIN with a shell of /etc/shells, but root, )"
       R"(sync, shutdown, halt), `locked_without_login_shell` (every account but root whose shell is not a login )"
       R"(shell has a locked password in /etc/shadow), `interactive_homes` (every account with a login shell has its own home, at most )"
       R"(0750), `interactive_dot_files` (in those homes: no `.forward` or `.rhosts`, `.netrc` and `.bash_history` )"
       R"(at most 0600, no dot file others may write, all the user's own))"},
      {"kernel_module",
       {"name", "loaded", "disabled"},
       false,
       complete_kernel_module,
       evaluators::kernel_module,
       R"(`name`, `loaded`, `disabled`)",
       R"(loaded per `/proc/modules`; disabled by `blacklist` or `install NAME /bin/false` in modprobe.d)"},
      {"file_hash",
       {"path", "algorithm"},
       true,
       complete_file_hash,
       evaluators::file_hash,
       R"(`path`, `algorithm: sha256\|sha512\|sha1\|md5`, `equals` / `one_of`)",
       R"(the file's digest (hex, any case))"},
      {"find",
       {"path", "depth", "name", "type", "world_writable", "suid", "no_owner", "no_group", "owner", "group", "max_mode",
        "local_only"},
       true,
       needs_path,
       evaluators::find,
       R"(`path`, `depth`, `name` (glob), `type`, `world_writable`, `suid`, `no_owner`, `no_group`, `owner`, `group`, )"
       R"(`max_mode`, `local_only` + expectation on the count)",
       R"(by default nothing may match (`at_most: 0`); symlinks are not followed, unreadable directories are )"
       R"(counted and skipped; `local_only` does not walk into mounts of other than local disk filesystems (proc, )"
       R"(sysfs, network shares, …); with `owner`, `group` or `max_mode`, only entries that break one of them (as a )"
       R"(`permissions` check would fail) match)"},
      {"command",
       {"argv", "exit_code"},
       true,
       complete_command,
       evaluators::command,
       R"(`argv: [...]`, `exit_code` + expectation on the trimmed output)",
       R"(the command's exit code and output)"},
      {"pam",
       {"service", "type", "module", "control", "args", "before", "after", "exists"},
       false,
       complete_pam,
       evaluators::pam,
       R"(`service`, `type: auth\|account\|password\|session`, `module`, `control`, `args: {name: expectation}`, )"
       R"(`before`, `after`, `exists` (default true))",
       R"(an entry of the service's effective stack of that type (PAM below) runs the module (matched by file )"
       R"(name) with that control and arguments, before / after every entry of those modules)"},
      {"sudoers",
       {"path", "key", "scope", "default", "rule"},
       true,
       complete_sudoers,
       evaluators::sudoers,
       R"(`key` + expectation, `scope: all\|global`, `default`; or `rule: no_nopasswd\|no_authenticate_off`; )"
       R"(`path`)",
       R"(the Defaults value sudo applies (sudoers below) meets the expectation, globally and (scope `all`) in )"
       R"(every scoped Defaults that sets it; a rule: no entry grants what it names)"},
      {"systemd_unit",
       {"unit", "key", "default"},
       true,
       complete_systemd_unit,
       evaluators::systemd_unit,
       R"(`unit`, `key: Section.Key`, `default` + expectation)",
       R"(the unit's property after its unit file and drop-ins (systemd units below) meets the expectation)"},
      {"limits",
       {"item", "type", "user"},
       true,
       complete_limits,
       evaluators::limits,
       R"(`item`, `type: soft\|hard`, `user` (default `*`) + expectation)",
       R"(the limit pam_limits gives the user from limits.conf and limits.d (resource limits below) meets the )"
       R"(expectation)"},
      {"pwquality",
       {"key", "service"},
       true,
       complete_pwquality,
       evaluators::pwquality,
       R"(`key` + expectation, `service` (default `common-password`))",
       R"(pam_pwquality runs in the service's password stack and the setting's value there (pwquality.conf, )"
       R"(pwquality.conf.d, the module's arguments, the default) meets the expectation)"},
      {"kernel_cmdline",
       {"parameter", "source"},
       true,
       complete_kernel_cmdline,
       evaluators::kernel_cmdline,
       R"(`parameter` + expectation, `source: all\|grub_cfg\|default_grub`)",
       R"(the parameter's value on every kernel command line of the source (kernel command line below) meets )"
       R"(the expectation)"},
      {"audit_rule",
       {"source", "watch", "every_setid_under", "permissions", "syscalls", "arch", "fields", "key", "setting", "rule"},
       true,
       complete_audit_rule,
       evaluators::audit_rule,
       R"(`source: files\|loaded`; `watch` (or `every_setid_under`), `permissions: wa`; or `syscalls: [..]`, )"
       R"(`arch: b64\|b32\|both`; both with `fields: [auid>=1000, …]`, `key`; or `setting: )"
       R"(enabled\|failure\|backlog_limit\|…` + expectation; or `rule: files_match_loaded`)",
       R"(an `always,exit` rule (audit rules below) audits the path (each set-id file) for those permissions, or )"
       R"(those syscalls for each arch, narrowed by no field but those given and tagged with the key; a )"
       R"(setting's last value meets the expectation; the rules files load exactly the rules the kernel holds)"},
  };
  return kinds;
}

const CheckKind* find_check_kind(std::string_view name) {
  const auto& kinds = check_kinds();
  auto found = std::find_if(kinds.begin(), kinds.end(), [&](const CheckKind& kind) { return kind.name == name; });
  return found == kinds.end() ? nullptr : &*found;
}

std::string check_kind_names() {
  std::string names;
  for (const CheckKind& kind : check_kinds()) names += (names.empty() ? "" : ", ") + std::string(kind.name);
  return names;
}

std::string check_kind_doc_row(const CheckKind& kind) {
  return "| `" + std::string(kind.name) + "` | " + std::string(kind.fields_doc) + " | " +
         std::string(kind.passes_when) + " |";
}

}  // namespace vigil::policy
