// systemd's unit files and configuration files with their drop-ins, as
// systemd 252 (Debian 12) finds, orders and parses them (src/shared/dropin.c,
// conf-files.c, conf-parser.c). Values are read only for keys whose merge this
// reader knows (the tables below); anything else it cannot read exactly is an
// error naming the file:line.
#include "vigil/policy/systemd_units.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <stdexcept>

#include "logical_lines.h"

namespace vigil::policy {
namespace {

namespace fs = std::filesystem;

// How repeated assignments of a key combine, and what a value may be.
enum class KeyKind {
  kText,        // the last one wins
  kBool,        // the last one wins; read as yes / no
  kBoolOrWord,  // a boolean (read as yes / no) or one of `words`
  kWord,        // one of `words`
  kList,        // words add up; an empty assignment empties the list
  kHosts,       // a kList of host names or addresses
};

struct KeyInfo {
  const char* key;  // Section.Key
  KeyKind kind;
  std::vector<std::string> words;
};

// The unit properties this reader reads: a table.
const std::vector<KeyInfo>& unit_keys() {
  static const std::vector<KeyInfo> keys = {
      {"Unit.Description", KeyKind::kText, {}},
      {"Unit.DefaultDependencies", KeyKind::kBool, {}},
      {"Install.WantedBy", KeyKind::kList, {}},
      {"Install.RequiredBy", KeyKind::kList, {}},
      {"Install.Alias", KeyKind::kList, {}},
      {"Mount.What", KeyKind::kText, {}},
      {"Mount.Where", KeyKind::kText, {}},
      {"Mount.Type", KeyKind::kText, {}},
      {"Mount.Options", KeyKind::kText, {}},
      {"Mount.SloppyOptions", KeyKind::kBool, {}},
      {"Mount.LazyUnmount", KeyKind::kBool, {}},
      {"Mount.ForceUnmount", KeyKind::kBool, {}},
      {"Mount.ReadWriteOnly", KeyKind::kBool, {}},
      {"Service.Type", KeyKind::kWord, {"simple", "exec", "forking", "oneshot", "dbus", "notify", "idle"}},
      {"Service.Restart",
       KeyKind::kWord,
       {"no", "on-success", "on-failure", "on-abnormal", "on-watchdog", "on-abort", "always"}},
      {"Service.User", KeyKind::kText, {}},
      {"Service.Group", KeyKind::kText, {}},
      {"Service.NoNewPrivileges", KeyKind::kBool, {}},
      {"Service.PrivateTmp", KeyKind::kBool, {}},
      {"Service.PrivateDevices", KeyKind::kBool, {}},
      {"Service.PrivateNetwork", KeyKind::kBool, {}},
      {"Service.ProtectKernelTunables", KeyKind::kBool, {}},
      {"Service.ProtectKernelModules", KeyKind::kBool, {}},
      {"Service.ProtectControlGroups", KeyKind::kBool, {}},
      {"Service.ProtectSystem", KeyKind::kBoolOrWord, {"full", "strict"}},
      {"Service.ProtectHome", KeyKind::kBoolOrWord, {"read-only", "tmpfs"}},
      {"Timer.Persistent", KeyKind::kBool, {}},
  };
  return keys;
}

// systemd's configuration files (by file name) and the keys this reader reads in each.
const std::map<std::string, std::vector<KeyInfo>>& config_keys() {
  static const std::map<std::string, std::vector<KeyInfo>> files = {
      {"journald.conf",
       {{"Journal.Storage", KeyKind::kWord, {"volatile", "persistent", "auto", "none"}},
        {"Journal.Compress", KeyKind::kBool, {}},
        {"Journal.Seal", KeyKind::kBool, {}},
        {"Journal.SplitMode", KeyKind::kWord, {"uid", "none"}},
        {"Journal.ForwardToSyslog", KeyKind::kBool, {}},
        {"Journal.ForwardToKMsg", KeyKind::kBool, {}},
        {"Journal.ForwardToConsole", KeyKind::kBool, {}},
        {"Journal.ForwardToWall", KeyKind::kBool, {}},
        {"Journal.ReadKMsg", KeyKind::kBool, {}},
        {"Journal.Audit", KeyKind::kBool, {}}}},
      {"timesyncd.conf", {{"Time.NTP", KeyKind::kHosts, {}}, {"Time.FallbackNTP", KeyKind::kHosts, {}}}},
      {"coredump.conf",
       {{"Coredump.Storage", KeyKind::kWord, {"none", "external", "journal"}},
        {"Coredump.Compress", KeyKind::kBool, {}},
        {"Coredump.ProcessSizeMax", KeyKind::kText, {}}}},
      {"journal-upload.conf",
       {{"Upload.URL", KeyKind::kText, {}},
        {"Upload.ServerKeyFile", KeyKind::kText, {}},
        {"Upload.ServerCertificateFile", KeyKind::kText, {}},
        {"Upload.TrustedCertificateFile", KeyKind::kText, {}}}},
      {"logind.conf",
       {{"Login.KillUserProcesses", KeyKind::kBool, {}},
        {"Login.RemoveIPC", KeyKind::kBool, {}},
        {"Login.KillOnlyUsers", KeyKind::kList, {}},
        {"Login.KillExcludeUsers", KeyKind::kList, {}}}},
  };
  return files;
}

const std::vector<std::string>& unit_types() {
  static const std::vector<std::string> types = {"service", "socket", "device", "mount", "automount", "swap",
                                                 "target",  "path",   "timer",  "slice", "scope"};
  return types;
}

// The sections that belong to one unit type.
const std::map<std::string, std::string>& type_sections() {
  static const std::map<std::string, std::string> sections = {
      {"Service", "service"}, {"Socket", "socket"}, {"Mount", "mount"}, {"Automount", "automount"}, {"Swap", "swap"},
      {"Path", "path"},       {"Timer", "timer"},   {"Slice", "slice"}, {"Scope", "scope"}};
  return sections;
}

// systemd's WHITESPACE.
std::string_view strip(std::string_view text) {
  const char* blanks = " \t\n\r";
  size_t first = text.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

std::string type_of(const std::string& unit) {
  return unit.substr(unit.rfind('.') + 1);
}

// "foo@bar.service" (an instance) -> "foo@.service"; "" when not an instance.
std::string template_of(const std::string& unit) {
  size_t at = unit.find('@');
  size_t dot = unit.rfind('.');
  if (at == std::string::npos || at + 1 >= dot) return "";
  return unit.substr(0, at + 1) + unit.substr(dot);
}

void require_valid_unit_name(const std::string& unit) {
  static const std::string kAllowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_.\\@";
  size_t dot = unit.rfind('.');
  bool valid =
      !unit.empty() && unit.size() < 256 && dot != std::string::npos && dot > 0 &&
      unit.find_first_not_of(kAllowed) == std::string::npos && std::count(unit.begin(), unit.end(), '@') <= 1 &&
      std::find(unit_types().begin(), unit_types().end(), type_of(unit)) != unit_types().end() && unit.front() != '@';
  if (!valid) throw std::runtime_error("'" + unit + "' is not a unit name systemd accepts");
}

// Where `path` (as on the target) leads under the root, following symlinks as
// systemd does with --root; "/dev/null" when it ends there.
fs::path resolved(const fs::path& root, fs::path path) {
  std::error_code ignored;
  for (int hops = 0; hops < 32; ++hops) {
    fs::path here = under(root, path);
    if (!fs::is_symlink(here, ignored)) return path;
    fs::path target = fs::read_symlink(here, ignored);
    if (target == "/dev/null") return target;
    path = target.is_absolute() ? target : (path.parent_path() / target).lexically_normal();
  }
  throw std::runtime_error(path.string() + ": too many levels of symbolic links");
}

// An empty file or a link to /dev/null: systemd's null_or_empty().
bool null_or_empty(const fs::path& root, const fs::path& path) {
  fs::path target = resolved(root, path);
  std::error_code ignored;
  return target == "/dev/null" ||
         (fs::is_regular_file(under(root, target), ignored) && fs::file_size(under(root, target), ignored) == 0);
}

bool is_directory(const fs::path& root, const fs::path& path) {
  std::error_code ignored;
  return fs::is_directory(under(root, path), ignored);
}

// unit_file_find_dirs(): the drop-in directories of `name` in one directory of
// the search path: its own, its template's, then those of its "-" prefixes.
void add_dropin_directories(const fs::path& root, const std::string& directory, const std::string& name,
                            std::vector<std::string>& found) {
  std::string own = directory + "/" + name + ".d";
  if (is_directory(root, own)) found.push_back(own);
  std::string template_name = template_of(name);
  if (!template_name.empty()) add_dropin_directories(root, directory, template_name, found);
  size_t at = name.find('@');
  std::string prefix = name.substr(0, at != std::string::npos ? at : name.rfind('.'));
  bool chopped = false;
  for (;;) {
    size_t dash = prefix.rfind('-');
    if (dash == std::string::npos || dash == 0) return;
    if (dash + 1 < prefix.size() || chopped) {
      prefix.resize(dash + 1);
      break;
    }
    // A trailing dash: chop it off and try again, once.
    prefix.resize(dash);
    chopped = true;
  }
  std::string instance;
  if (!template_name.empty()) instance = name.substr(at + 1, name.rfind('.') - at - 1);
  add_dropin_directories(root, directory, prefix + (instance.empty() ? "" : "@" + instance) + "." + type_of(name),
                         found);
}

// conf_files_list_strv(): the *.conf files of `directories`, a file name in an
// earlier directory hiding the same name in a later one, in file name order.
std::vector<fs::path> conf_files(const fs::path& root, const std::vector<std::string>& directories) {
  std::map<std::string, fs::path> by_name;
  std::error_code ignored;
  for (const auto& directory : directories) {
    for (const auto& entry : fs::directory_iterator(under(root, directory), ignored)) {
      std::string name = entry.path().filename().string();
      if (name.front() == '.' || !name.ends_with(".conf") || by_name.count(name)) continue;
      by_name.emplace(name, fs::path(directory) / name);
    }
  }
  std::vector<fs::path> files;
  for (const auto& [name, file] : by_name) files.push_back(file);
  return files;
}

// An odd number of backslashes ends the line: the last one is not escaped.
bool ends_in_backslash(const std::string& line) {
  size_t count = 0;
  while (count < line.size() && line[line.size() - 1 - count] == '\\') ++count;
  return count % 2 == 1;
}

using Assignment = SystemdAssignment;

}  // namespace

std::vector<SystemdAssignment> systemd_file_assignments(const fs::path& root, const fs::path& file) {
  fs::path target = resolved(root, file);
  if (target == "/dev/null") return {};
  std::error_code ignored;
  if (!fs::is_regular_file(under(root, target), ignored))
    throw std::runtime_error(file.string() + " is not a file systemd reads");
  std::string content = read_text(root, target);
  if (content.starts_with("\xEF\xBB\xBF"))
    throw std::runtime_error(file.string() + ":1: a byte order mark is not understood");
  auto lines = logical_lines(content, file.string(), [](std::string physical, const std::string&, bool open) {
    LinePart part;
    std::string_view text = strip(physical);
    bool comment = !text.empty() && (text.front() == '#' || text.front() == ';');
    // A comment never continues; inside a continued line it is left out, and
    // a blank line there ends the line (as systemd-analyze verify shows).
    if (comment || (text.empty() && !open)) {
      part.skip = true;
      return part;
    }
    part.continues = ends_in_backslash(physical);
    if (part.continues) physical.back() = ' ';  // systemd joins continued lines with a blank
    part.text = physical;
    return part;
  });
  std::vector<Assignment> found;
  std::string section;
  for (const auto& line : lines) {
    std::string where = file.string() + ":" + std::to_string(line.number);
    std::string text(strip(line.text));
    if (text.front() == '[') {
      if (text.back() != ']' || text.size() < 3) throw std::runtime_error(where + ": invalid section header " + text);
      section = text.substr(1, text.size() - 2);
      continue;
    }
    if (text.front() == '.') throw std::runtime_error(where + ": '" + text + "' is not understood");
    size_t equals = text.find('=');
    if (equals == std::string::npos) throw std::runtime_error(where + ": a line without '=': " + text);
    std::string key(strip(std::string_view(text).substr(0, equals)));
    if (key.empty()) throw std::runtime_error(where + ": an assignment without a key");
    if (section.empty()) throw std::runtime_error(where + ": " + key + "= outside of a section");
    found.push_back({section + "." + key, std::string(strip(std::string_view(text).substr(equals + 1))), where});
  }
  return found;
}

namespace {

const KeyInfo* find_key(const std::vector<KeyInfo>& keys, const std::string& key) {
  auto found = std::find_if(keys.begin(), keys.end(), [&](const KeyInfo& info) { return key == info.key; });
  return found == keys.end() ? nullptr : &*found;
}

std::optional<bool> parse_boolean(const std::string& value) {
  static const std::set<std::string> yes = {"1", "yes", "y", "true", "t", "on"};
  static const std::set<std::string> no = {"0", "no", "n", "false", "f", "off"};
  std::string lower = value;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (yes.count(lower)) return true;
  if (no.count(lower)) return false;
  return std::nullopt;
}

// A unit file's value with its specifiers expanded: only "%%" is read.
std::string expand_specifiers(const std::string& value, const std::string& origin) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '%') {
      out += value[i];
      continue;
    }
    if (i + 1 < value.size() && value[i + 1] == '%') {
      out += '%';
      ++i;
      continue;
    }
    throw std::runtime_error(origin + ": the specifier " + value.substr(i, 2) + " is not expanded by this reader");
  }
  return out;
}

