// /etc/fstab as libmount 2.38 reads it (mnt_table_parse_stream: six fields
// separated by blanks, \ooo escapes, # comments) and the configured mount of
// a path, fstab or .mount unit, in the order systemd 252 ranks them.
#include "vigil/policy/fstab.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>
#include <stdexcept>

#include "vigil/policy/config_formats.h"
#include "vigil/policy/systemd_units.h"

namespace vigil::policy {
namespace {

namespace fs = std::filesystem;

bool is_octal(char c) {
  return c >= '0' && c <= '7';
}

// libmount's unmangle(): a backslash and three octal digits is that byte; any other backslash stays.
std::string unmangled(const std::string& field, const std::string& where) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && is_octal(field[i + 1]) && is_octal(field[i + 2]) &&
        is_octal(field[i + 3])) {
      int value = 64 * (field[i + 1] - '0') + 8 * (field[i + 2] - '0') + (field[i + 3] - '0');
      if (value > 0377) throw std::runtime_error(where + ": the escape " + field.substr(i, 4) + " is not a byte");
      out += static_cast<char>(value);
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

bool is_number(const std::string& text) {
  size_t start = !text.empty() && (text[0] == '-' || text[0] == '+') ? 1 : 0;
  return text.size() > start && text.size() < 10 && text.find_first_not_of("0123456789", start) == std::string::npos;
}

// A path as systemd compares mount points: without repeated or trailing slashes.
std::string simplified(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out += c;
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::vector<std::string> split_options(const std::string& options) {
  std::vector<std::string> list;
  std::stringstream in(options);
  for (std::string option; std::getline(in, option, ',');) list.push_back(option);
  return list;
}

}  // namespace

std::vector<FstabEntry> read_fstab(const fs::path& root, const fs::path& file) {
  std::error_code ignored;
  if (!fs::exists(under(root, file), ignored)) return {};
  if (fs::is_directory(under(root, file), ignored))
    throw std::runtime_error(file.string() + " is a directory, which is not understood");
  std::string content = read_text(root, file);
  std::vector<FstabEntry> entries;
  std::istringstream in(content);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::string where = file.string() + ":" + std::to_string(number);
    if (line.find('\0') != std::string::npos) throw std::runtime_error(where + ": a NUL byte is not understood");
    std::vector<std::string> fields;
    std::istringstream words(line);  // sscanf's %s: fields separated by any blanks
    for (std::string word; words >> word;) fields.push_back(word);
    if (fields.empty() || fields[0].front() == '#') continue;
    if (fields.size() < 3) throw std::runtime_error(where + ": fewer than three fields: " + line);
    if (fields.size() > 6) throw std::runtime_error(where + ": more than six fields: " + line);
    FstabEntry entry;
    entry.source = unmangled(fields[0], where);
    entry.target = unmangled(fields[1], where);
    entry.type = unmangled(fields[2], where);
    if (fields.size() > 3) entry.options = unmangled(fields[3], where);
    for (size_t i = 4; i < fields.size(); ++i) {
      if (!is_number(fields[i]))
        throw std::runtime_error(where + ": field " + std::to_string(i + 1) + " is not a number: " + fields[i]);
      (i == 4 ? entry.freq : entry.passno) = std::stoi(fields[i]);
    }
    entry.origin = where;
    entries.push_back(entry);
  }
  return entries;
}

bool mount_option_in_effect(const std::string& options, const std::string& option, const std::string& where) {
  static const std::map<std::string, std::string> kOpposite = {
      {"nodev", "dev"},   {"dev", "nodev"},   {"nosuid", "suid"}, {"suid", "nosuid"},
      {"noexec", "exec"}, {"exec", "noexec"}, {"ro", "rw"},       {"rw", "ro"}};
  static const std::vector<std::string> kDefaults = {"rw", "suid", "dev", "exec"};
  if (options.find_first_of("\"'") != std::string::npos)
    throw std::runtime_error(where + ": quoted mount options are not understood");
  auto list = split_options(options);
  auto opposite = kOpposite.find(option);
  if (opposite == kOpposite.end()) return std::find(list.begin(), list.end(), option) != list.end();
  bool in_effect = std::find(kDefaults.begin(), kDefaults.end(), option) != kDefaults.end();
  for (const auto& given : list) {
    // user and its kin imply nodev, nosuid and noexec for some mounts only.
    if ((given == "user" || given == "users" || given == "owner" || given == "group") && option != "ro" &&
        option != "rw")
      throw std::runtime_error(where + ": what the option " + given + " implies for " + option + " is not understood");
    if (given == option) in_effect = true;
    if (given == opposite->second) in_effect = false;
    if (given == "defaults") in_effect = std::find(kDefaults.begin(), kDefaults.end(), option) != kDefaults.end();
  }
  return in_effect;
}

ConfiguredMount configured_mount(const fs::path& root, const std::string& path) {
  std::string point = simplified(path);
  std::string unit = mount_unit_name(point);
  UnitFiles files = find_unit_files(root, unit);
  std::vector<FstabEntry> entries;
  for (auto& entry : read_fstab(root, "/etc/fstab"))
    if (simplified(entry.target) == point) entries.push_back(entry);
  if (entries.size() > 1)
    throw std::runtime_error(point + " is in /etc/fstab twice (" + entries[0].origin + ", " + entries[1].origin + ")");
  // systemd mounts /dev/shm itself (nosuid, nodev); an fstab entry makes
  // systemd-remount-fs remount it with the entry's options.
  if (point == "/dev/shm") {
    if (files.fragment)
      throw std::runtime_error(files.fragment->string() +
                               ": a unit for /dev/shm, which systemd mounts itself, is not understood");
    if (entries.empty())
      return {true, "mode=1777,nosuid,nodev,strictatime",
              "systemd mounts /dev/shm itself (tmpfs mode=1777,nosuid,nodev,strictatime; no entry in /etc/fstab)"};
    if (mount_option_in_effect(entries.front().options, "noauto", entries.front().origin))
      throw std::runtime_error(entries.front().origin +
                               ": noauto on /dev/shm, which systemd mounts itself, is not understood");
  }
  // systemd-fstab-generator writes its units to /run/systemd/generator: a unit
  // in a directory before it wins over fstab, one after it loses.
  const auto& unit_path = systemd_unit_path();
  auto rank = [&](const std::string& directory) {
    return std::find(unit_path.begin(), unit_path.end(), directory) - unit_path.begin();
  };
  bool unit_first = files.fragment && rank(files.fragment_directory) < rank("/run/systemd/generator");
  if (!unit_first && !entries.empty()) {
    const FstabEntry& entry = entries.front();
    if (!files.dropins.empty())
      throw std::runtime_error(files.dropins.front().string() + ": drop-ins for the unit of an fstab entry (" +
                               entry.origin + ") are not understood");
    std::string seen = entry.origin + ": " + entry.source + " " + entry.target + " " + entry.type + " " +
                       (entry.options.empty() ? "(no options)" : entry.options);
    auto options = split_options(entry.options);
    if (std::find(options.begin(), options.end(), "noauto") != options.end())
      return {false, "", seen + ", noauto: not mounted at boot"};
    return {true, entry.options, seen};
  }
  if (!files.fragment) return {false, "", point + " has no entry in /etc/fstab and there is no " + unit};
  std::string fragment = unit + " (" + files.fragment->string() + ")";
  if (files.masked) return {false, "", point + " has no entry in /etc/fstab and " + fragment + " is masked"};
  // The fstab generator links the units of its entries into local-fs.target.requires.
  bool from_fstab =
      !entries.empty() && !mount_option_in_effect(entries.front().options, "noauto", entries.front().origin);
  if (!from_fstab && !unit_is_wanted(root, unit))
    return {false, "", point + " has no entry in /etc/fstab and " + fragment + " is not enabled"};
  auto where = systemd_unit_value(root, files, "Mount.Where");
  if (where && simplified(where->value) != point)
    throw std::runtime_error(where->origin + ": Where=" + where->value + " is not " + point +
                             ": systemd refuses the unit");
  if (!systemd_unit_value(root, files, "Mount.What"))
    throw std::runtime_error(fragment + " has no What=: systemd refuses the unit");
  auto options = systemd_unit_value(root, files, "Mount.Options");
  if (!options) return {true, "", fragment + " without Options="};
  return {true, options->value, fragment + " Options=" + options->value + " (" + options->origin + ")"};
}

}  // namespace vigil::policy
