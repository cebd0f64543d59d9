// The policy engine Policy Compliance, SCA and User-Defined Controls share
// (docs/policies.md): policies are YAML documents of controls; a control's
// condition combines checks with all / any / none; each check reads the real
// system under a root. A control ends pass, fail, error (with the reason) or
// not applicable, with the values seen as evidence.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/policy/audit_rules.h"
#include "vigil/policy/config_formats.h"

namespace vigil::policy {

// An invalid policy: "source:line: what is wrong".
class PolicyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a value must be; every part given must hold.
struct Expect {
  std::optional<std::string> equals;  // compared case-insensitively for words, exactly for numbers
  std::optional<std::string> not_equals;
  std::vector<std::string> one_of;
  std::shared_ptr<std::regex> matches;
  std::string matches_text;
  std::optional<double> at_least;
  std::optional<double> at_most;
  std::optional<bool> present;  // false: the setting must not be set at all
  bool empty() const {
    return !equals && !not_equals && one_of.empty() && !matches && !at_least && !at_most && !present;
  }
};

struct Check {
  std::string kind;  // file_exists, permissions, file_content, config, sysctl, package, service, mount,
                     // accounts, kernel_module, file_hash, find, command, pam, sudoers,
                     // systemd_unit, limits, pwquality, kernel_cmdline, audit_rule
  int line = 0;
  std::string path;
  std::string type;  // file_exists / find: file | directory | any; pam: auth | account | password | session
  std::optional<bool> exists;
  std::string owner, group;
  std::optional<unsigned> max_mode;
  std::shared_ptr<std::regex> line_matches, no_line_matches;
  std::string line_matches_text, no_line_matches_text;
  std::string format;  // config: sshd | sysctl | keyvalue | shell | ini | systemd
  std::string key;
  SshdContext match;
  std::string name;     // package, kernel module, find's file name glob
  std::string manager;  // package: dpkg | rpm | any
  std::optional<bool> installed, enabled, active, loaded, disabled, mounted;
  std::vector<std::string> options;  // mount options that must be present
  std::string rule;                  // accounts
  std::string algorithm = "sha256";  // file_hash
  int depth = 1;                     // find
  std::optional<bool> world_writable, suid, no_owner, no_group, local_only;
  std::vector<std::string> argv;  // command
  std::optional<int> exit_code;
  std::optional<std::string> default_value;          // config: the program's default when nothing sets the key
  std::string version_at_least, version_before;      // package
  std::string service, module;                       // pam
  std::vector<std::string> controls;                 // pam: any of these controls (keyword or [value=action ...])
  std::vector<std::pair<std::string, Expect>> args;  // pam: module argument name -> what its value must be
  std::string before, after;                         // pam: modules the entry must come before / after
  std::string scope;                                 // sudoers: all (default) | global
  std::string item, user;                            // limits (type: soft | hard)
  std::string parameter, source;                     // kernel_cmdline: source all (default) | grub_cfg | default_grub
                                                     // audit_rule: source files (default) | loaded
  std::string watch, permissions;                    // audit_rule: a watched path and the permissions it needs
  std::vector<std::string> syscalls;                 // audit_rule
  std::string arch;                                  // audit_rule: b64 | b32 | both (default)
  std::vector<AuditField> audit_fields;              // audit_rule: fields the rule may narrow events by
  std::string setting;                               // audit_rule: enabled, failure, backlog_limit, ...
  std::string every_setid_under;                     // audit_rule: each set-uid / set-gid file below it is a watch
  Expect expect;
  std::optional<bool> configured;  // mount: look at the mount configured for boot (fstab or .mount unit)
};

struct Condition {
  enum class Op { kAll, kAny, kNone, kCheck } op = Op::kCheck;
  std::vector<Condition> children;
  Check check;
};

struct Control {
  std::string id;
  std::string title;
  std::string rationale;
  std::string remediation;
  std::string severity;  // low | medium | high | critical
  std::vector<std::string> references;
  std::optional<Condition> applies_if;
  Condition check;
  int line = 0;
};

struct Policy {
  std::string id;
  std::string title;
  std::string version;
  std::vector<Control> controls;
};

// One or more YAML documents, each a policy. Throws PolicyError.
std::vector<Policy> parse_policies(std::string_view text, const std::string& source);

enum class Outcome { kPass, kFail, kError, kNotApplicable };
const char* outcome_name(Outcome outcome);

struct CheckResult {
  Outcome outcome = Outcome::kError;
  std::string evidence;  // what was seen, or why it could not be checked
};

struct CommandOutput {
  int exit_code = -1;
  std::string output;
};

// What checks read: the filesystem under `root`, and commands through the
// host's command service (sanitised PATH, timeout, CPU limit).
struct Environment {
  std::filesystem::path root = "/";
  std::function<CommandOutput(const std::vector<std::string>& argv)> run;
  // Called now and then by checks that walk whole filesystems; it throws
  // (anything but std::runtime_error or std::logic_error) to stop the scan,
  // e.g. when the agent is stopping, and evaluate lets that through.
  std::function<void()> checkpoint;
  // Filled on first use and shared by the checks of one scan.
  std::shared_ptr<struct Caches> caches;
};

CheckResult evaluate(const Condition& condition, Environment& environment);
// The control's result; a check that throws becomes an error of this control only.
CheckResult evaluate(const Control& control, Environment& environment);

}  // namespace vigil::policy