// The value the assignments of `info` leave, merged as systemd does for its kind.
std::optional<ConfigValue> merge(const KeyInfo& info, const std::vector<Assignment>& all, bool unit_file) {
  std::optional<ConfigValue> result;
  std::vector<std::string> words, origins;
  bool list = info.kind == KeyKind::kList || info.kind == KeyKind::kHosts;
  for (const auto& assignment : all) {
    if (assignment.key != info.key) continue;
    std::string value = unit_file ? expand_specifiers(assignment.value, assignment.origin) : assignment.value;
    std::string what = assignment.origin + ": " + assignment.key + "=" + value;
    if (list) {
      if (value.empty()) {
        words.clear();
        origins.clear();
        continue;
      }
      if (value.find_first_of("\"'\\") != std::string::npos)
        throw std::runtime_error(what + ": quotes and escapes in a list are not understood");
      for (size_t at = 0; (at = value.find_first_not_of(" \t", at)) != std::string::npos;) {
        size_t end = value.find_first_of(" \t", at);
        std::string word = value.substr(at, end == std::string::npos ? std::string::npos : end - at);
        if (info.kind == KeyKind::kHosts &&
            word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:_[]") !=
                std::string::npos)
          throw std::runtime_error(what + ": '" + word + "' is not a host name this reader reads");
        words.push_back(word);
        at = end;
      }
      origins.push_back(assignment.origin);
      continue;
    }
    // systemd handles an empty assignment differently per key (a reset, or a warning and no change).
    if (value.empty()) throw std::runtime_error(what + ": an empty assignment is not understood");
    auto boolean = parse_boolean(value);
    bool word = std::find(info.words.begin(), info.words.end(), value) != info.words.end();
    if (info.kind == KeyKind::kBool && !boolean)
      throw std::runtime_error(what + ": not a boolean (systemd ignores the line)");
    if (info.kind == KeyKind::kWord && !word) throw std::runtime_error(what + ": not a value systemd takes");
    if (info.kind == KeyKind::kBoolOrWord && !boolean && !word)
      throw std::runtime_error(what + ": not a value systemd takes");
    if (boolean && info.kind != KeyKind::kText && info.kind != KeyKind::kWord) value = *boolean ? "yes" : "no";
    result = ConfigValue{value, assignment.origin};
  }
  if (!list) return result;
  if (words.empty()) return std::nullopt;
  ConfigValue joined;
  for (const auto& word : words) joined.value += (joined.value.empty() ? "" : " ") + word;
  for (const auto& origin : origins) joined.origin += (joined.origin.empty() ? "" : ", ") + origin;
  return joined;
}

