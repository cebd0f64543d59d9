#include "vigil/policy/config_formats.h"
#include "vigil/text/text.h"

#include <glob.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace vigil::policy {

std::vector<std::filesystem::path> glob_under(const std::filesystem::path& root, const std::string& pattern) {
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

namespace {

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
    std::string where = file.string() + ":" + std::to_string(number);
    // As procps: a key whose first separator is '/' has its dots and slashes swapped (net/ipv4/conf/eth0.5/x
    // is net.ipv4.conf.eth0/5.x).
    size_t separator = key.find_first_of("./");
    if (separator != std::string::npos && key[separator] == '/')
      for (char& c : key) c = c == '/' ? '.' : c == '.' ? '/' : c;
    if (key.find_first_of("*?[") != std::string::npos)
      throw std::runtime_error(where + ": the pattern in key " + key + " is not understood");
    settings[key] = ConfigValue{trimmed(text.substr(equals + 1)), where};
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

std::map<std::string, ConfigValue> sysctl_settings(const std::filesystem::path& root) {
  // Highest priority first: a file name seen in an earlier directory hides later ones.
  const std::vector<std::string> directories = {"/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d",
                                                "/usr/lib/sysctl.d", "/lib/sysctl.d"};
  std::map<std::string, std::filesystem::path> by_name;
  for (const auto& directory : directories) {
    for (const auto& file : glob_under(root, directory + "/*.conf")) by_name.emplace(file.filename().string(), file);
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
      // As shadow's getdef reads login.defs: a key alone sets nothing, and the value starts after blanks and
      // quotes and ends at the next quote.
      size_t split = text.find_first_of(" \t");
      if (split == std::string::npos) continue;
      key = text.substr(0, split);
      size_t start = text.find_first_not_of(" \t\"", split);
      value = start == std::string::npos ? "" : text.substr(start);
      value = value.substr(0, value.find('"'));
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
