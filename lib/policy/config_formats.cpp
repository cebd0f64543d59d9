#include "vigil/policy/config_formats.h"
#include "vigil/text/text.h"

#include <fnmatch.h>
#include <glob.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace vigil::policy {
namespace {

// Paths matching `pattern` (absolute, as on the target system) under root, sorted.
std::vector<std::filesystem::path> expand(const std::filesystem::path& root, const std::string& pattern) {
  std::string rooted = under(root, pattern).string();
  glob_t found{};
  std::vector<std::filesystem::path> paths;
  if (::glob(rooted.c_str(), 0, nullptr, &found) == 0) {
    std::string prefix = root == "/" ? "" : root.string();
    for (size_t i = 0; i < found.gl_pathc; ++i)
      paths.emplace_back(std::string(found.gl_pathv[i]).substr(prefix.size()));
  }
  ::globfree(&found);
  return paths;
}

// sshd's pattern lists: comma-separated, '*' and '?' wildcards, '!' negates (a negated match wins).
bool match_list(const std::string& list, const std::string& value, bool case_insensitive) {
  if (value.empty()) return false;
  bool matched = false;
  std::stringstream entries(list);
  for (std::string entry; std::getline(entries, entry, ',');) {
    bool negated = !entry.empty() && entry.front() == '!';
    if (negated) entry.erase(0, 1);
    std::string subject = case_insensitive ? to_lower(value) : value;
    std::string pattern = case_insensitive ? to_lower(entry) : entry;
    if (::fnmatch(pattern.c_str(), subject.c_str(), 0) == 0) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

bool match_criteria(const std::vector<std::string>& words, const SshdContext& context) {
  if (words.size() == 1 && to_lower(words[0]) == "all") return true;
  for (size_t i = 0; i + 1 < words.size(); i += 2) {
    std::string criterion = to_lower(words[i]);
    const std::string& list = words[i + 1];
    bool ok = false;
    if (criterion == "user") {
      ok = match_list(list, context.user, false);
    } else if (criterion == "group") {
      ok = match_list(list, context.group, false);
    } else if (criterion == "host") {
      ok = match_list(list, context.host, true);
    } else if (criterion == "address") {
      ok = match_list(list, context.address, false);
    } else if (criterion == "localport") {
      ok = match_list(list, context.local_port, false);
    }
    if (!ok) return false;
  }
  return words.size() >= 2;
}

struct SshdScan {
  const std::filesystem::path& root;
  std::string keyword;  // lower case
  const SshdContext& context;
  std::optional<ConfigValue> global;
  std::optional<ConfigValue> matched;
  bool in_match = false;
  bool match_applies = false;
  int depth = 0;

  void read(const std::filesystem::path& file) {
    if (++depth > 16) throw std::runtime_error("sshd_config: Include nested too deeply at " + file.string());
    std::istringstream lines(read_text(root, file));
    std::string line;
    for (int number = 1; std::getline(lines, line); ++number) {
      std::string text = trimmed(line);
      if (text.empty() || text.front() == '#') continue;
      // "Keyword value" or "Keyword=value"
      size_t split = text.find_first_of(" \t=");
      std::string key = to_lower(text.substr(0, split));
      std::string value = split == std::string::npos ? "" : trimmed(text.substr(split + 1));
      if (!value.empty() && value.front() == '=') value = trimmed(value.substr(1));
      if (key == "include") {
        std::istringstream patterns(value);
        for (std::string pattern; patterns >> pattern;) {
          if (pattern.front() != '/') pattern = "/etc/ssh/" + pattern;
          for (const auto& included : expand(root, pattern)) read(included);
        }
        continue;
      }
      if (key == "match") {
        std::istringstream criteria(value);
        std::vector<std::string> words;
        for (std::string word; criteria >> word;) words.push_back(word);
        in_match = true;
        match_applies = match_criteria(words, context);
        continue;
      }
      if (key != keyword) continue;
      ConfigValue found{unquote(value), file.string() + ":" + std::to_string(number)};
      if (!in_match) {
        if (!global) global = found;  // the first value wins
      } else if (match_applies && !matched) {
        matched = found;
      }
    }
    --depth;
  }
};

void parse_sysctl_file(const std::filesystem::path& root, const std::filesystem::path& file,
                       std::map<std::string, ConfigValue>& settings) {
  std::istringstream lines(read_text(root, file));
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    std::string text = trimmed(line);
    if (text.empty() || text.front() == '#' || text.front() == ';') continue;
    if (text.front() == '-') text.erase(0, 1);  // "ignore errors" marker
    size_t equals = text.find('=');
    if (equals == std::string::npos) continue;
    std::string key = trimmed(text.substr(0, equals));
    std::replace(key.begin(), key.end(), '/', '.');
    settings[key] = ConfigValue{trimmed(text.substr(equals + 1)), file.string() + ":" + std::to_string(number)};
  }
}

}  // namespace

std::filesystem::path under(const std::filesystem::path& root, const std::filesystem::path& path) {
  if (root.empty() || root == "/") return path;
  return root / path.relative_path();
}

std::string read_text(const std::filesystem::path& root, const std::filesystem::path& file) {
  std::ifstream in(under(root, file), std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<ConfigValue> sshd_value(const std::filesystem::path& root, const std::filesystem::path& file,
                                      std::string_view keyword, const SshdContext& context) {
  SshdScan scan{root, to_lower(keyword), context, {}, {}, false, false, 0};
  scan.read(file);
  return scan.matched ? scan.matched : scan.global;
}

std::map<std::string, ConfigValue> sysctl_settings(const std::filesystem::path& root) {
  // Highest priority first: a file name seen in an earlier directory hides later ones.
  const std::vector<std::string> directories = {"/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d",
                                                "/usr/lib/sysctl.d", "/lib/sysctl.d"};
  std::map<std::string, std::filesystem::path> by_name;
  for (const auto& directory : directories) {
    for (const auto& file : expand(root, directory + "/*.conf")) by_name.emplace(file.filename().string(), file);
  }
  std::map<std::string, ConfigValue> settings;
  for (const auto& [name, file] : by_name) parse_sysctl_file(root, file, settings);
  std::error_code missing;
  if (std::filesystem::exists(under(root, "/etc/sysctl.conf"), missing)) {
    parse_sysctl_file(root, "/etc/sysctl.conf", settings);
  }
  return settings;
}

std::map<std::string, ConfigValue> read_config(const std::filesystem::path& root, const std::filesystem::path& file,
                                               Format format) {
  std::map<std::string, ConfigValue> values;
  std::istringstream lines(read_text(root, file));
  std::string line;
  std::string section;
  for (int number = 1; std::getline(lines, line); ++number) {
    std::string text = trimmed(line);
    if (text.empty() || text.front() == '#' || (format == Format::kIni && text.front() == ';')) continue;
    std::string key, value;
    if (format == Format::kIni && text.front() == '[') {
      section = trimmed(text.substr(1, text.find(']') == std::string::npos ? std::string::npos : text.find(']') - 1));
      continue;
    }
    if (format == Format::kKeyValue) {
      size_t split = text.find_first_of(" \t");
      key = text.substr(0, split);
      value = split == std::string::npos ? "" : trimmed(text.substr(split));
    } else {
      if (format == Format::kShell && text.rfind("export ", 0) == 0) text = trimmed(text.substr(7));
      size_t equals = text.find('=');
      if (equals == std::string::npos) continue;
      key = trimmed(text.substr(0, equals));
      value = trimmed(text.substr(equals + 1));
      if (format == Format::kShell) {
        // A trailing comment outside quotes is not part of the value.
        if (!value.empty() && value.front() != '"' && value.front() != '\'')
          value = trimmed(value.substr(0, value.find(" #")));
        value = unquote(value);
      }
      if (format == Format::kIni && !section.empty()) key = section + "." + key;
    }
    values[key] = ConfigValue{value, file.string() + ":" + std::to_string(number)};
  }
  return values;
}

}  // namespace vigil::policy
