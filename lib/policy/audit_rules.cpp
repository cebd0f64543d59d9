// Audit rules as Debian 12's auditd 3.0.9 loads them. augenrules lists
// /etc/audit/rules.d with `ls -1v`, keeps the names ending in ".rules",
// concatenates them and, with awk, drops empty lines and lines starting with
// '#', keeps only the LAST "-e", bare "-D", "-b" and "-f" line and moves
// them (-D first, then -b and -f, -e last); `auditctl -R` then runs each line
// as auditctl's arguments, stopping at the first one the kernel refuses.
// Lines are read in auditctl's syntax with the options written apart from
// their values ("-w /etc/sudoers -p wa -k scope"); what auditctl or the
// kernel would refuse, what mawk and gawk (either may be awk) would merge
// differently and what this reader does not model throws, naming the
// file:line and the construct.
#include "vigil/policy/audit_rules.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <tuple>

namespace vigil::policy {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void refuse(const std::string& where, const std::string& what) {
  throw std::runtime_error(where + ": " + what);
}

bool is_number(const std::string& text) {
  size_t start = !text.empty() && text[0] == '-' ? 1 : 0;
  return text.size() > start && text.find_first_not_of("0123456789", start) == std::string::npos;
}

// A decimal as the kernel's 32-bit fields hold it; what auditctl would
// truncate or wrap is not read.
std::string decimal(const std::string& text, const std::string& where) {
  size_t digits = text.find_first_not_of("-0");
  if (digits != std::string::npos && text.size() - digits > 10)
    refuse(where, "'" + text + "' does not fit in 32 bits (not modelled)");
  long long value = std::stoll(text);
  if (value < -2147483648LL || value > 4294967295LL)
    refuse(where, "'" + text + "' does not fit in 32 bits (not modelled)");
  return std::to_string(value);
}

// The syscalls this reader knows, with the ABIs auditctl 3.0.9 knows them
// for (from `ausyscall --exact`); a name outside it errs rather than being
// taken for one auditctl may refuse.
const std::map<std::string, std::string>& syscall_abis() {
  static const std::map<std::string, std::string> table = [] {
    std::map<std::string, std::string> rows;
    for (const char* name : {"execve",
                             "execveat",
                             "adjtimex",
                             "settimeofday",
                             "clock_settime",
                             "clock_adjtime",
                             "sethostname",
                             "setdomainname",
                             "creat",
                             "open",
                             "openat",
                             "openat2",
                             "open_by_handle_at",
                             "truncate",
                             "ftruncate",
                             "chmod",
                             "fchmod",
                             "fchmodat",
                             "chown",
                             "fchown",
                             "fchownat",
                             "lchown",
                             "setxattr",
                             "lsetxattr",
                             "fsetxattr",
                             "removexattr",
                             "lremovexattr",
                             "fremovexattr",
                             "mount",
                             "umount2",
                             "unlink",
                             "unlinkat",
                             "rename",
                             "renameat",
                             "renameat2",
                             "rmdir",
                             "init_module",
                             "finit_module",
                             "delete_module",
                             "create_module",
                             "query_module",
                             "ptrace",
                             "personality",
                             "setuid",
                             "setgid",
                             "setreuid",
                             "setregid",
                             "setresuid",
                             "setresgid",
                             "link",
                             "linkat",
                             "symlink",
                             "symlinkat",
                             "mknod",
                             "mknodat",
                             "mkdir",
                             "mkdirat",
                             "chroot",
                             "pivot_root",
                             "swapon",
                             "swapoff",
                             "reboot",
                             "acct",
                             "bpf"})
      rows[name] = "b64 b32";
    for (const char* name : {"stime", "umount", "truncate64", "ftruncate64", "chown32", "fchown32", "lchown32"})
      rows[name] = "b32";
    for (const char* name : {"kexec_load", "kexec_file_load"}) rows[name] = "b64";
    return rows;
  }();
  return table;
}

// Errno names auditctl takes in -F exit=, as numbers.
const std::map<std::string, std::string>& errno_numbers() {
  static const std::map<std::string, std::string> table = {
      {"EPERM", "1"},   {"ENOENT", "2"},   {"EINTR", "4"},   {"EIO", "5"},     {"EBADF", "9"},
      {"EAGAIN", "11"}, {"ENOMEM", "12"},  {"EACCES", "13"}, {"EFAULT", "14"}, {"EBUSY", "16"},
      {"EEXIST", "17"}, {"ENOTDIR", "20"}, {"EISDIR", "21"}, {"EINVAL", "22"}, {"EROFS", "30"}};
  return table;
}

// Fields whose values are user or group ids (unset is -1, as auditctl -l prints it).
bool is_id_field(const std::string& name) {
  static const std::set<std::string> ids = {"uid",  "euid",  "suid", "fsuid",    "gid",     "egid",
                                            "sgid", "fsgid", "auid", "loginuid", "obj_uid", "obj_gid"};
  return ids.count(name) > 0;
}

// Fields auditctl 3.0.9 takes that this reader reads, each with whether its
// value is a number.
const std::map<std::string, bool>& field_kinds() {
  static const std::map<std::string, bool> table = {
      {"pid", true},        {"ppid", true},       {"uid", true},        {"euid", true},      {"suid", true},
      {"fsuid", true},      {"gid", true},        {"egid", true},       {"sgid", true},      {"fsgid", true},
      {"auid", true},       {"loginuid", true},   {"obj_uid", true},    {"obj_gid", true},   {"sessionid", true},
      {"success", true},    {"exit", true},       {"a0", true},         {"a1", true},        {"a2", true},
      {"a3", true},         {"inode", true},      {"devmajor", true},   {"devminor", true},  {"pers", true},
      {"path", false},      {"dir", false},       {"perm", false},      {"exe", false},      {"filetype", false},
      {"subj_user", false}, {"subj_role", false}, {"subj_type", false}, {"obj_user", false}, {"obj_role", false},
      {"obj_type", false},  {"msgtype", false}};
  return table;
}

std::string normalized_perm(const std::string& perm, const std::string& where) {
  if (perm.empty() || perm.size() > 4 || perm.find_first_not_of("rwxa") != std::string::npos)
    refuse(where, "permissions '" + perm + "' are not some of r, w, x and a");
  std::string ordered;
  for (char letter : std::string("rwxa"))
    if (perm.find(letter) != std::string::npos) ordered += letter;
  return ordered;
}

// A path as the kernel keeps it for a watch: absolute, without a trailing '/'.
std::string watched_path(std::string path, const std::string& where) {
  if (path.empty() || path[0] != '/') refuse(where, "watched path '" + path + "' is not absolute");
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

struct LineResult {
  enum class Kind { kNothing, kRule, kSetting, kClear } kind = Kind::kNothing;
  AuditRule rule;
  std::string setting, value;
};

// A watched path's parent must exist (the kernel refuses the rule otherwise,
// and auditctl -R stops there); a watch on a directory is kept as dir=.
std::string watch_field_name(const fs::path& root, const std::string& path, const std::string& where) {
  if (root.empty()) return "path";  // auditctl -l: as listed
  std::error_code ignored;
  if (fs::is_directory(under(root, path), ignored)) return "dir";
  if (!fs::is_directory(under(root, fs::path(path).parent_path()), ignored))
    refuse(where, "the directory of watched path " + path + " does not exist (the kernel refuses the rule)");
  return "path";
}

// One line as auditctl reads it. `root` empty: auditctl -l output.
LineResult parse_line(const std::vector<std::string>& words, const std::string& text, const std::string& where,
                      const fs::path& root) {
  LineResult result;
  AuditRule& rule = result.rule;
  rule.text = text;
  rule.origin = where;
  bool have_list = false, watch = false, syscall_given = false;
  std::string watch_path, watch_perm;
  std::set<std::string> syscalls;
  static const std::map<std::string, std::string> settings = {{"-e", "enabled"},
                                                              {"-f", "failure"},
                                                              {"-b", "backlog_limit"},
                                                              {"-r", "rate_limit"},
                                                              {"--backlog_wait_time", "backlog_wait_time"}};
  auto value_of = [&](size_t& i) -> std::string {
    if (i + 1 >= words.size()) refuse(where, words[i] + " needs a value");
    return words[++i];
  };
  if (words.size() == 1 && words[0] == "-D") {
    result.kind = LineResult::Kind::kClear;
    return result;
  }
  if (auto setting = settings.find(words[0]); setting != settings.end()) {
    if (words.size() != 2) refuse(where, words[0] + " takes one value, alone on its line");
    const std::string& value = words[1];
    bool ok = setting->first == "-e" || setting->first == "-f" ? value == "0" || value == "1" || value == "2"
                                                               : is_number(value) && value[0] != '-';
    if (!ok) refuse(where, words[0] + " " + value + " is not a value auditctl takes");
    result.kind = LineResult::Kind::kSetting;
    result.setting = setting->second;
    result.value = decimal(value, where);
    return result;
  }
  if (words.size() == 1 && (words[0] == "-i" || words[0] == "-c" || words[0] == "--loginuid-immutable")) {
    // Error handling of auditctl (this reader errs on any error anyway) or
    // a setting no check reads.
    return result;
  }
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& option = words[i];
    if (option == "-a" || option == "-A") {
      if (have_list || watch) refuse(where, "a second -a, -A or -w on one line");
      std::string spec = value_of(i);
      size_t comma = spec.find(',');
      if (comma == std::string::npos) refuse(where, "-a " + spec + " is not list,action");
      std::string first = spec.substr(0, comma), second = spec.substr(comma + 1);
      auto is_action = [](const std::string& word) { return word == "always" || word == "never"; };
      if (is_action(second)) std::swap(first, second);
      static const std::set<std::string> lists = {"exit", "task", "user", "exclude", "filesystem", "io_uring"};
      if (!is_action(first) || lists.count(second) == 0)
        refuse(where, "-a " + spec + " is not an action (always, never) and a list auditctl knows");
      rule.action = first;
      rule.list = second;
      rule.prepend = option == "-A";
      have_list = true;
    } else if (option == "-w") {
      if (have_list || watch) refuse(where, "a second -a, -A or -w on one line");
      watch_path = watched_path(value_of(i), where);
      watch = true;
    } else if (option == "-p") {
      // After -a it is the rule's perm= field, as auditctl takes it.
      if (!watch && !have_list) refuse(where, "-p without -w or -a before it");
      watch_perm = normalized_perm(value_of(i), where);
      if (have_list) rule.fields.push_back(AuditField{"perm", "=", watch_perm});
    } else if (option == "-S") {
      if (!have_list) refuse(where, "-S before -a");
      if (rule.list == "io_uring") refuse(where, "-S on the io_uring list (its operations are not modelled)");
      if (rule.list != "exit") refuse(where, "-S on the " + rule.list + " list (auditctl refuses it)");
      std::string names = value_of(i);
      syscall_given = true;
      std::string arch = rule.arch.empty() ? "b64" : rule.arch;  // auditctl's default: the machine's (amd64)
      std::stringstream split(names);
      for (std::string name; std::getline(split, name, ',');) {
        if (name == "all") {
          syscalls.insert(name);
        } else if (!audit_syscall_known(name, arch)) {
          refuse(where, "syscall '" + name + "' is not one this reader knows for " + arch +
                            " (auditctl may refuse it, and stop loading there)");
        } else {
          syscalls.insert(name);
        }
      }
    } else if (option == "-F" || option == "-C") {
      if (!have_list && !watch) refuse(where, option + " before -a");
      std::string spec = value_of(i);
      if (option == "-F" && spec.rfind("key=", 0) == 0) {
        rule.keys.push_back(spec.substr(4));
        continue;
      }
      AuditField field = parse_audit_field(spec, option == "-C", where);
      if (field.name == "arch") {
        if (syscall_given) refuse(where, "arch given after -S (auditctl refuses it)");
        if (field.op != "=") refuse(where, "arch" + field.op + " is not modelled (only arch=)");
        rule.arch = field.value;
        continue;
      }
      if (field.name == "path" && field.value.back() == '/')
        refuse(where, "path=" + field.value + " ends in / (the kernel refuses it)");
      if (field.name == "path" || field.name == "dir") {
        field.value = watched_path(field.value, where);
        std::error_code ignored;
        if (field.name == "path" && !root.empty()) (void)watch_field_name(root, field.value, where);
        if (field.name == "dir" && !root.empty() && !fs::exists(under(root, field.value), ignored))
          refuse(where, "dir=" + field.value + " does not exist (the kernel refuses the rule)");
      }
      rule.fields.push_back(field);
    } else if (option == "-k") {
      if (!have_list && !watch) refuse(where, "-k without a watch or rule before it");
      std::string key = value_of(i);
      rule.keys.push_back(key);
    } else {
      refuse(where, "'" + option + "' is not an auditctl option this reader reads");
    }
  }
  if (!have_list && !watch) refuse(where, "neither a rule (-a, -A, -w) nor a setting");
  size_t key_length = 0;  // the keys go to the kernel joined by a separator, at most 256 bytes
  for (const auto& key : rule.keys) {
    if (key.empty() || key.find_first_of(" \x01") != std::string::npos) refuse(where, "key '" + key + "' is invalid");
    key_length += key.size() + (key_length ? 1 : 0);
  }
  if (key_length > 256) refuse(where, "the keys are longer than 256 bytes (auditctl refuses them)");
  if (watch) {
    rule.list = "exit";
    rule.action = "always";
    rule.fields.insert(rule.fields.begin(), {AuditField{watch_field_name(root, watch_path, where), "=", watch_path},
                                             AuditField{"perm", "=", watch_perm.empty() ? "rwxa" : watch_perm}});
  }
  // Without -S (or with -S all) a rule on the exit list is for every syscall.
  if (syscalls.count("all") == 0) rule.syscalls.assign(syscalls.begin(), syscalls.end());
  result.kind = LineResult::Kind::kRule;
  return result;
}

std::vector<std::string> words_of(const std::string& line, const std::string& where) {
  if (line.find_first_of(std::string("\t\r\\\0", 4)) != std::string::npos)
    refuse(where, "a tab, carriage return, backslash or NUL byte is not understood");
  std::vector<std::string> words;
  std::istringstream split(line);
  for (std::string word; split >> word;) words.push_back(word);
  return words;
}

// The kernel keeps one list of rules per filter and lists them in this order.
int list_order(const std::string& list) {
  static const std::vector<std::string> order = {"user", "task", "exit", "exclude", "filesystem", "io_uring"};
  return static_cast<int>(std::find(order.begin(), order.end(), list) - order.begin());
}

// Same rule as far as the kernel can tell (it refuses the second one, and
// auditctl -R stops there). Fields compare as sets: a rule the kernel might
// take is refused here rather than the other way round.
bool same_rule(const AuditRule& a, const AuditRule& b) {
  auto sorted = [](std::vector<AuditField> fields) {
    std::sort(fields.begin(), fields.end(), [](const AuditField& x, const AuditField& y) {
      return std::tie(x.name, x.op, x.value, x.comparison) < std::tie(y.name, y.op, y.value, y.comparison);
    });
    return fields;
  };
  return a.list == b.list && a.action == b.action && a.arch == b.arch && a.syscalls == b.syscalls && a.keys == b.keys &&
         sorted(a.fields) == sorted(b.fields);
}

// -a appends to the rule's list, -A puts it first there. The kernel refuses
// a rule given with -a that it already holds (as it was verified with
// auditctl 3.0.9), not one given with -A.
void add_rule(AuditRules& rules, LineResult& line) {
  for (const auto& held : rules.rules)
    if (!line.rule.prepend && same_rule(held, line.rule))
      refuse(line.rule.origin, "the same rule as " + held.origin + " (the kernel refuses it, auditctl stops there)");
  int order = list_order(line.rule.list);
  auto at = std::find_if(rules.rules.begin(), rules.rules.end(), [&](const AuditRule& held) {
    return line.rule.prepend ? list_order(held.list) >= order : list_order(held.list) > order;
  });
  rules.rules.insert(at, std::move(line.rule));
}

// coreutils' verrevcmp: digits compare as numbers, letters before other
// characters, '~' before everything.
int character_order(unsigned char c) {
  if (std::isdigit(c)) return 0;
  if (std::isalpha(c)) return c;
  if (c == '~') return -1;
  return static_cast<int>(c) + 256;
}

int version_compare(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    int first_difference = 0;
    while ((i < a.size() && !std::isdigit(static_cast<unsigned char>(a[i]))) ||
           (j < b.size() && !std::isdigit(static_cast<unsigned char>(b[j])))) {
      int x = i == a.size() ? 0 : character_order(static_cast<unsigned char>(a[i]));
      int y = j == b.size() ? 0 : character_order(static_cast<unsigned char>(b[j]));
      if (x != y) return x - y;
      ++i;
      ++j;
    }
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    while (i < a.size() && j < b.size() && std::isdigit(static_cast<unsigned char>(a[i])) &&
           std::isdigit(static_cast<unsigned char>(b[j]))) {
      if (!first_difference) first_difference = a[i] - b[j];
      ++i;
      ++j;
    }
    if (i < a.size() && std::isdigit(static_cast<unsigned char>(a[i]))) return 1;
    if (j < b.size() && std::isdigit(static_cast<unsigned char>(b[j]))) return -1;
    if (first_difference) return first_difference;
  }
  return 0;
}