// The section of "Section.Key", and whether the key is well formed.
std::string section_of(const std::string& key) {
  size_t dot = key.find('.');
  return dot == std::string::npos || dot == 0 || dot + 1 == key.size() ? "" : key.substr(0, dot);
}

}  // namespace

const std::vector<std::string>& systemd_unit_path() {
  // As `systemd-analyze unit-paths` prints it on Debian 12 (/lib before /usr/lib).
  static const std::vector<std::string> path = {
      "/etc/systemd/system.control",   "/run/systemd/system.control",  "/run/systemd/transient",
      "/run/systemd/generator.early",  "/etc/systemd/system",          "/etc/systemd/system.attached",
      "/run/systemd/system",           "/run/systemd/system.attached", "/run/systemd/generator",
      "/usr/local/lib/systemd/system", "/lib/systemd/system",          "/usr/lib/systemd/system",
      "/run/systemd/generator.late"};
  return path;
}

UnitFiles find_unit_files(const fs::path& root, const std::string& unit) {
  require_valid_unit_name(unit);
  UnitFiles files;
  std::error_code ignored;
  std::string template_name = template_of(unit);
  for (const std::string& name : {unit, template_name}) {
    if (name.empty() || files.fragment) continue;
    for (const auto& directory : systemd_unit_path()) {
      fs::path candidate = fs::path(directory) / name;
      if (!fs::exists(fs::symlink_status(under(root, candidate), ignored))) continue;
      files.fragment = candidate;
      files.fragment_directory = directory;
      fs::path target = resolved(root, candidate);
      if (target != "/dev/null" && target.filename() != name)
        throw std::runtime_error(candidate.string() + " links to " + target.string() + ": " + unit +
                                 " is an alias of " + target.filename().string() + ", which is not understood");
      files.masked = null_or_empty(root, candidate);
      if (!files.masked && !fs::is_regular_file(under(root, target), ignored))
        throw std::runtime_error(candidate.string() + " is not a file systemd reads");
      break;
    }
  }
  // Names linked to this unit are aliases, whose drop-ins systemd applies too.
  for (const auto& directory : systemd_unit_path()) {
    for (const auto& entry : fs::directory_iterator(under(root, directory), ignored)) {
      std::string name = entry.path().filename().string();
      if (name == unit || !fs::is_symlink(entry.path(), ignored)) continue;
      fs::path target = resolved(root, fs::path(directory) / name);
      if (target.filename() != unit) continue;
      for (const auto& other : systemd_unit_path()) {
        if (is_directory(root, other + "/" + name + ".d"))
          throw std::runtime_error(other + "/" + name + ".d: drop-ins of " + name + ", an alias of " + unit +
                                   ", are not understood");
      }
    }
  }
  std::vector<std::string> directories;
  for (const auto& directory : systemd_unit_path()) add_dropin_directories(root, directory, unit, directories);
  // The type's own drop-ins come last, the most generic.
  for (const auto& directory : systemd_unit_path()) {
    std::string own = directory + "/" + type_of(unit) + ".d";
    if (is_directory(root, own)) directories.push_back(own);
  }
  files.dropins = conf_files(root, directories);
  for (const auto& dropin : files.dropins) {
    fs::path target = resolved(root, dropin);
    if (target != "/dev/null" && !fs::is_regular_file(under(root, target), ignored))
      throw std::runtime_error(dropin.string() + " is not a file systemd reads");
  }
  return files;
}

