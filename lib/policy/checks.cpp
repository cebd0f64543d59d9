// Evaluating conditions and checks against the system under a root.
#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "vigil/accounts/accounts.h"
#include "vigil/crypto/digest.h"
#include "vigil/packages/dpkg_version.h"
#include "vigil/packages/installed.h"
#include "vigil/packages/rpm_version.h"
#include "vigil/policy/check_kinds.h"
#include "vigil/policy/fstab.h"
#include "vigil/policy/limits_pwquality_grub.h"
#include "vigil/policy/policy.h"
#include "vigil/policy/systemd_units.h"
#include "vigil/text/text.h"

namespace vigil::policy {

// What several checks of one scan read: loaded once.
struct Caches {
  std::optional<std::map<uint32_t, std::string>> users;   // uid -> name
  std::optional<std::map<uint32_t, std::string>> groups;  // gid -> name
  std::optional<std::map<std::string, ConfigValue>> sysctl;
  std::optional<packages::VersionMap> dpkg;  // package (and name:arch) -> version
  std::optional<packages::VersionMap> rpm;
  std::optional<std::string> dpkg_error, rpm_error;
  std::optional<std::set<std::string>> wanted_units;         // named in some *.wants / *.requires directory
  std::map<std::string, ConfiguredMount> configured_mounts;  // by path: one read of fstab and units per path
};

namespace {

namespace fs = std::filesystem;

CheckResult pass(std::string evidence) {
  return {Outcome::kPass, std::move(evidence)};
}
CheckResult fail(std::string evidence) {
  return {Outcome::kFail, std::move(evidence)};
}
CheckResult error(std::string evidence) {
  return {Outcome::kError, std::move(evidence)};
}
CheckResult verdict(bool ok, std::string evidence) {
  return {ok ? Outcome::kPass : Outcome::kFail, std::move(evidence)};
}

std::optional<double> as_number(const std::string& text) {
  try {
    size_t used = 0;
    double value = std::stod(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

bool same(const std::string& a, const std::string& b) {
  auto x = as_number(a), y = as_number(b);
  if (x && y) return *x == *y;
  return to_lower(a) == to_lower(b);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The expectation against a value (nullopt: not set at all).
CheckResult compare(const Expect& expect, const std::optional<std::string>& value, const std::string& seen) {
  if (expect.present) {
    if (*expect.present != value.has_value()) return fail(seen);
    if (!value) return pass(seen);
  }
  if (!value) return expect.empty() ? pass(seen) : fail(seen);
  if (expect.equals && !same(*value, *expect.equals)) return fail(seen + ", expected " + *expect.equals);
  if (expect.not_equals && same(*value, *expect.not_equals)) return fail(seen + ", must not be " + *expect.not_equals);
  if (!expect.one_of.empty() &&
      std::none_of(expect.one_of.begin(), expect.one_of.end(), [&](const std::string& v) { return same(*value, v); })) {
    std::string options;
    for (const auto& option : expect.one_of) options += (options.empty() ? "" : ", ") + option;
    return fail(seen + ", expected one of " + options);
  }
  if (expect.matches && !std::regex_search(*value, *expect.matches))
    return fail(seen + ", expected to match " + expect.matches_text);
  if (expect.at_least || expect.at_most) {
    auto number = as_number(*value);
    if (!number) return fail(seen + ", which is not a number");
    char bound[64];
    if (expect.at_least && *number < *expect.at_least) {
      std::snprintf(bound, sizeof(bound), "%g", *expect.at_least);
      return fail(seen + ", expected at least " + bound);
    }
    if (expect.at_most && *number > *expect.at_most) {
      std::snprintf(bound, sizeof(bound), "%g", *expect.at_most);
      return fail(seen + ", expected at most " + bound);
    }
  }
  return pass(seen);
}

std::string shown(const std::string& what, const std::optional<ConfigValue>& value) {
  if (!value) return what + " is not set";
  return what + " = " + value->value + (value->origin.empty() ? "" : " (" + value->origin + ")");
}

// passwd, group or shadow under the root; throws naming the file when it cannot be read.
std::vector<accounts::Record> colon_records(const fs::path& root, const char* file) {
  return accounts::parse_records(read_text(root, file));
}

const std::map<uint32_t, std::string>& users(Environment& environment) {
  auto& cache = environment.caches->users;
  if (!cache) cache = accounts::id_names(colon_records(environment.root, "/etc/passwd"));
  return *cache;
}

const std::map<uint32_t, std::string>& groups(Environment& environment) {
  auto& cache = environment.caches->groups;
  if (!cache) cache = accounts::id_names(colon_records(environment.root, "/etc/group"));
  return *cache;
}

std::string mode_text(unsigned mode) {
  char text[8];
  std::snprintf(text, sizeof(text), "%04o", mode & 07777);
  return text;
}

std::string owner_group_mode(const struct stat& info, Environment& environment) {
  std::string owner =
      users(environment).count(info.st_uid) ? users(environment).at(info.st_uid) : std::to_string(info.st_uid);
  std::string group =
      groups(environment).count(info.st_gid) ? groups(environment).at(info.st_gid) : std::to_string(info.st_gid);
  return owner + ":" + group + " " + mode_text(info.st_mode);
}

// What of the check's owner, group and max_mode a file breaks ("" when none); a
// symbolic link's own mode means nothing on Linux, so only its owner counts.
std::string permissions_broken(const Check& check, const struct stat& info, Environment& environment) {
  auto name_of = [](const std::map<uint32_t, std::string>& names, uint32_t id) {
    return names.count(id) ? names.at(id) : std::to_string(id);
  };
  if (!check.owner.empty() && name_of(users(environment), info.st_uid) != check.owner)
    return "expected owner " + check.owner;
  if (!check.group.empty() && name_of(groups(environment), info.st_gid) != check.group)
    return "expected group " + check.group;
  if (check.max_mode && !S_ISLNK(info.st_mode) && (info.st_mode & 07777 & ~*check.max_mode) != 0)
    return "more permissive than " + mode_text(*check.max_mode);
  return "";
}

void load_packages(Environment& environment) {
  auto& caches = *environment.caches;
  if (caches.dpkg || caches.dpkg_error) return;
  auto installed = packages::read_installed_packages(environment.root);
  caches.dpkg = installed.dpkg ? packages::installed_versions(*installed.dpkg) : packages::VersionMap();
  if (!installed.dpkg) caches.dpkg_error = installed.dpkg_error;
  caches.rpm = installed.rpm ? packages::installed_versions(*installed.rpm) : packages::VersionMap();
  if (!installed.rpm) caches.rpm_error = installed.rpm_error;
}

const std::vector<std::string>& unit_directories() {
  static const std::vector<std::string> directories = {"/etc/systemd/system", "/run/systemd/system",
                                                       "/usr/lib/systemd/system", "/lib/systemd/system"};
  return directories;
}

// Every unit some target wants or requires: what "enabled" means for most units.
const std::set<std::string>& wanted_units(Environment& environment) {
  auto& cache = environment.caches->wanted_units;
  if (cache) return *cache;
  cache.emplace();
  std::error_code ignored;
  for (const auto& dir : unit_directories()) {
    for (const auto& entry : fs::directory_iterator(under(environment.root, dir), ignored)) {
      std::string name = entry.path().filename().string();
      if (!name.ends_with(".wants") && !name.ends_with(".requires")) continue;
      // The links themselves count: their targets are paths on the inspected system, not here.
      for (const auto& link : fs::directory_iterator(entry.path(), ignored))
        cache->insert(link.path().filename().string());
    }
  }
  return *cache;
}

// The expectation against a systemd value, booleans spelled yes / no on both sides.
CheckResult compare_systemd(const Check& check, std::optional<ConfigValue> value, const std::string& seen) {
  auto normalize = [&](const std::string& text) { return systemd_normalized(check.key, text); };
  Expect spelled = check.expect;
  if (spelled.equals) spelled.equals = normalize(*spelled.equals);
  if (spelled.not_equals) spelled.not_equals = normalize(*spelled.not_equals);
  for (auto& option : spelled.one_of) option = normalize(option);
  std::optional<std::string> text;
  if (value) text = normalize(value->value);
  return compare(spelled, text, seen);
}

// A walk asks whether the scan is to stop every so many entries (an lstat each: a few milliseconds).
void walked_one_more(size_t& walked, Environment& environment) {
  constexpr size_t kEntriesPerCheckpoint = 1024;
  if (++walked % kEntriesPerCheckpoint == 0 && environment.checkpoint) environment.checkpoint();
}

// Pass when nothing offends; else fail, naming the first ten.
CheckResult offenders_verdict(const std::vector<std::string>& offenders, const std::string& what) {
  std::string list;
  for (size_t i = 0; i < offenders.size() && i < 10; ++i) list += (i ? ", " : "") + offenders[i];
  if (offenders.size() > 10) list += ", …";
  return verdict(offenders.empty(), offenders.empty() ? "no " + what : what + ": " + list);
}

// The shells /etc/shells lists, without nologin: what lets an account log in.
std::set<std::string> login_shells(const Environment& environment) {
  std::set<std::string> shells;
  std::istringstream in(read_text(environment.root, "/etc/shells"));
  for (std::string line; std::getline(in, line);) {
    std::string shell = trimmed(line);
    if (!shell.empty() && shell[0] != '#' && !shell.ends_with("/nologin")) shells.insert(shell);
  }
  return shells;
}

// UID_MIN of /etc/login.defs (useradd's default 1000 when it is not set).
uint32_t uid_min(const Environment& environment) {
  std::error_code missing;
  if (!fs::exists(under(environment.root, "/etc/login.defs"), missing)) return 1000;
  auto settings = read_config(environment.root, "/etc/login.defs", Format::kKeyValue);
  auto found = settings.find("UID_MIN");
  if (found == settings.end()) return 1000;
  auto number = as_number(found->second.value);
  if (!number || *number < 0 || *number != static_cast<uint32_t>(*number))
    throw std::runtime_error("UID_MIN " + found->second.value + " (" + found->second.origin + ") is not a UID");
  return static_cast<uint32_t>(*number);
}

// Rules about the accounts that can log in (a shell of /etc/shells) and the system accounts that must not.
CheckResult login_accounts_rule(const Check& check, Environment& environment) {
  const std::string& rule = check.rule;
  auto shells = login_shells(environment);
  uint32_t first_user = uid_min(environment);
  std::map<std::string, std::string> passwords;  // name -> the password field of /etc/shadow
  if (rule == "locked_without_login_shell")
    for (const auto& record : colon_records(environment.root, "/etc/shadow"))
      if (record.size() > 1) passwords[record[0]] = record[1];
  std::vector<std::string> offenders;
  for (const auto& record : colon_records(environment.root, "/etc/passwd")) {
    if (record.size() < 7) continue;
    const std::string &name = record[0], &home = record[5], &shell = record[6];
    uint32_t uid = static_cast<uint32_t>(std::strtoul(record[2].c_str(), nullptr, 10));
    bool can_log_in = shells.count(shell) != 0;
    if (rule == "locked_without_login_shell") {
      // A password opens more than a shell (su, FTP, services that ask PAM): without a shell, nothing to open.
      auto password = passwords.find(name);
      bool locked = password != passwords.end() && !password->second.empty() &&
                    (password->second[0] == '!' || password->second[0] == '*');
      if (!can_log_in && name != "root" && !locked) offenders.push_back(name);
      continue;
    }
    if (rule == "system_accounts_no_login_shell") {
      // root logs in; sync, shutdown and halt run their one program as their "shell".
      static const std::set<std::string> kExempt = {"root", "sync", "shutdown", "halt"};
      if (uid < first_user && !kExempt.count(name) && can_log_in) offenders.push_back(name + " (" + shell + ")");
      continue;
    }
    if (!can_log_in) continue;
    struct stat info {};
    fs::path dir = under(environment.root, home);
    if (rule == "interactive_homes") {
      if (::stat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
        offenders.push_back(name + ": " + home + " does not exist");
      } else if (info.st_uid != uid) {
        offenders.push_back(name + ": " + home + " belongs to UID " + std::to_string(info.st_uid));
      } else if (info.st_mode & 027) {
        offenders.push_back(name + ": " + home + " " + mode_text(info.st_mode) + ", expected at most 0750");
      }
      continue;
    }
    // interactive_dot_files: nothing that hands out access (.forward, .rhosts), secrets only for the owner
    // (.netrc, .bash_history at most 0600), no other dot file others may change, every one the user's own.
    std::error_code unreadable;
    for (const auto& entry : fs::directory_iterator(dir, unreadable)) {
      std::string file = entry.path().filename().string();
      if (file.size() < 2 || file[0] != '.' || ::lstat(entry.path().c_str(), &info) != 0 || S_ISLNK(info.st_mode))
        continue;
      std::string where = name + ": " + home + "/" + file;
      if (file == ".forward" || file == ".rhosts") {
        offenders.push_back(where + " exists");
      } else if (info.st_uid != uid) {
        offenders.push_back(where + " belongs to UID " + std::to_string(info.st_uid));
      } else if ((file == ".netrc" || file == ".bash_history") ? (info.st_mode & 077) : (info.st_mode & 022)) {
        offenders.push_back(where + " " + mode_text(info.st_mode));
      }
    }
  }
  std::string what = rule == "system_accounts_no_login_shell" ? "system accounts with a login shell"
                     : rule == "locked_without_login_shell"
                         ? "accounts without a login shell whose password is not locked"
                     : rule == "interactive_homes" ? "login accounts' home directories not their own"
                                                   : "login accounts' dot files others can use";
  return offenders_verdict(offenders, what);
}

}  // namespace

namespace evaluators {

CheckResult file_exists(const Check& check, Environment& environment) {
  std::error_code missing;
  auto status = fs::status(under(environment.root, check.path), missing);
  bool wanted = check.exists.value_or(true);
  bool exists = fs::exists(status);
  std::string type = check.type.empty() ? "any" : check.type;
  if (exists && type != "any") {
    bool right = type == "file" ? fs::is_regular_file(status) : fs::is_directory(status);
    if (!right) return verdict(!wanted, check.path + " exists but is not a " + type);
  }
  return verdict(exists == wanted, check.path + (exists ? " exists" : " does not exist"));
}

CheckResult permissions(const Check& check, Environment& environment) {
  struct stat info {};
  if (::stat(under(environment.root, check.path).c_str(), &info) != 0) return fail(check.path + " does not exist");
  std::string broken = permissions_broken(check, info, environment);
  std::string seen = check.path + " " + owner_group_mode(info, environment);
  return verdict(broken.empty(), broken.empty() ? seen : seen + ", " + broken);
}

CheckResult file_content(const Check& check, Environment& environment) {
  std::error_code missing;
  if (!fs::exists(under(environment.root, check.path), missing)) {
    // No file: nothing in it matches.
    return verdict(!check.line_matches, check.path + " does not exist");
  }
  auto lines = lines_of(read_text(environment.root, check.path));
  std::string evidence;
  if (check.line_matches) {
    auto found = std::find_if(lines.begin(), lines.end(),
                              [&](const std::string& line) { return std::regex_search(line, *check.line_matches); });
    if (found == lines.end()) return fail("no line of " + check.path + " matches " + check.line_matches_text);
    evidence = check.path + ":" + std::to_string(found - lines.begin() + 1) + ": " + trimmed(*found);
  }
  if (check.no_line_matches) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (std::regex_search(lines[i], *check.no_line_matches)) {
        return fail(check.path + ":" + std::to_string(i + 1) + ": " + trimmed(lines[i]));
      }
    }
    if (evidence.empty()) evidence = "no line of " + check.path + " matches " + check.no_line_matches_text;
  }
  return pass(evidence);
}

CheckResult config(const Check& check, Environment& environment) {
  std::optional<ConfigValue> value;
  std::string what = check.key;
  if (check.format == "sshd") {
    value = sshd_value(environment.root, check.path, check.key, check.match);
    std::string connection;
    for (const auto& [name, field] : {std::pair{"User", &SshdContext::user},
                                      {"Group", &SshdContext::group},
                                      {"Host", &SshdContext::host},
                                      {"Address", &SshdContext::address},
                                      {"LocalAddress", &SshdContext::local_address},
                                      {"LocalPort", &SshdContext::local_port},
                                      {"RDomain", &SshdContext::rdomain}}) {
      if (!(check.match.*field).empty())
        connection += std::string(connection.empty() ? "" : " ") + name + " " + check.match.*field;
    }
    if (!connection.empty()) what += " (Match " + connection + ")";
  } else if (check.format == "systemd") {
    value = systemd_config_value(environment.root, check.path, check.key);
  } else if (check.format == "sysctl") {
    auto& cache = environment.caches->sysctl;
    if (!cache) cache = sysctl_settings(environment.root);
    if (auto found = cache->find(check.key); found != cache->end()) value = found->second;
  } else {
    Format format = check.format == "keyvalue" ? Format::kKeyValue
                    : check.format == "shell"  ? Format::kShell
                                               : Format::kIni;
    std::error_code missing;
    if (fs::exists(under(environment.root, check.path), missing)) {
      auto values = read_config(environment.root, check.path, format);
      if (auto found = values.find(check.key); found != values.end()) value = found->second;
    }
  }
  if (!value && check.default_value) value = ConfigValue{*check.default_value, "default"};
  const Expect* expect = &check.expect;
  Expect spelled;
  if (check.format == "systemd") return compare_systemd(check, value, shown(what, value));
  if (check.format == "sshd") {
    // One spelling for sshd's synonyms (prohibit-password and without-password, YES and yes, 2m and 120).
    auto normalize = [&](const std::string& text) { return sshd_normalized(check.key, text); };
    if (value) value->value = normalize(value->value);
    spelled = check.expect;
    if (spelled.equals) spelled.equals = normalize(*spelled.equals);
    if (spelled.not_equals) spelled.not_equals = normalize(*spelled.not_equals);
    for (auto& option : spelled.one_of) option = normalize(option);
    expect = &spelled;
  }
  std::optional<std::string> text;
  if (value) text = value->value;
  return compare(*expect, text, shown(what, value));
}

CheckResult sysctl(const Check& check, Environment& environment) {
  std::string key = check.key;
  std::replace(key.begin(), key.end(), '.', '/');
  std::ifstream in(under(environment.root, "/proc/sys/" + key));
  std::optional<std::string> value;
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    value = trimmed(text.str());
    std::replace(value->begin(), value->end(), '\t', ' ');
  }
  return compare(check.expect, value,
                 value ? check.key + " = " + *value : check.key + " does not exist in this kernel");
}

CheckResult package(const Check& check, Environment& environment) {
  load_packages(environment);
  auto& caches = *environment.caches;
  std::string manager = check.manager.empty() ? "any" : check.manager;
  std::optional<std::string> version;
  bool rpm = false;
  if (manager != "rpm" && caches.dpkg->count(check.name)) version = caches.dpkg->at(check.name);
  if (!version && manager != "dpkg" && caches.rpm->count(check.name)) {
    version = caches.rpm->at(check.name);
    rpm = true;
  }
  if (!version && manager == "dpkg" && caches.dpkg_error) return error("no dpkg database: " + *caches.dpkg_error);
  std::string seen = check.name + (version ? " " + *version + " installed" : " is not installed");
  if (check.installed && *check.installed != version.has_value()) return fail(seen);
  if (!version) return verdict(check.installed.has_value(), seen);
  auto compare_versions = [&](const std::string& a, const std::string& b) {
    return rpm ? packages::compare_rpm_versions(a, b) : packages::compare_dpkg_versions(a, b);
  };
  if (!check.version_at_least.empty() && compare_versions(*version, check.version_at_least) < 0) {
    return fail(seen + ", expected at least " + check.version_at_least);
  }
  if (!check.version_before.empty() && compare_versions(*version, check.version_before) >= 0) {
    return fail(seen + ", expected before " + check.version_before);
  }
  return pass(seen);
}

CheckResult service(const Check& check, Environment& environment) {
  std::error_code ignored;
  std::string state;
  bool installed = false, masked = false;
  for (const auto& dir : unit_directories()) {
    fs::path unit = under(environment.root, dir + "/" + check.name);
    if (fs::is_symlink(unit, ignored) && fs::read_symlink(unit, ignored) == "/dev/null") masked = true;
    if (fs::exists(fs::symlink_status(unit, ignored))) installed = true;
  }
  bool enabled = !masked && wanted_units(environment).count(check.name) != 0;
  state = !installed ? "not installed" : masked ? "masked" : enabled ? "enabled" : "disabled";
  std::string seen = check.name + " is " + state;
  if (check.enabled && *check.enabled != enabled) return fail(seen);
  if (check.active) {
    if (!fs::exists(under(environment.root, "/run/systemd/system"), ignored)) {
      return error("cannot tell whether " + check.name + " is active: systemd is not running here");
    }
    bool active = fs::exists(under(environment.root, "/run/systemd/units/invocation:" + check.name), ignored);
    seen += active ? ", active" : ", inactive";
    if (*check.active != active) return fail(seen);
  }
  return pass(seen);
}

CheckResult mount(const Check& check, Environment& environment) {
  if (check.configured) {
    auto& cached = environment.caches->configured_mounts;
    if (!cached.count(check.path)) cached.emplace(check.path, configured_mount(environment.root, check.path));
    const ConfiguredMount& configured = cached.at(check.path);
    if (!configured.configured || !*check.configured)
      return verdict(configured.configured == *check.configured, configured.evidence);
    for (const auto& option : check.options) {
      if (!mount_option_in_effect(configured.options, option, configured.evidence))
        return fail(configured.evidence + ", " + option + " is not in effect");
    }
    return pass(configured.evidence);
  }
  fs::path table = environment.root == "/" ? "/proc/self/mounts" : "/proc/mounts";
  std::istringstream in(read_text(environment.root, table));
  std::optional<std::vector<std::string>> entry;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string device, point, type, options;
    fields >> device >> point >> type >> options;
    if (point == check.path) entry = {device, type, options};  // the last mount on a point is the visible one
  }
  bool mounted = entry.has_value();
  if (check.mounted && *check.mounted != mounted) {
    return fail(check.path + (mounted ? " is a mount point" : " is not a separate mount"));
  }
  if (!mounted)
    return check.options.empty() ? pass(check.path + " is not a separate mount")
                                 : fail(check.path + " is not a separate mount");
  std::string seen = check.path + " (" + (*entry)[1] + ") " + (*entry)[2];
  std::set<std::string> have;
  std::stringstream options((*entry)[2]);
  for (std::string option; std::getline(options, option, ',');) have.insert(option);
  for (const auto& option : check.options) {
    if (!have.count(option)) return fail(seen + ", missing " + option);
  }
  return pass(seen);
}

CheckResult accounts(const Check& check, Environment& environment) {
  const std::string& rule = check.rule;
  std::vector<std::string> offenders;
  auto report = [&](const std::string& what) { return offenders_verdict(offenders, what); };
  auto duplicates = [&](const char* file, size_t field) {
    std::map<std::string, int> seen;
    for (const auto& record : colon_records(environment.root, file)) {
      if (record.size() > field && ++seen[record[field]] == 2) offenders.push_back(record[field]);
    }
  };
  if (rule == "unique_uids") {
    duplicates("/etc/passwd", 2);
    return report("duplicate UIDs");
  }
  if (rule == "unique_user_names") {
    duplicates("/etc/passwd", 0);
    return report("duplicate user names");
  }
  if (rule == "unique_gids") {
    duplicates("/etc/group", 2);
    return report("duplicate GIDs");
  }
  if (rule == "unique_group_names") {
    duplicates("/etc/group", 0);
    return report("duplicate group names");
  }
  if (rule == "only_root_has_uid_0") {
    for (const auto& record : colon_records(environment.root, "/etc/passwd")) {
      if (record.size() > 2 && record[2] == "0" && record[0] != "root") offenders.push_back(record[0]);
    }
    return report("accounts other than root with UID 0");
  }
  if (rule == "shadow_hashed_passwords") {
    for (const auto& record : colon_records(environment.root, "/etc/passwd")) {
      if (record.size() > 1 && record[1] != "x") offenders.push_back(record[0]);
    }
    return report("accounts with a password outside /etc/shadow");
  }
  if (rule == "no_legacy_plus_entries") {
    for (const char* file : {"/etc/passwd", "/etc/shadow", "/etc/group"}) {
      for (const auto& record : colon_records(environment.root, file)) {
        if (!record.empty() && !record[0].empty() && record[0][0] == '+')
          offenders.push_back(std::string(file) + ": " + record[0]);
      }
    }
    return report("legacy '+' entries");
  }
  if (rule == "primary_groups_exist") {
    std::set<std::string> gids;
    for (const auto& record : colon_records(environment.root, "/etc/group"))
      if (record.size() > 2) gids.insert(record[2]);
    for (const auto& record : colon_records(environment.root, "/etc/passwd"))
      if (record.size() > 3 && !gids.count(record[3])) offenders.push_back(record[0] + " (GID " + record[3] + ")");
    return report("accounts whose primary group does not exist");
  }
  if (rule == "system_accounts_no_login_shell" || rule == "locked_without_login_shell" || rule == "interactive_homes" ||
      rule == "interactive_dot_files")
    return login_accounts_rule(check, environment);
  // The rest read /etc/shadow (root only).
  auto shadow = colon_records(environment.root, "/etc/shadow");
  if (rule == "no_empty_passwords") {
    for (const auto& record : shadow) {
      if (record.size() > 1 && record[1].empty()) offenders.push_back(record[0]);
    }
    return report("accounts with an empty password");
  }
  size_t field = rule == "password_max_days" ? 4 : rule == "password_min_days" ? 3 : 5;
  Expect expect = check.expect;
  for (const auto& record : shadow) {
    // Only accounts that can log in with a password.
    if (record.size() <= field || record[1].empty() || record[1][0] != '$') continue;
    std::optional<std::string> value;
    if (!record[field].empty()) value = record[field];
    if (compare(expect, value, "").outcome != Outcome::kPass)
      offenders.push_back(record[0] + " (" + (value ? *value : "unset") + ")");
  }
  return report("password accounts outside the limit (" + rule + ")");
}

CheckResult kernel_module(const Check& check, Environment& environment) {
  auto normal = [](std::string name) {
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
  };
  std::string name = normal(check.name);
  std::string seen;
  if (check.loaded) {
    bool loaded = false;
    std::error_code missing;
    if (fs::exists(under(environment.root, "/proc/modules"), missing)) {
      std::istringstream in(read_text(environment.root, "/proc/modules"));
      for (std::string line; std::getline(in, line);) {
        if (normal(line.substr(0, line.find(' '))) == name) loaded = true;
      }
    }
    seen = check.name + (loaded ? " is loaded" : " is not loaded");
    if (*check.loaded != loaded) return fail(seen);
  }
  if (check.disabled) {
    std::string how;
    for (const char* dir : {"/etc/modprobe.d", "/run/modprobe.d", "/usr/lib/modprobe.d", "/lib/modprobe.d"}) {
      std::error_code ignored;
      for (const auto& entry : fs::directory_iterator(under(environment.root, dir), ignored)) {
        if (entry.path().extension() != ".conf") continue;
        std::ifstream in(entry.path());
        int number = 0;
        for (std::string line; std::getline(in, line);) {
          ++number;
          std::istringstream words(line);
          std::string command, module, program;
          words >> command >> module >> program;
          if (normal(module) != name) continue;
          bool off = command == "blacklist" ||
                     (command == "install" && (program == "/bin/false" || program == "/bin/true" ||
                                               program == "/usr/bin/false" || program == "/usr/bin/true"));
          if (off && how.empty())
            how = std::string(dir) + "/" + entry.path().filename().string() + ":" + std::to_string(number) + ": " +
                  trimmed(line);
        }
      }
    }
    bool disabled = !how.empty();
    seen += (seen.empty() ? "" : "; ") +
            (disabled ? check.name + " is disabled by " + how : check.name + " is not disabled");
    if (*check.disabled != disabled) return fail(seen);
  }
  return pass(seen);
}

CheckResult file_hash(const Check& check, Environment& environment) {
  // The parser accepts sha256, sha512, sha1 and md5 only, by the names OpenSSL knows them.
  auto hashed = crypto::hash_file(under(environment.root, check.path), check.algorithm);
  if (!hashed.ok()) return fail(check.path + " cannot be read");
  const std::string& hex = hashed.value();
  Expect expect = check.expect;
  if (expect.equals) expect.equals = to_lower(*expect.equals);
  for (auto& value : expect.one_of) value = to_lower(value);
  return compare(expect, hex, check.path + " " + check.algorithm + " " + hex);
}

// Mount points under the root whose filesystem is not a local disk one (proc, sysfs, network
// shares, ...): what a `local_only` find does not walk into.
std::set<std::string> nonlocal_mounts(const Environment& environment) {
  // overlay: a container's root filesystem is one.
  static const std::set<std::string> kLocal = {"ext2",     "ext3",  "ext4", "xfs",  "btrfs", "f2fs",   "jfs",
                                               "reiserfs", "tmpfs", "zfs",  "vfat", "exfat", "overlay"};
  std::set<std::string> mounts;
  std::error_code missing;
  fs::path table = environment.root == "/" ? "/proc/self/mounts" : "/proc/mounts";
  if (!fs::exists(under(environment.root, table), missing)) return mounts;
  std::istringstream in(read_text(environment.root, table));
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string device, point, type;
    fields >> device >> point >> type;
    if (!kLocal.count(type)) mounts.insert(point);
  }
  return mounts;
}

CheckResult find(const Check& check, Environment& environment) {
  size_t matches = 0, denied = 0;
  std::vector<std::string> shown;  // the first few, for the evidence
  fs::path start = under(environment.root, check.path);
  std::string prefix = environment.root == "/" ? "" : environment.root.string();
  std::set<std::string> skipped_mounts =
      check.local_only.value_or(false) ? nonlocal_mounts(environment) : std::set<std::string>();
  if (skipped_mounts.count(check.path))
    return error(check.path + " is not on a local disk filesystem, which local_only does not walk");
  auto visit = [&](const fs::path& path, const struct stat& info) {
    std::string type = S_ISDIR(info.st_mode) ? "directory" : S_ISREG(info.st_mode) ? "file" : "other";
    if (!check.type.empty() && check.type != "any" && check.type != type) return;
    if (!check.name.empty() && ::fnmatch(check.name.c_str(), path.filename().c_str(), 0) != 0) return;
    if (check.world_writable && *check.world_writable != ((info.st_mode & S_IWOTH) != 0 &&
                                                          !(S_ISDIR(info.st_mode) && (info.st_mode & S_ISVTX))))
      return;
    if (check.suid && *check.suid != ((info.st_mode & S_ISUID) != 0)) return;
    if (check.no_owner && *check.no_owner != (users(environment).count(info.st_uid) == 0)) return;
    if (check.no_group && *check.no_group != (groups(environment).count(info.st_gid) == 0)) return;
    bool permission_test = !check.owner.empty() || !check.group.empty() || check.max_mode;
    if (permission_test && permissions_broken(check, info, environment).empty()) return;
    if (shown.size() < 5) shown.push_back(path.string().substr(prefix.size()));
    ++matches;
  };
  std::error_code problem;
  struct stat top {};
  if (::lstat(start.c_str(), &top) != 0) return error(check.path + " does not exist");
  if (!S_ISDIR(top.st_mode) || check.depth == 0) {
    visit(start, top);
  } else {
    fs::recursive_directory_iterator walker(start, fs::directory_options::skip_permission_denied, problem);
    size_t walked = 0;
    for (; !problem && walker != fs::recursive_directory_iterator(); walker.increment(problem)) {
      walked_one_more(walked, environment);
      if (walker.depth() + 1 >= check.depth) walker.disable_recursion_pending();  // depth counts levels below path
      if (!skipped_mounts.empty() && skipped_mounts.count(walker->path().string().substr(prefix.size()))) {
        walker.disable_recursion_pending();
        continue;
      }
      struct stat info {};
      if (::lstat(walker->path().c_str(), &info) != 0) {
        ++denied;
        continue;
      }
      visit(walker->path(), info);
    }
  }
  Expect expect = check.expect;
  if (expect.empty()) expect.at_most = 0;  // by default nothing may match
  std::string list;
  for (size_t i = 0; i < shown.size(); ++i) list += (i ? ", " : ": ") + shown[i];
  if (matches > shown.size()) list += ", …";
  std::string seen = std::to_string(matches) + " match under " + check.path + list +
                     (denied ? " (" + std::to_string(denied) + " unreadable)" : "");
  return compare(expect, std::to_string(matches), seen);
}

CheckResult command(const Check& check, Environment& environment) {
  if (!environment.run) return error("commands cannot run here");
  CommandOutput output = environment.run(check.argv);
  std::string text = trimmed(output.output);
  std::string seen =
      check.argv[0] + " exited " + std::to_string(output.exit_code) + (text.empty() ? "" : ": " + text.substr(0, 200));
  if (check.exit_code && *check.exit_code != output.exit_code) {
    return fail(seen + ", expected exit " + std::to_string(*check.exit_code));
  }
  if (check.expect.empty()) return pass(seen);
  return compare(check.expect, text, seen);
}

CheckResult pam(const Check& check, Environment& environment) {
  PamStack stack = pam_stack(environment.root, check.service, check.type);
  auto base = [](const std::string& module) { return fs::path(module).filename().string(); };
  auto entry_text = [](const PamEntry& entry) {
    std::string text = entry.type + " " + entry.control + " " + entry.module;
    for (const auto& arg : entry.args)
      text += " " + (arg.find_first_of(" \t") == std::string::npos ? arg : "[" + arg + "]");
    return text + " (" + entry.origin + ")";
  };
  // A verdict on an entry whose module PAM cannot load (or we cannot tell) would not be what PAM does.
  auto require_installed = [](const PamEntry& entry) {
    if (entry.installed == PamEntry::Installed::kNo)
      throw std::runtime_error(entry.origin + ": module " + entry.module + " is not installed (PAM fails that line)");
    if (entry.installed == PamEntry::Installed::kUnknown)
      throw std::runtime_error(entry.origin + ": cannot tell whether module " + entry.module +
                               " is installed (no PAM module directory under the root)");
  };
  auto positions = [&](const std::string& module) {
    std::vector<size_t> at;
    for (size_t i = 0; i < stack.entries.size(); ++i) {
      if (base(stack.entries[i].module) != base(module)) continue;
      require_installed(stack.entries[i]);
      at.push_back(i);
    }
    return at;
  };
  std::string what = check.service + " " + check.type + " stack";
  if (stack.from != "/etc/pam.d/" + check.service) what += " (from " + stack.from + ")";
  // Why entry i does not meet the check ("" when it does).
  auto mismatch = [&](size_t i) -> std::string {
    const PamEntry& entry = stack.entries[i];
    if (!check.controls.empty()) {
      bool same_control = std::any_of(check.controls.begin(), check.controls.end(), [&](const std::string& control) {
        return pam_control_actions(control, "control") == entry.actions;
      });
      if (!same_control) {
        std::string wanted;
        for (const auto& control : check.controls) wanted += (wanted.empty() ? "" : " or ") + control;
        return "control " + entry.control + ", expected " + wanted;
      }
    }
    for (const auto& [name, expect] : check.args) {
      std::optional<std::string> value;
      int seen = 0;
      for (const auto& arg : entry.args) {
        size_t equals = arg.find('=');
        if (arg.substr(0, equals) != name) continue;
        ++seen;
        value = equals == std::string::npos ? "" : arg.substr(equals + 1);
      }
      if (seen > 1)
        throw std::runtime_error(entry.origin + ": argument " + name +
                                 " is given more than once; which one the module uses is not understood");
      auto result = compare(expect, value,
                            value ? name + (value->empty() ? " is given" : " = " + *value) : name + " is not given");
      if (result.outcome != Outcome::kPass) return result.evidence;
    }
    if (!check.before.empty()) {
      auto at = positions(check.before);
      if (at.empty()) return check.before + " is not in the stack";
      if (i > at.front()) return "comes after " + entry_text(stack.entries[at.front()]);
    }
    if (!check.after.empty()) {
      auto at = positions(check.after);
      if (at.empty()) return check.after + " is not in the stack";
      if (i < at.back()) return "comes before " + entry_text(stack.entries[at.back()]);
    }
    return "";
  };
  std::vector<std::string> reasons;
  std::optional<size_t> found;
  for (size_t i = 0; i < stack.entries.size() && !found; ++i) {
    if (base(stack.entries[i].module) != base(check.module)) continue;
    require_installed(stack.entries[i]);
    std::string why = mismatch(i);
    if (why.empty())
      found = i;
    else
      reasons.push_back(entry_text(stack.entries[i]) + ": " + why);
  }
  bool wanted = check.exists.value_or(true);
  if (found) return verdict(wanted, entry_text(stack.entries[*found]));
  std::string evidence;
  if (reasons.empty()) {
    std::string modules;
    for (const auto& entry : stack.entries) modules += (modules.empty() ? "" : ", ") + base(entry.module);
    evidence = check.module + " is not in the " + what + (modules.empty() ? " (empty)" : ": " + modules);
  } else {
    evidence = "no entry of " + check.module + " in the " + what + " matches: ";
    for (size_t i = 0; i < reasons.size(); ++i) evidence += (i ? "; " : "") + reasons[i];
  }
  if (!stack.skipped.empty()) {
    evidence += " (skipped, not installed:";
    for (const auto& skipped : stack.skipped) evidence += " " + skipped;
    evidence += ")";
  }
  return verdict(!wanted, evidence);
}

CheckResult sudoers(const Check& check, Environment& environment) {
  Sudoers read = read_sudoers(environment.root, check.path);
  // The bindings of the Defaults lines that set `name`, in the order they first appear ("" is global).
  auto bindings = [&](const std::string& name) {
    std::vector<std::string> found;
    for (const auto& entry : read.defaults)
      if (entry.name == name && std::find(found.begin(), found.end(), entry.binding) == found.end())
        found.push_back(entry.binding);
    return found;
  };
  if (!check.rule.empty()) {
    std::vector<std::string> offending;
    std::string what;
    if (check.rule == "no_nopasswd") {
      what = "NOPASSWD";
      for (const auto& command : read.commands) {
        if (command.negated || std::find(command.tags.begin(), command.tags.end(), "NOPASSWD") == command.tags.end())
          continue;
        offending.push_back(command.users + " " + command.hosts + " = " +
                            (command.runas.empty() ? "" : command.runas + " ") + "NOPASSWD: " + command.command + " (" +
                            command.origin + ")");
      }
    } else {
      what = "!authenticate";
      for (const auto& binding : bindings("authenticate")) {
        auto value = sudoers_value(read.defaults, "authenticate", binding);
        if (value && value->value == "off")
          offending.push_back("Defaults" + binding + " !authenticate (" + value->origin + ")");
      }
    }
    std::string files = std::to_string(read.files.size()) + (read.files.size() == 1 ? " file" : " files");
    if (offending.empty()) return pass("nothing grants " + what + " (" + files + " read from " + check.path + ")");
    std::string evidence;
    for (const auto& entry : offending) evidence += (evidence.empty() ? "" : "; ") + entry;
    return fail(evidence);
  }
  auto text_of = [](const std::optional<ConfigValue>& value) {
    return value ? std::optional<std::string>(value->value) : std::nullopt;
  };
  auto global = sudoers_value(read.defaults, check.key, "");
  if (!global && check.default_value) global = ConfigValue{*check.default_value, "default"};
  CheckResult result = compare(check.expect, text_of(global), shown("Defaults " + check.key, global));
  // Scoped Defaults may give someone another value: with scope all each must meet the expectation too.
  std::vector<std::string> failing, others;
  for (const auto& binding : bindings(check.key)) {
    if (binding.empty()) continue;
    auto value = sudoers_value(read.defaults, check.key, binding);
    std::string seen = shown("Defaults" + binding + " " + check.key, value);
    if (!value) {
      for (const auto& entry : read.defaults)
        if (entry.name == check.key && entry.binding == binding)
          seen = "Defaults" + binding + " " + check.key + " is switched off (" + entry.origin + ")";
    }
    auto scoped = compare(check.expect, text_of(value), seen);
    (scoped.outcome == Outcome::kPass || check.scope == "global" ? others : failing).push_back(scoped.evidence);
  }
  std::string evidence = result.evidence;
  for (const auto& entry : failing) evidence += "; " + entry;
  if (!others.empty()) {
    evidence += check.scope == "global" ? " (scoped, not checked: " : " (scoped: ";
    for (size_t i = 0; i < others.size(); ++i) evidence += (i ? "; " : "") + others[i];
    evidence += ")";
  }
  return verdict(result.outcome == Outcome::kPass && failing.empty(), evidence);
}

CheckResult systemd_unit(const Check& check, Environment& environment) {
  UnitFiles files = find_unit_files(environment.root, check.name);
  std::string what = check.name + " " + check.key;
  if (!files.fragment) return compare_systemd(check, std::nullopt, check.name + " has no unit file");
  if (files.masked)
    return compare_systemd(check, std::nullopt, check.name + " is masked (" + files.fragment->string() + ")");
  auto value = systemd_unit_value(environment.root, files, check.key);
  if (!value && check.default_value) value = ConfigValue{*check.default_value, "default"};
  return compare_systemd(check, value, shown(what, value));
}

CheckResult limits(const Check& check, Environment& environment) {
  LimitsValue limit = limits_value(environment.root, check.user, check.item, check.type);
  std::string what = (check.type.empty() ? "" : check.type + " ") + check.item + " for " +
                     (check.user.empty() ? "a user only * names" : check.user);
  if (!limit.stopped_by.empty()) what += " (pam_limits sets no limit for this user: \"-\" at " + limit.stopped_by + ")";
  std::optional<std::string> text;
  if (limit.value) text = limit.value->value;
  return compare(check.expect, text, shown(what, limit.value));
}

CheckResult pwquality(const Check& check, Environment& environment) {
  auto settings = pwquality_files(environment.root);
  PamStack stack = pam_stack(environment.root, check.service, "password");
  std::vector<const PamEntry*> modules;
  for (const auto& entry : stack.entries)
    if (fs::path(entry.module).filename() == "pam_pwquality.so") modules.push_back(&entry);
  std::string key = to_lower(check.key);
  auto files_value = settings.count(key) ? std::optional<ConfigValue>(settings.at(key)) : std::nullopt;
  // The files only matter to the module: without it in the stack nothing enforces the setting.
  if (modules.empty())
    return fail("pam_pwquality.so is not in the " + check.service + " password stack (from " + stack.from +
                "), so nothing applies " + shown(key, files_value));
  if (modules.size() > 1)
    throw std::runtime_error("pam_pwquality.so runs more than once in the " + check.service + " password stack (" +
                             modules[0]->origin + ", " + modules[1]->origin + "): not understood");
  const PamEntry& entry = *modules.front();
  if (entry.installed != PamEntry::Installed::kYes)
    throw std::runtime_error(entry.origin + ": " +
                             (entry.installed == PamEntry::Installed::kNo
                                  ? "module pam_pwquality.so is not installed (PAM fails that line)"
                                  : "cannot tell whether pam_pwquality.so is installed (no PAM module directory)"));
  pwquality_apply_args(settings, entry.args, entry.origin);
  std::optional<ConfigValue> value;
  if (settings.count(key)) value = settings.at(key);
  std::optional<std::string> text;
  if (value) text = value->value;
  return compare(check.expect, text, shown(key, value));
}

CheckResult kernel_cmdline(const Check& check, Environment& environment) {
  std::vector<KernelCommandLine> lines;
  if (check.source != "default_grub") lines = grub_cfg_command_lines(environment.root);
  if (check.source != "grub_cfg") {
    auto planned = default_grub_command_lines(environment.root);
    lines.insert(lines.end(), planned.begin(), planned.end());
  }
  std::vector<std::string> passing, failing;
  for (const auto& line : lines) {
    auto word = kernel_parameter(line, check.parameter);
    std::optional<std::string> value;
    if (word) value = word->text;
    std::string seen = word ? check.parameter + (word->text.empty() ? "" : "=" + word->text) + " (" + word->origin + ")"
                            : check.parameter + " is not on the command line of " + line.what;
    auto result = compare(check.expect, value, seen);
    (result.outcome == Outcome::kPass ? passing : failing).push_back(result.evidence);
  }
  auto joined = [](const std::vector<std::string>& parts) {
    std::string text;
    for (const auto& part : parts) text += (text.empty() ? "" : "; ") + part;
    return text;
  };
  return failing.empty() ? pass(joined(passing)) : fail(joined(failing));
}

// Every set-uid or set-gid regular file below `top` (as on the target
// system), not walking into mounts of other than local disk filesystems;
// throws when a directory cannot be read, since what it holds is not known.
std::vector<std::string> setid_files(const std::string& top, Environment& environment) {
  std::set<std::string> skipped = nonlocal_mounts(environment);
  std::string prefix = environment.root == "/" ? "" : environment.root.string();
  std::vector<std::string> found;
  std::error_code problem;
  fs::recursive_directory_iterator walker(under(environment.root, top), problem);
  size_t walked = 0;
  for (; !problem && walker != fs::recursive_directory_iterator(); walker.increment(problem)) {
    walked_one_more(walked, environment);
    std::string path = walker->path().string().substr(prefix.size());
    if (skipped.count(path)) {
      walker.disable_recursion_pending();
      continue;
    }
    struct stat info {};
    if (::lstat(walker->path().c_str(), &info) != 0) throw std::runtime_error("cannot read " + path);
    if (S_ISREG(info.st_mode) && (info.st_mode & (S_ISUID | S_ISGID))) found.push_back(path);
  }
  if (problem)
    throw std::runtime_error("cannot walk " + top + ": " + problem.message() + " (its set-id files are not known)");
  std::sort(found.begin(), found.end());
  return found;
}

CheckResult audit_rule(const Check& check, Environment& environment) {
  // The kernel's rules, as auditctl lists them; settings from auditctl -s.
  auto loaded = [&](bool need_enabled) {
    if (!environment.run) throw std::runtime_error("commands cannot run here (auditctl -l)");
    auto auditctl = [&](const char* option) {
      CommandOutput output = environment.run({"auditctl", option});
      if (output.exit_code != 0)
        throw std::runtime_error(std::string("auditctl ") + option + " exited " + std::to_string(output.exit_code) +
                                 (trimmed(output.output).empty() ? "" : ": " + trimmed(output.output).substr(0, 200)));
      return output.output;
    };
    std::string status = auditctl("-s");
    AuditRules rules = parse_auditctl_listing(need_enabled ? auditctl("-l") : "", status);
    if (need_enabled && (!rules.settings.count("enabled") || rules.settings["enabled"].value == "0"))
      throw std::runtime_error("audit is not enabled in the kernel (auditctl -s shows no enabled 1 or 2)");
    return rules;
  };
  auto files_read = [](const AuditRules& rules) {
    return std::to_string(rules.files.size()) + (rules.files.size() == 1 ? " file" : " files") +
           " of /etc/audit/rules.d";
  };
  if (!check.rule.empty()) {
    AuditRules files = read_audit_rules_files(environment.root), kernel = loaded(true);
    auto rule_at = [](const AuditRules& from, size_t i, const char* none) {
      return i < from.rules.size() ? from.rules[i].text + " (" + from.rules[i].origin + ")" : std::string(none);
    };
    std::string seen = std::to_string(files.rules.size()) + " rules in " + files_read(files) + ", " +
                       std::to_string(kernel.rules.size()) + " loaded";
    for (size_t i = 0; i < std::max(files.rules.size(), kernel.rules.size()); ++i) {
      std::string on_disk = i < files.rules.size() ? audit_rule_canonical(files.rules[i]) : "";
      std::string running = i < kernel.rules.size() ? audit_rule_canonical(kernel.rules[i]) : "";
      if (on_disk != running)
        return fail(seen + "; first difference: " + rule_at(files, i, "nothing in the files") + " but " +
                    rule_at(kernel, i, "nothing loaded"));
    }
    return pass(seen + ", the same");
  }
  bool from_files = check.source == "files";
  if (!check.setting.empty()) {
    AuditRules rules = from_files ? read_audit_rules_files(environment.root) : loaded(false);
    auto found = rules.settings.find(check.setting);
    auto value = found == rules.settings.end() ? std::nullopt : std::optional<ConfigValue>(found->second);
    return compare(check.expect, value ? std::optional<std::string>(value->value) : std::nullopt,
                   shown(check.setting, value));
  }
  AuditRules rules = from_files ? read_audit_rules_files(environment.root) : loaded(true);
  AuditWant want{check.watch, check.permissions, check.syscalls, {}, check.audit_fields, check.key};
  want.arches = check.arch == "both" ? std::vector<std::string>{"b64", "b32"} : std::vector<std::string>{check.arch};
  std::vector<std::string> watches = {check.watch};
  if (!check.every_setid_under.empty()) {
    watches = setid_files(check.every_setid_under, environment);
    if (watches.empty()) return pass("no set-uid or set-gid file under " + check.every_setid_under);
  }
  auto listed = [](const std::vector<const AuditRule*>& found) {
    std::string text;
    for (const AuditRule* rule : found) text += (text.empty() ? "" : "; ") + rule->text + " (" + rule->origin + ")";
    return text;
  };
  std::string fields;
  for (const auto& field : check.audit_fields)
    fields +=
        (fields.empty() ? "" : " ") + std::string(field.comparison ? "-C " : "") + field.name + field.op + field.value;
  std::vector<const AuditRule*> matching;
  std::vector<std::string> shortfalls;
  for (const auto& path : watches) {
    want.watch = path;
    AuditCoverage coverage = audit_coverage(rules, want);
    if (coverage.missing.empty()) {
      for (const AuditRule* rule : coverage.matching)
        if (std::find(matching.begin(), matching.end(), rule) == matching.end()) matching.push_back(rule);
      continue;
    }
    std::string shortfall = "no always,exit rule";
    if (!path.empty()) shortfall += " watching " + path + " for " + check.permissions;
    if (!fields.empty()) shortfall += " narrowed by no more than " + fields;
    if (!check.key.empty()) shortfall += " with key " + check.key;
    shortfall += " for ";
    for (size_t i = 0; i < coverage.missing.size(); ++i) shortfall += (i ? ", " : "") + coverage.missing[i];
    if (!coverage.matching.empty()) shortfall += "; found " + listed(coverage.matching);
    if (!coverage.close.empty()) shortfall += "; falling short: " + listed(coverage.close);
    shortfalls.push_back(shortfall);
  }
  std::string setid =
      check.every_setid_under.empty()
          ? ""
          : std::to_string(watches.size()) + " set-uid or set-gid files under " + check.every_setid_under + ": ";
  if (shortfalls.empty()) return pass(setid + listed(matching));
  std::string evidence = setid;
  for (size_t i = 0; i < shortfalls.size() && i < 5; ++i) evidence += (i ? "; " : "") + shortfalls[i];
  if (shortfalls.size() > 5) evidence += "; and " + std::to_string(shortfalls.size() - 5) + " more";
  return fail(evidence + " (" + std::to_string(rules.rules.size()) + " rules in " +
              (from_files ? files_read(rules) : std::string("auditctl -l")) + ")");
}

}  // namespace evaluators