// The length of a name without its suffix, coreutils' (\.[A-Za-z~][A-Za-z0-9~]*)*$.
size_t prefix_length(const std::string& name) {
  size_t prefix = name.size();
  bool in_suffix = false;
  for (size_t i = name.size(); i-- > 0;) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (c == '.' && i + 1 < name.size() &&
        (std::isalpha(static_cast<unsigned char>(name[i + 1])) || name[i + 1] == '~') &&
        (in_suffix || i + 1 <= prefix)) {
      prefix = i;
      in_suffix = true;
    } else if (!(std::isalnum(c) || c == '~' || c == '.')) {
      break;
    }
  }
  return prefix;
}

int filevercmp(const std::string& a, const std::string& b) {
  size_t a_prefix = prefix_length(a), b_prefix = prefix_length(b);
  int result = version_compare(a.substr(0, a_prefix), b.substr(0, b_prefix));
  if (result != 0 || (a_prefix == a.size() && b_prefix == b.size())) return result;
  return version_compare(a, b);
}

}  // namespace

AuditField parse_audit_field(const std::string& text, bool comparison, const std::string& where) {
  // auditctl looks for the two-character operators first, each anywhere in the text.
  static const char* operators[] = {"!=", ">=", "<=", "&=", "=", ">", "<", "&"};
  AuditField field;
  field.comparison = comparison;
  size_t at = std::string::npos;
  for (const char* op : operators) {
    at = text.find(op);
    if (at != std::string::npos) {
      field.op = op;
      break;
    }
  }
  if (at == std::string::npos || at == 0) refuse(where, "'" + text + "' is not name, operator, value");
  field.name = text.substr(0, at);
  field.value = text.substr(at + field.op.size());
  if (field.value.empty()) refuse(where, "'" + text + "' has no value");
  if (comparison) {
    // -C compares two id fields; auditctl -l lists the pair in its own order.
    if (!is_id_field(field.name) || !is_id_field(field.value) || (field.op != "=" && field.op != "!="))
      refuse(where, "-C " + text + " is not modelled (only = and != between uid and gid fields)");
    if (field.name == "loginuid") field.name = "auid";
    if (field.value == "loginuid") field.value = "auid";
    if (field.value < field.name) std::swap(field.name, field.value);
    return field;
  }
  if (field.name == "loginuid") field.name = "auid";
  if (field.name == "arch") {
    if (field.value == "b64" || field.value == "x86_64") {
      field.value = "b64";
    } else if (field.value == "b32" || field.value == "i386" || field.value == "i686") {
      field.value = "b32";
    } else {
      refuse(where, "arch '" + field.value + "' is not modelled (b64, x86_64, b32, i386)");
    }
    return field;
  }
  auto kind = field_kinds().find(field.name);
  if (kind == field_kinds().end()) refuse(where, "field '" + field.name + "' is not one this reader reads");
  if (field.name == "perm") {
    if (field.op != "=") refuse(where, "perm" + field.op + " (auditctl takes only perm=)");
    field.value = normalized_perm(field.value, where);
  } else if (field.name == "exit") {
    std::string value = field.value;
    bool negative = !value.empty() && value[0] == '-';
    auto named = errno_numbers().find(value.substr(negative ? 1 : 0));
    if (named != errno_numbers().end()) field.value = (negative ? "-" : "") + named->second;
  } else if (is_id_field(field.name) && (field.value == "unset" || field.value == "4294967295")) {
    field.value = "-1";
  }
  if (kind->second) {
    if (!is_number(field.value))
      refuse(where, field.name + " '" + field.value + "' is not a number (this reader does not look names up)");
    field.value = decimal(field.value, where);
  }
  return field;
}