bool unit_is_wanted(const fs::path& root, const std::string& unit) {
  std::error_code ignored;
  for (const auto& directory : systemd_unit_path()) {
    for (const auto& entry : fs::directory_iterator(under(root, directory), ignored)) {
      std::string name = entry.path().filename().string();
      if (!name.ends_with(".wants") && !name.ends_with(".requires")) continue;
      if (fs::exists(fs::symlink_status(entry.path() / unit, ignored))) return true;
    }
  }
  return false;
}

std::string systemd_unit_key_problem(const std::string& unit, const std::string& key) {
  try {
    require_valid_unit_name(unit);
  } catch (const std::runtime_error& problem) {
    return problem.what();
  }
  std::string section = section_of(key);
  if (section.empty()) return "key must be Section.Key, such as Mount.Options, not '" + key + "'";
  auto typed = type_sections().find(section);
  if (typed != type_sections().end() && typed->second != type_of(unit))
    return "a ." + type_of(unit) + " unit has no [" + section + "] section";
  if (find_key(unit_keys(), key) == nullptr)
    return "'" + key + "' is not a property this reader reads (see docs/policies.md)";
  return "";
}

std::optional<ConfigValue> systemd_unit_value(const fs::path& root, const UnitFiles& files, const std::string& key) {
  const KeyInfo* info = find_key(unit_keys(), key);
  if (info == nullptr) throw std::runtime_error("'" + key + "' is not a property this reader reads");
  if (!files.fragment || files.masked) return std::nullopt;
  std::vector<Assignment> all = systemd_file_assignments(root, *files.fragment);
  for (const auto& dropin : files.dropins) {
    auto more = systemd_file_assignments(root, dropin);
    all.insert(all.end(), more.begin(), more.end());
  }
  return merge(*info, all, true);
}