CheckResult evaluate(const Condition& condition, Environment& environment) {
  if (!environment.caches) environment.caches = std::make_shared<Caches>();
  if (condition.op == Condition::Op::kCheck) {
    // Errors of a check end this control only; anything else (a scan being
    // cancelled) goes on up.
    const CheckKind* kind = find_check_kind(condition.check.kind);
    if (kind == nullptr) return error("unknown check " + condition.check.kind);
    auto where = condition.check.kind + " (line " + std::to_string(condition.check.line) + "): ";
    try {
      return kind->evaluate(condition.check, environment);
    } catch (const std::runtime_error& problem) {
      return error(where + problem.what());
    } catch (const std::logic_error& problem) {
      return error(where + problem.what());
    }
  }
  std::vector<CheckResult> results;
  for (const auto& child : condition.children) results.push_back(evaluate(child, environment));
  auto joined = [&](Outcome outcome) {
    std::string text;
    for (const auto& result : results) {
      if (result.outcome == outcome && !result.evidence.empty()) text += (text.empty() ? "" : "; ") + result.evidence;
    }
    return text;
  };
  auto has = [&](Outcome outcome) {
    return std::any_of(results.begin(), results.end(), [&](const CheckResult& r) { return r.outcome == outcome; });
  };
  switch (condition.op) {
    case Condition::Op::kAll:
      if (has(Outcome::kFail)) return fail(joined(Outcome::kFail));
      if (has(Outcome::kError)) return error(joined(Outcome::kError));
      return pass(joined(Outcome::kPass));
    case Condition::Op::kAny:
      if (has(Outcome::kPass)) return pass(joined(Outcome::kPass));
      if (has(Outcome::kError)) return error(joined(Outcome::kError));
      return fail(joined(Outcome::kFail));
    case Condition::Op::kNone:
      if (has(Outcome::kPass)) return fail(joined(Outcome::kPass));
      if (has(Outcome::kError)) return error(joined(Outcome::kError));
      return pass(joined(Outcome::kFail));
    case Condition::Op::kCheck: break;
  }
  return error("bad condition");
}

CheckResult evaluate(const Control& control, Environment& environment) {
  if (control.applies_if) {
    CheckResult applies = evaluate(*control.applies_if, environment);
    if (applies.outcome == Outcome::kFail) return {Outcome::kNotApplicable, applies.evidence};
    if (applies.outcome == Outcome::kError) return applies;
  }
  return evaluate(control.check, environment);
}

}  // namespace vigil::policy
