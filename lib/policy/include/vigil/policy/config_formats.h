// Readers for the configuration formats policies look into, each with the
// semantics of the program that reads the file:
// - sshd_config as Debian 12's sshd (OpenSSH 9.2) reads it: keywords and
//   their aliases case-insensitive, the FIRST value wins, Include (globs,
//   relative to /etc/ssh) read in place, Match blocks (User, Group, Host,
//   Address and LocalAddress with CIDR, LocalPort, RDomain, all) apply only to
//   the connection they describe, values as `sshd -T` prints them; anything
//   it cannot interpret exactly is an error naming the file:line;
// - sysctl: /usr/lib, /lib, /run and /etc sysctl.d/*.conf by file name (a
//   name in /etc hides the same name elsewhere), in lexical order, then
//   /etc/sysctl.conf; the LAST assignment wins;
// - keyvalue (login.defs style): "KEY value", the last one wins;
// - shell (/etc/default/*): KEY=value with optional quotes, the last one wins;
// - ini: [section] key = value, the last one wins;
// - PAM (/etc/pam.d/<service>) as Debian 12's Linux-PAM 1.5.2 reads it: the
//   effective module stack of a service for one type, includes expanded in
//   place, each entry with its file:line; anything it cannot interpret
//   exactly is an error naming the file:line;
// - sudoers (/etc/sudoers) as Debian 12's sudo (1.9.13) reads it: includes
//   in place, Defaults in every form, aliases and user specifications, each
//   entry with its file:line; anything it cannot interpret exactly is an
//   error naming the file:line and the construct.
// Every path is read under a root, so tests need no privileges.
#pragma once

#include <array>
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

// The connection an sshd Match block is checked against; empty fields never
// match. `group` is the user's groups, comma-separated (Match Group: any of
// them may match, none may match a negated pattern).
struct SshdContext {
  std::string user, group, host, address, local_port, local_address, rdomain;
};

// The effective value of `keyword` (or an alias of it) for the connection, as
// `sshd -T -C ...` prints it (e.g. PermitRootLogin prohibit-password reads
// "without-password", LoginGraceTime 2m reads "120"); with `context` empty,
// for a connection that only "Match all" blocks select. nullopt when nothing
// sets it; keywords that add up over lines (AllowUsers, AcceptEnv, ...) read
// as the words of all their lines. Throws std::runtime_error, naming the
// file:line and the construct, when a file cannot be read or holds something
// sshd refuses or this reader cannot interpret exactly (an unknown Match
// criterion, keyword or value, an IPv4 shorthand in an address list, ...).
std::optional<ConfigValue> sshd_value(const std::filesystem::path& root, const std::filesystem::path& file,
                                      std::string_view keyword, const SshdContext& context);

// `value` spelled as sshd -T prints it for `keyword` ("prohibit-password" ->
// "without-password", "YES" -> "yes", "1m" -> "60"); unchanged when sshd would
// not accept it or the keyword has no single spelling.
std::string sshd_normalized(std::string_view keyword, const std::string& value);

// One entry of a PAM stack, after includes are expanded.
struct PamEntry {
  std::string type;               // auth | account | password | session
  bool may_be_missing = false;    // "-type": PAM skips the line silently when the module is not installed
  std::string control;            // as written ("required", "[success=1 default=ignore]")
  std::array<int, 32> actions{};  // per PAM return value: 0 ignore, -1 ok, -2 done, -3 bad, -4 die, -5 reset, N jump
  std::string module;             // as written
  std::vector<std::string> args;
  std::string origin;  // file:line, then ", included from file:line" for each include around it
  enum class Installed { kYes, kNo, kUnknown } installed = Installed::kUnknown;
};

struct PamStack {
  std::vector<PamEntry> entries;     // in the order PAM runs them (modules not installed on "-" lines left out)
  std::string from;                  // the file the entries come from, e.g. "/etc/pam.d/other (sshd has no auth lines)"
  std::vector<std::string> skipped;  // "-" lines whose module is not installed, as "module (file:line)"
};