std::vector<fs::path> systemd_config_files(const fs::path& root, const fs::path& path) {
  std::vector<fs::path> files;
  std::error_code ignored;
  if (fs::exists(fs::symlink_status(under(root, path), ignored))) files.push_back(path);
  // CONF_PATHS("systemd/<name>.conf.d"): Debian 12's systemd-analyze cat-config reads no /lib here.
  std::string relative = path.lexically_relative("/etc").string() + ".d";
  std::vector<std::string> directories;
  for (const char* prefix : {"/etc/", "/run/", "/usr/local/lib/", "/usr/lib/"})
    directories.push_back(prefix + relative);
  auto dropins = conf_files(root, directories);
  for (const auto& dropin : dropins) {
    fs::path target = resolved(root, dropin);
    if (target != "/dev/null" && !fs::is_regular_file(under(root, target), ignored))
      throw std::runtime_error(dropin.string() + " is not a file systemd reads");
  }
  files.insert(files.end(), dropins.begin(), dropins.end());
  return files;
}

std::string systemd_config_key_problem(const fs::path& path, const std::string& key) {
  auto file = config_keys().find(path.filename().string());
  if (path.parent_path() != "/etc/systemd" || file == config_keys().end()) {
    std::string names;
    for (const auto& [name, keys] : config_keys()) names += (names.empty() ? "" : ", ") + name;
    return "format systemd reads /etc/systemd/ " + names + ", not " + path.string();
  }
  if (find_key(file->second, key) == nullptr)
    return "'" + key + "' is not a key of " + file->first + " this reader reads (see docs/policies.md)";
  return "";
}

