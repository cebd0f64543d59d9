// pwquality.conf as Debian 12's libpwquality (1.4.5) reads it: first every
// pwquality.conf.d/*.conf in strcmp order, then pwquality.conf, so the main
// file has the last word; a later setting replaces an earlier one. The
// pam_pwquality module reads them and then applies its arguments on top.
#include <algorithm>
#include <cctype>
#include <climits>
#include <sstream>
#include <stdexcept>

#include "vigil/policy/limits_pwquality_grub.h"
#include "vigil/text/text.h"

namespace vigil::policy {
namespace {

namespace fs = std::filesystem;

enum class Kind { kInt, kText, kFlag };

// Every setting libpwquality 1.4.5 knows, with its built-in value (Debian
// builds it with cracklib, so dictcheck is on and dictpath is cracklib's
// dictionary); badwords has none.
struct Setting {
  Kind kind;
  const char* default_value;
};
const std::map<std::string, Setting>& settings_known() {
  static const std::map<std::string, Setting> known = {
      {"difok", {Kind::kInt, "1"}},
      {"minlen", {Kind::kInt, "8"}},
      {"dcredit", {Kind::kInt, "0"}},
      {"ucredit", {Kind::kInt, "0"}},
      {"lcredit", {Kind::kInt, "0"}},
      {"ocredit", {Kind::kInt, "0"}},
      {"minclass", {Kind::kInt, "0"}},
      {"maxrepeat", {Kind::kInt, "0"}},
      {"maxclassrepeat", {Kind::kInt, "0"}},
      {"maxsequence", {Kind::kInt, "0"}},
      {"gecoscheck", {Kind::kInt, "0"}},
      {"dictcheck", {Kind::kInt, "1"}},
      {"usercheck", {Kind::kInt, "1"}},
      {"usersubstr", {Kind::kInt, "0"}},
      {"enforcing", {Kind::kInt, "1"}},
      {"badwords", {Kind::kText, nullptr}},
      {"dictpath", {Kind::kText, "/var/cache/cracklib/cracklib_dict"}},
      {"retry", {Kind::kInt, "1"}},
      {"enforce_for_root", {Kind::kFlag, "0"}},
      {"local_users_only", {Kind::kFlag, "0"}},
  };
  return known;
}

// Sets `name` as libpwquality's set_name_value does; throws (naming `where`) where it would refuse.
void set_value(std::map<std::string, ConfigValue>& settings, const std::string& name, const std::string& value,
               const std::string& where) {
  std::string key = to_lower(name);
  auto found = settings_known().find(key);
  if (found == settings_known().end()) throw std::runtime_error(where + ": unknown pwquality setting '" + name + "'");
  switch (found->second.kind) {
    case Kind::kFlag:
      settings[key] = ConfigValue{"1", where};  // set by its name alone, whatever follows it
      return;
    case Kind::kText:
      // An empty value unsets it: badwords is then none, dictpath cracklib's own.
      if (!value.empty())
        settings[key] = ConfigValue{value, where};
      else if (found->second.default_value)
        settings[key] = ConfigValue{found->second.default_value, "default"};
      else
        settings.erase(key);
      return;
    case Kind::kInt: break;
  }
  std::string digits = !value.empty() && (value[0] == '-' || value[0] == '+') ? value.substr(1) : value;
  bool number = !digits.empty() && digits.size() <= 10 &&
                std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); });
  long long parsed = number ? std::stoll(value) : 0;
  if (!number || parsed >= INT_MAX || parsed <= INT_MIN)
    throw std::runtime_error(where + ": " + name + " takes a whole number, not '" + value + "'");
  // libpwquality raises minlen below 6 to 6 and lowers minclass above 4 to 4.
  if (key == "minlen") parsed = std::max(parsed, 6LL);
  if (key == "minclass") parsed = std::min(parsed, 4LL);
  settings[key] = ConfigValue{std::to_string(parsed), where};
}

void read_file(const fs::path& root, const fs::path& file, std::map<std::string, ConfigValue>& settings) {
  std::istringstream in(read_text(root, file));
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    std::string where = file.string() + ":" + std::to_string(++number);
    if (line.find('\0') != std::string::npos) throw std::runtime_error(where + ": a NUL byte");
    if (line.size() > 1022) throw std::runtime_error(where + ": a line longer than libpwquality's 1023 characters");
    line = line.substr(0, line.find('#'));
    auto space = [](unsigned char c) { return std::isspace(c) != 0; };
    while (!line.empty() && space(line.back())) line.pop_back();
    size_t at = 0;
    while (at < line.size() && space(line[at])) ++at;
    if (at == line.size()) continue;
    size_t name_end = at;
    while (name_end < line.size() && !space(line[name_end]) && line[name_end] != '=') ++name_end;
    std::string name = line.substr(at, name_end - at);
    // Blanks and at most one '=' separate the name from the value.
    bool equals = name_end < line.size() && line[name_end] == '=';
    at = name_end < line.size() ? name_end + 1 : name_end;
    while (at < line.size() && (space(line[at]) || (line[at] == '=' && !equals))) {
      if (line[at] == '=') equals = true;
      ++at;
    }
    set_value(settings, name, line.substr(at), where);
  }
}

// libpwquality takes a file of the directory when the first ".conf" in its name ends it.
bool conf_name(const std::string& name) {
  size_t at = name.find(".conf");
  return at != std::string::npos && at + 5 == name.size();
}

}  // namespace

bool pwquality_known_setting(const std::string& name) {
  return settings_known().count(to_lower(name)) != 0;
}

std::map<std::string, ConfigValue> pwquality_files(const fs::path& root) {
  std::map<std::string, ConfigValue> settings;
  for (const auto& [name, setting] : settings_known())
    if (setting.default_value) settings[name] = ConfigValue{setting.default_value, "default"};
  std::vector<std::string> names;
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator(under(root, "/etc/security/pwquality.conf.d"), ignored)) {
    std::string name = entry.path().filename().string();
    if (conf_name(name) && entry.is_regular_file(ignored)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) read_file(root, "/etc/security/pwquality.conf.d/" + name, settings);
  if (fs::exists(under(root, "/etc/security/pwquality.conf"), ignored))
    read_file(root, "/etc/security/pwquality.conf", settings);
  return settings;
}

void pwquality_apply_args(std::map<std::string, ConfigValue>& settings, const std::vector<std::string>& args,
                          const std::string& where) {
  // Arguments pam_pwquality takes for itself or ignores (prefixes, as it compares them).
  static const std::vector<std::string> kModuleOnly = {
      "type=", "difignore=", "reject_username", "authtok_type", "use_authtok", "use_first_pass", "try_first_pass"};
  for (const auto& arg : args) {
    if (arg == "debug" ||
        std::any_of(kModuleOnly.begin(), kModuleOnly.end(), [&](const std::string& p) { return arg.rfind(p, 0) == 0; }))
      continue;
    size_t equals = arg.find('=');
    std::string name = arg.substr(0, equals);
    std::string value = equals == std::string::npos ? "" : arg.substr(equals + 1);
    set_value(settings, name, value, "pam_pwquality.so " + arg + " (" + where + ")");
  }
}

}  // namespace vigil::policy