// The stack PAM runs for `service` and `type` (auth, account, password,
// session): /etc/pam.d/<service> (else /usr/lib/pam.d/<service>) with
// @include, include and substack expanded in place; /etc/pam.d/other's
// lines of that type when the service has none. Throws std::runtime_error
// naming the file:line and the construct for anything not read exactly
// (an unknown type or action, a malformed control, an include of a missing
// service, an include loop, a configuration only in /etc/pam.conf, ...).
PamStack pam_stack(const std::filesystem::path& root, const std::string& service, const std::string& type);

// The actions of a control as PAM reads it (a keyword or "[value=action ...]");
// throws std::runtime_error (with `where` in front) when PAM would not read it
// exactly, including "include" and "substack", which are not module controls.
std::array<int, 32> pam_control_actions(const std::string& control, const std::string& where);

// One Defaults setting of sudoers, in the order sudo reads it.
struct SudoersDefault {
  std::string binding;  // "" for a global Defaults, else ":users", "@hosts", "!commands" or ">runas" as written
  std::string name;
  std::string op;      // "" (set), "!" (negated), "=", "+=" or "-="
  std::string value;   // without quotes or escapes
  std::string origin;  // file:line
};

// One command a user specification grants (or denies, with `negated`).
struct SudoersCommand {
  std::string users, hosts, runas;  // as written ("" runas: the default, root)
  std::vector<std::string> tags;    // the tags in effect (NOPASSWD, NOEXEC, ...), later ones win
  std::string command;              // as written ("ALL", an alias, a path with its arguments)
  bool negated = false;
  std::string origin;  // file:line
};

struct Sudoers {
  std::vector<SudoersDefault> defaults;
  std::vector<SudoersCommand> commands;
  std::vector<std::string> files;  // every file read, in order
};

// `file` (normally /etc/sudoers) with its includes, as sudo 1.9.13 reads it.
// Throws std::runtime_error naming the file:line and the construct for
// anything visudo refuses or this reader cannot interpret exactly (an unknown
// Defaults name or an invalid value, a syntax error, a missing included file,
// an include loop, "%h" in an include path, ...).
Sudoers read_sudoers(const std::filesystem::path& root, const std::filesystem::path& file);

// Whether sudo 1.9.13 knows `name` as a Defaults setting this reader reads.
bool sudoers_known_default(const std::string& name);
// Every such name (for tests against visudo).
std::vector<std::string> sudoers_default_names();

// The value of Defaults `name` after the settings in `defaults` whose binding
// is `binding`, in order, as sudo applies them: flags read "on" or "off",
// lists their words separated by blanks, a negated string setting is not set
// (nullopt). Throws std::runtime_error (naming the file:line) when the value
// depends on sudo's built-in one, e.g. env_keep += without an earlier =.
std::optional<ConfigValue> sudoers_value(const std::vector<SudoersDefault>& defaults, const std::string& name,
                                         const std::string& binding);

// Every key as the kernel would get it after `sysctl --system`.
std::map<std::string, ConfigValue> sysctl_settings(const std::filesystem::path& root);

enum class Format { kKeyValue, kShell, kIni };
// Keys are "section.key" for ini (keys before any section have no prefix).
std::map<std::string, ConfigValue> read_config(const std::filesystem::path& root, const std::filesystem::path& file,
                                               Format format);

// Paths matching `pattern` (absolute, as on the target system) under root,
// sorted, as on the target system.
std::vector<std::filesystem::path> glob_under(const std::filesystem::path& root, const std::string& pattern);

// Text of a file under root; throws std::runtime_error naming it.
std::string read_text(const std::filesystem::path& root, const std::filesystem::path& file);
// `path` (absolute, as the policy names it) under `root`.
std::filesystem::path under(const std::filesystem::path& root, const std::filesystem::path& path);

}  // namespace vigil::policy