bool audit_syscall_known(const std::string& name, const std::string& arch) {
  auto found = syscall_abis().find(name);
  return found != syscall_abis().end() && found->second.find(arch) != std::string::npos;
}

std::vector<std::string> augenrules_order(std::vector<std::string> names) {
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    int order = filevercmp(a, b);
    return order != 0 ? order < 0 : a < b;
  });
  return names;
}

AuditRules read_audit_rules_files(const fs::path& root) {
  const fs::path directory = "/etc/audit/rules.d";
  std::error_code failed;
  if (!fs::is_directory(under(root, directory), failed))
    throw std::runtime_error(directory.string() + " is not there (augenrules loads nothing from it)");
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(under(root, directory), failed)) {
    std::string name = entry.path().filename().string();
    // ls without -a leaves out dot files; augenrules keeps names ending in ".rules".
    if (name[0] == '.' || name.size() < 6 || name.compare(name.size() - 6, 6, ".rules") != 0) continue;
    if (name.find_first_of(" \t\n*?[") != std::string::npos)
      throw std::runtime_error(directory.string() + "/" + name +
                               ": a name with blanks or wildcards is split or expanded by augenrules' shell");
    std::error_code ignored;
    if (fs::is_directory(entry.path(), ignored)) continue;  // cat cannot read it, so augenrules adds nothing
    names.push_back(name);
  }
  if (failed) throw std::runtime_error("cannot list " + directory.string() + ": " + failed.message());
  struct Line {
    std::string text, where;
  };
  std::vector<Line> kept;
  std::optional<Line> last_e, last_b, last_f, last_clear;
  AuditRules rules;
  names = augenrules_order(names);
  for (size_t n = 0; n < names.size(); ++n) {
    std::string file = (directory / names[n]).string();
    std::string text = read_text(root, file);
    rules.files.push_back(file);
    if (!text.empty() && text.back() != '\n' && n + 1 < names.size())
      throw std::runtime_error(file + ": does not end with a newline (augenrules joins its last line to " +
                               names[n + 1] + "'s first)");
    std::istringstream lines(text);
    std::string line;
    for (int number = 1; std::getline(lines, line); ++number) {
      std::string where = file + ":" + std::to_string(number);
      if (line.empty() || line[0] == '#') continue;
      size_t first = line.find_first_not_of(' ');
      std::string start = first == std::string::npos ? "" : line.substr(first, 2);
      bool control = start == "-e" || start == "-b" || start == "-f" || start == "-D";
      if (control && first != 0) refuse(where, "an indented " + start + " line (mawk and gawk merge it differently)");
      if (start == "-D" && line != "-D" && line.find_first_not_of(" ", 2) == std::string::npos)
        refuse(where, "-D followed by blanks (mawk and gawk merge it differently)");
      if (line.compare(0, 2, "-e") == 0) {
        last_e = Line{line, where};
      } else if (line == "-D") {
        last_clear = Line{line, where};
      } else if (line.compare(0, 2, "-b") == 0) {
        last_b = Line{line, where};
      } else if (line.compare(0, 2, "-f") == 0) {
        last_f = Line{line, where};
      } else {
        kept.push_back(Line{line, where});
      }
    }
  }
  // augenrules' order: -D, -b, -f, the rest, -e.
  std::vector<Line> merged;
  for (const auto* line : {&last_clear, &last_b, &last_f})
    if (*line) merged.push_back(**line);
  merged.insert(merged.end(), kept.begin(), kept.end());
  if (last_e) merged.push_back(*last_e);
  for (const auto& line : merged) {
    auto words = words_of(line.text, line.where);
    if (words.empty() || words[0][0] == '#') continue;  // blank or comment to auditctl
    LineResult parsed = parse_line(words, line.text, line.where, root);
    // A bare -D only ever comes first, before any rule: nothing to clear.
    if (parsed.kind == LineResult::Kind::kRule) add_rule(rules, parsed);
    if (parsed.kind == LineResult::Kind::kSetting)
      rules.settings[parsed.setting] = ConfigValue{parsed.value, line.where};
  }
  return rules;
}

