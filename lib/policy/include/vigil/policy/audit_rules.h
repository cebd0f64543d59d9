// Linux audit rules as Debian 12's auditd (3.0.9) loads them: the files of
// /etc/audit/rules.d merged the way augenrules merges them, or the rules the
// kernel holds as `auditctl -l` lists them. Both are read into one form, so
// a check asks the same question of either. What this reader cannot
// interpret exactly throws std::runtime_error naming the file:line and the
// construct, so a check errs instead of reporting rules auditd would not load.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "vigil/policy/config_formats.h"

namespace vigil::policy {

// One `-F name op value` (or `-C name op name`) of a rule, with the value in
// the form auditctl -l prints (uids as numbers, `unset` as -1, errnos as
// numbers, permissions in the order rwxa).
struct AuditField {
  std::string name, op, value;
  bool comparison = false;  // -C: value names another field
  bool operator==(const AuditField&) const = default;
};

struct AuditRule {
  std::string list;                   // exit | task | user | exclude | filesystem | io_uring
  std::string action;                 // always | never
  std::string arch;                   // b64 | b32 | "" (none given)
  std::vector<std::string> syscalls;  // sorted; empty: every syscall
  std::vector<AuditField> fields;     // besides arch and key; a watch is path= (or dir=) and perm=
  std::vector<std::string> keys;
  bool prepend = false;  // -A: put first in its list, and never refused as a rule the kernel already holds
  std::string text;      // as written
  std::string origin;    // file:line, or "auditctl -l:N"
};

struct AuditRules {
  std::vector<AuditRule> rules;  // in the kernel's order: by list (user, task, exit, exclude, ...), -A first
  std::map<std::string, ConfigValue> settings;  // enabled, failure, backlog_limit, backlog_wait_time, rate_limit
  std::vector<std::string> files;               // every file read, in order
};

// The rules `augenrules --load` (Debian 12, auditd 3.0.9) would load from
// /etc/audit/rules.d/*.rules under root.
AuditRules read_audit_rules_files(const std::filesystem::path& root);

// The rules of `auditctl -l` output; with `status` (`auditctl -s` output),
// its settings too.
AuditRules parse_auditctl_listing(const std::string& listing, const std::string& status);

// The *.rules names of a directory in the order `ls -1v` lists them
// (coreutils filevercmp, then byte order), as augenrules reads them.
std::vector<std::string> augenrules_order(std::vector<std::string> names);

// One field as a rule or a check writes it ("auid>=1000", "perm=aw",
// "exit=-EACCES"; `comparison`: "euid!=uid"), normalised; throws
// std::runtime_error (with `where` in front) when not understood.
AuditField parse_audit_field(const std::string& text, bool comparison, const std::string& where);

// What an audit_rule check looks for: an always,exit rule for each arch (and
// each syscall, or every syscall for a watch) that audits the path for at
// least those permissions, narrows events by no field but `fields`, and
// carries `key` when one is given.
struct AuditWant {
  std::string watch, permissions;
  std::vector<std::string> syscalls;
  std::vector<std::string> arches;  // b64, b32
  std::vector<AuditField> fields;
  std::string key;
};

struct AuditCoverage {
  std::vector<const AuditRule*> matching;  // the first rule found for each syscall and arch, once each
  std::vector<std::string> missing;        // "execve (b32)", or "b32" for a watch
  std::vector<const AuditRule*> close;     // always,exit rules on the path or syscall that fall short, for the evidence
};

// Throws std::runtime_error when a rule this reader does not model may keep
// the events from being logged: a never rule on the exit list before the
// matching one, or any rule on the task, exclude or filesystem list.
AuditCoverage audit_coverage(const AuditRules& rules, const AuditWant& want);

// The rule in one spelling (dir= as path=), to compare two sources.
std::string audit_rule_canonical(const AuditRule& rule);

// Whether auditctl 3.0.9 knows `name` as a syscall of `arch` (b64 | b32), among
// those this reader knows.
bool audit_syscall_known(const std::string& name, const std::string& arch);

}  // namespace vigil::policy