std::optional<ConfigValue> systemd_config_value(const fs::path& root, const fs::path& path, const std::string& key) {
  if (std::string problem = systemd_config_key_problem(path, key); !problem.empty()) throw std::runtime_error(problem);
  std::vector<Assignment> all;
  for (const auto& file : systemd_config_files(root, path)) {
    auto more = systemd_file_assignments(root, file);
    all.insert(all.end(), more.begin(), more.end());
  }
  return merge(*find_key(config_keys().at(path.filename().string()), key), all, false);
}

std::string systemd_normalized(const std::string& key, const std::string& value) {
  const KeyInfo* info = find_key(unit_keys(), key);
  for (const auto& [name, keys] : config_keys())
    if (info == nullptr) info = find_key(keys, key);
  if (info == nullptr || (info->kind != KeyKind::kBool && info->kind != KeyKind::kBoolOrWord)) return value;
  auto boolean = parse_boolean(value);
  return boolean ? (*boolean ? "yes" : "no") : value;
}

std::string mount_unit_name(const std::string& path) {
  // unit_name_from_path(): simplified, "/" as "-", other bytes escaped as \xNN.
  std::string simplified;
  for (const auto& part : fs::path(path).lexically_normal()) {
    std::string piece = part.string();
    if (piece == "/" || piece.empty()) continue;
    simplified += (simplified.empty() ? "" : "/") + piece;
  }
  if (simplified.empty()) return "-.mount";
  std::string name;
  static const char* kHex = "0123456789abcdef";
  for (size_t i = 0; i < simplified.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(simplified[i]);
    if (c == '/') {
      name += '-';
    } else if (std::isalnum(c) || c == ':' || c == '_' || (c == '.' && i > 0)) {
      name += static_cast<char>(c);
    } else {
      name += std::string("\\x") + kHex[c >> 4] + kHex[c & 15];
    }
  }
  return name + ".mount";
}

}  // namespace vigil::policy