AuditRules parse_auditctl_listing(const std::string& listing, const std::string& status) {
  AuditRules rules;
  std::istringstream lines(listing);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    std::string where = "auditctl -l:" + std::to_string(number);
    if (line == "No rules") continue;
    auto words = words_of(line, where);
    if (words.empty()) continue;
    LineResult parsed = parse_line(words, line, where, "");
    if (parsed.kind != LineResult::Kind::kRule) refuse(where, "not a rule");
    rules.rules.push_back(std::move(parsed.rule));
  }
  std::istringstream status_lines(status);
  static const std::set<std::string> settings = {"enabled", "failure", "backlog_limit", "backlog_wait_time",
                                                 "rate_limit"};
  for (int number = 1; std::getline(status_lines, line); ++number) {
    std::istringstream words(line);
    std::string name, value;
    words >> name >> value;
    if (settings.count(name)) rules.settings[name] = ConfigValue{value, "auditctl -s:" + std::to_string(number)};
  }
  return rules;
}

}  // namespace vigil::policy

namespace vigil::policy {
namespace {

bool has(const std::vector<std::string>& words, const std::string& word) {
  return std::find(words.begin(), words.end(), word) != words.end();
}

bool watches(const AuditField& field, const std::string& path) {
  return (field.name == "path" || field.name == "dir") && field.op == "=" && !field.comparison && field.value == path;
}

// Every event `want` asks for (this syscall, "" for all, on this arch) is logged by `rule`.
bool covers(const AuditRule& rule, const AuditWant& want, const std::string& arch, const std::string& syscall) {
  if (rule.list != "exit" || rule.action != "always") return false;
  // A rule with syscalls but no arch holds the machine's syscall numbers, which other arches read differently.
  if (rule.arch != arch && !(rule.arch.empty() && rule.syscalls.empty())) return false;
  if (!rule.syscalls.empty() && (syscall.empty() || !has(rule.syscalls, syscall))) return false;
  if (!want.key.empty() && !has(rule.keys, want.key)) return false;
  bool watched = want.watch.empty();
  for (const auto& field : rule.fields) {
    if (!want.watch.empty() && watches(field, want.watch)) {
      watched = true;
    } else if (!want.watch.empty() && field.name == "perm") {
      for (char letter : want.permissions)
        if (field.value.find(letter) == std::string::npos) return false;
    } else if (std::find(want.fields.begin(), want.fields.end(), field) == want.fields.end()) {
      return false;  // narrower than what is wanted
    }
  }
  return watched;
}

// A never rule of the exit list that may stop events of this syscall and arch.
bool may_stop(const AuditRule& rule, const std::string& arch, const std::string& syscall) {
  if (rule.list != "exit" || rule.action != "never") return false;
  if (!rule.arch.empty() && rule.arch != arch) return false;
  return rule.syscalls.empty() || syscall.empty() || has(rule.syscalls, syscall);
}

}  // namespace

AuditCoverage audit_coverage(const AuditRules& rules, const AuditWant& want) {
  AuditCoverage coverage;
  for (const auto& rule : rules.rules) {
    if (rule.list == "task" || rule.list == "exclude" || rule.list == "filesystem")
      throw std::runtime_error(rule.text + " (" + rule.origin + ") may keep events from being logged (rules on the " +
                               rule.list + " list are not modelled)");
  }
  std::vector<std::string> syscalls = want.syscalls.empty() ? std::vector<std::string>{""} : want.syscalls;
  for (const auto& arch : want.arches) {
    for (const auto& syscall : syscalls) {
      if (!syscall.empty() && !audit_syscall_known(syscall, arch)) continue;  // the arch has no such syscall
      std::string what = syscall.empty() ? arch : syscall + " (" + arch + ")";
      auto found = std::find_if(rules.rules.begin(), rules.rules.end(),
                                [&](const AuditRule& rule) { return covers(rule, want, arch, syscall); });
      for (auto rule = rules.rules.begin(); rule != rules.rules.end(); ++rule) {
        if (rule == found) break;
        if (may_stop(*rule, arch, syscall))
          throw std::runtime_error(rule->text + " (" + rule->origin + ") may keep " + what +
                                   " events from being logged (never rules before the matching one are not "
                                   "modelled)");
      }
      if (found == rules.rules.end()) {
        coverage.missing.push_back(what);
        for (const auto& rule : rules.rules) {
          bool on_it = want.watch.empty()
                           ? has(rule.syscalls, syscall)
                           : std::any_of(rule.fields.begin(), rule.fields.end(),
                                         [&](const AuditField& field) { return watches(field, want.watch); });
          if (on_it && rule.list == "exit" && rule.action == "always" &&
              std::find(coverage.close.begin(), coverage.close.end(), &rule) == coverage.close.end())
            coverage.close.push_back(&rule);
        }
      } else if (std::find(coverage.matching.begin(), coverage.matching.end(), &*found) == coverage.matching.end()) {
        coverage.matching.push_back(&*found);
      }
    }
  }
  return coverage;
}

std::string audit_rule_canonical(const AuditRule& rule) {
  std::vector<std::string> fields;
  for (const auto& field : rule.fields)
    fields.push_back((field.comparison ? "-C " : "-F ") + (field.name == "dir" ? "path" : field.name) + field.op +
                     field.value);
  std::sort(fields.begin(), fields.end());
  std::string text = "-a " + rule.action + "," + rule.list + (rule.arch.empty() ? "" : " -F arch=" + rule.arch);
  text += " -S ";
  for (const auto& name : rule.syscalls) text += name + ",";
  for (const auto& field : fields) text += " " + field;
  for (const auto& key : rule.keys) text += " -k " + key;
  return text;
}

}  // namespace vigil::policy
