// sudoers as Debian 12's sudo (1.9.13) reads it: logical lines (a backslash at
// the end of a line continues it), comments from a '#' that starts a word
// (but "#123" is a user id, and "#include" / "#includedir" at the start of a
// line are includes), @include / @includedir read in place, Defaults in every
// form with their names and values checked as sudo checks them, the four kinds
// of aliases, and user specifications with their runas lists, tags, options
// and commands. What this reader cannot interpret exactly throws
// std::runtime_error naming the file:line and the construct, so a check errs
// instead of reporting what sudo would not do.
#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>
#include <stdexcept>

#include "logical_lines.h"
#include "vigil/policy/config_formats.h"
#include "vigil/text/text.h"

namespace vigil::policy {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxDepth = 128;  // sudo's limit on nested includes

enum class Type { kFlag, kString, kPath, kUint, kInt, kMinutes, kSeconds, kMode, kTuple, kList, kFacility, kPriority };

struct Setting {
  std::string_view name;
  Type type;
  bool negatable;                       // "!name" is allowed besides a flag's
  std::vector<std::string_view> words;  // a tuple's values; "!name" is the first, "name" the second
};

// The Defaults settings of sudo 1.9.13 this reader reads; one row each, so
// longer than a function should be.
const std::vector<Setting>& settings() {
  static const std::vector<Setting> table = [] {
    std::vector<Setting> rows;
    for (std::string_view flag : {"long_otp_prompt",
                                  "ignore_dot",
                                  "mail_always",
                                  "mail_badpass",
                                  "mail_no_user",
                                  "mail_no_host",
                                  "mail_no_perms",
                                  "mail_all_cmnds",
                                  "tty_tickets",
                                  "authenticate",
                                  "root_sudo",
                                  "log_host",
                                  "log_year",
                                  "shell_noargs",
                                  "set_home",
                                  "always_set_home",
                                  "path_info",
                                  "fqdn",
                                  "insults",
                                  "requiretty",
                                  "env_editor",
                                  "rootpw",
                                  "runaspw",
                                  "targetpw",
                                  "use_loginclass",
                                  "set_logname",
                                  "stay_setuid",
                                  "preserve_groups",
                                  "closefrom_override",
                                  "passprompt_override",
                                  "noexec",
                                  "ignore_local_sudoers",
                                  "setenv",
                                  "env_reset",
                                  "visiblepw",
                                  "pwfeedback",
                                  "fast_glob",
                                  "umask_override",
                                  "log_input",
                                  "log_output",
                                  "log_stdin",
                                  "log_ttyin",
                                  "log_stdout",
                                  "log_stderr",
                                  "log_ttyout",
                                  "compress_io",
                                  "use_pty",
                                  "set_utmp",
                                  "utmp_runas",
                                  "exec_background",
                                  "pam_setcred",
                                  "pam_session",
                                  "pam_acct_mgmt",
                                  "use_netgroups",
                                  "sudoedit_checkdir",
                                  "sudoedit_follow",
                                  "always_query_group_plugin",
                                  "netgroup_tuple",
                                  "ignore_audit_errors",
                                  "ignore_iolog_errors",
                                  "ignore_logfile_errors",
                                  "match_group_by_gid",
                                  "ignore_unknown_defaults",
                                  "user_command_timeouts",
                                  "iolog_flush",
                                  "syslog_pid",
                                  "case_insensitive_user",
                                  "case_insensitive_group",
                                  "log_allowed",
                                  "log_denied",
                                  "log_server_keepalive",
                                  "log_server_verify",
                                  "runas_allow_unknown_id",
                                  "runas_check_shell",
                                  "pam_ruser",
                                  "pam_rhost",
                                  "selinux",
                                  "intercept",
                                  "log_subcmds",
                                  "log_exit_status",
                                  "log_passwords",
                                  "intercept_allow_setid",
                                  "intercept_authenticate",
                                  "intercept_verify",
                                  "noninteractive_auth"})
      rows.push_back({flag, Type::kFlag, true, {}});
    for (std::string_view name :
         {"mailerflags", "mailto", "mailfrom", "exempt_group", "secure_path", "iolog_user", "iolog_group"})
      rows.push_back({name, Type::kString, true, {}});
    for (std::string_view name : {"mailsub", "badpass_message", "timestampowner", "passprompt", "runas_default", "role",
                                  "type", "group_plugin", "iolog_file", "privs", "limitprivs", "pam_service",
                                  "pam_login_service", "pam_askpass_service", "authfail_message", "apparmor_profile"})
      rows.push_back({name, Type::kString, false, {}});
    for (std::string_view name : {"lecture_file", "logfile", "mailerpath", "env_file", "restricted_env_file",
                                  "log_server_cabundle", "log_server_peer_cert", "log_server_peer_key"})
      rows.push_back({name, Type::kPath, true, {}});
    for (std::string_view name : {"lecture_status_dir", "timestampdir", "iolog_dir"})
      rows.push_back({name, Type::kPath, false, {}});
    rows.push_back({"loglinelen", Type::kUint, true, {}});
    rows.push_back({"passwd_tries", Type::kUint, false, {}});
    rows.push_back({"syslog_maxlen", Type::kUint, false, {}});
    rows.push_back({"maxseq", Type::kUint, false, {}});
    rows.push_back({"closefrom", Type::kInt, false, {}});
    rows.push_back({"timestamp_timeout", Type::kMinutes, true, {}});
    rows.push_back({"passwd_timeout", Type::kMinutes, true, {}});
    rows.push_back({"command_timeout", Type::kSeconds, true, {}});
    rows.push_back({"log_server_timeout", Type::kSeconds, true, {}});
    rows.push_back({"umask", Type::kMode, true, {}});
    rows.push_back({"iolog_mode", Type::kMode, false, {}});
    rows.push_back({"lecture", Type::kTuple, true, {"never", "once", "always"}});
    rows.push_back({"listpw", Type::kTuple, true, {"never", "any", "all", "always"}});
    rows.push_back({"verifypw", Type::kTuple, true, {"never", "all", "any", "always"}});
    rows.push_back({"fdexec", Type::kTuple, true, {"never", "digest_only", "always"}});
    rows.push_back({"timestamp_type", Type::kTuple, false, {"global", "ppid", "tty", "kernel"}});
    rows.push_back({"log_format", Type::kTuple, false, {"sudo", "json"}});
    rows.push_back({"intercept_type", Type::kTuple, false, {"dso", "trace"}});
    for (std::string_view name : {"env_check", "env_delete", "env_keep", "log_servers", "passprompt_regex"})
      rows.push_back({name, Type::kList, true, {}});
    rows.push_back({"syslog", Type::kFacility, true, {}});
    rows.push_back({"syslog_goodpri", Type::kPriority, true, {}});
    rows.push_back({"syslog_badpri", Type::kPriority, true, {}});
    return rows;
  }();
  return table;
}

const Setting* find_setting(const std::string& name) {
  for (const Setting& setting : settings())
    if (setting.name == name) return &setting;
  return nullptr;
}

bool all_digits(const std::string& text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// Whether sudo takes `value` for the setting; "" when it does, else why not.
std::string value_problem(const Setting& setting, const std::string& value) {
  switch (setting.type) {
    case Type::kFlag: return "takes no value";
    case Type::kString:
    case Type::kList: return "";
    case Type::kPath: return !value.empty() && value.front() == '/' ? "" : "must be an absolute path";
    case Type::kUint:
      return all_digits(value) && value.size() < 10 ? "" : "is not a plain decimal number (not understood)";
    case Type::kInt: {
      std::string digits = !value.empty() && value.front() == '-' ? value.substr(1) : value;
      return all_digits(digits) && digits.size() < 10 ? "" : "is not a plain decimal number (not understood)";
    }
    case Type::kMinutes: {
      std::string number = !value.empty() && value.front() == '-' ? value.substr(1) : value;
      size_t dot = number.find('.');
      bool ok = dot == std::string::npos ? all_digits(number)
                                         : all_digits(number.substr(0, dot)) && all_digits(number.substr(dot + 1));
      return ok && number.size() < 10 ? "" : "is not a decimal number of minutes such as 15 or 2.5 (not understood)";
    }
    case Type::kSeconds:
      return all_digits(value) && value.size() < 10 ? "" : "is not a number of seconds (not understood)";
    case Type::kMode:
      return !value.empty() && value.size() <= 4 && value.find_first_not_of("01234567") == std::string::npos &&
                     std::stoi(value, nullptr, 8) <= 0777
                 ? ""
                 : "is not an octal mode up to 0777";
    case Type::kTuple:
      return std::find(setting.words.begin(), setting.words.end(), value) != setting.words.end()
                 ? ""
                 : "is not one it takes";
    case Type::kFacility: {
      static const std::set<std::string> kFacilities = {"authpriv", "auth",   "daemon", "user",   "local0", "local1",
                                                        "local2",   "local3", "local4", "local5", "local6", "local7"};
      return kFacilities.count(value) ? "" : "is not a syslog facility it takes";
    }
    case Type::kPriority: {
      static const std::set<std::string> kPriorities = {"alert", "crit", "debug",  "emerg",
                                                        "err",   "info", "notice", "warning"};
      return kPriorities.count(value) ? "" : "is not a syslog priority it takes";
    }
  }
  return "is not understood";
}

// Lines joined at a trailing backslash; a comment is left in place for the parser.
std::vector<LogicalLine> sudoers_lines(const std::string& content, const std::string& file) {
  return logical_lines(content, file, [](std::string physical, const std::string& where, bool open) {
    bool more = !physical.empty() && physical.back() == '\\';
    if (more) physical.pop_back();
    // A comment ends at the end of its physical line: a backslash there is not read here.
    if ((more || open) && physical.find('#') != std::string::npos)
      throw std::runtime_error(where + ": a '#' in a continued line is not understood");
    if (more) physical += ' ';
    return LinePart{false, physical, more};
  });
}

bool blank(char c) {
  return c == ' ' || c == '\t';
}

bool alias_name(const std::string& word) {
  if (word.empty() || !std::isupper(static_cast<unsigned char>(word[0]))) return false;
  return std::all_of(word.begin(), word.end(), [](char c) {
    return std::isupper(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
  });
}

const std::set<std::string>& tag_names() {
  static const std::set<std::string> kTags = {
      "NOPASSWD",   "PASSWD",       "NOEXEC", "EXEC",   "SETENV", "NOSETENV", "LOG_INPUT", "NOLOG_INPUT",
      "LOG_OUTPUT", "NOLOG_OUTPUT", "MAIL",   "NOMAIL", "FOLLOW", "NOFOLLOW", "INTERCEPT", "NOINTERCEPT"};
  return kTags;
}

const std::set<std::string>& option_names() {
  static const std::set<std::string> kOptions = {"ROLE",     "TYPE",    "CWD",   "CHROOT",     "NOTBEFORE",
                                                 "NOTAFTER", "TIMEOUT", "PRIVS", "LIMITPRIVS", "APPARMOR_PROFILE"};
  return kOptions;
}

// One logical line, read left to right.
class Line {
 public:
  Line(std::string text, std::string where) : text_(std::move(text)), where_(std::move(where)) {}

  [[noreturn]] void problem(const std::string& what) const {
    throw std::runtime_error(where_ + ": " + what + " (column " + std::to_string(at_ + 1) + ")");
  }

  // Skips blanks and a comment; true at the end of the line.
  bool end() {
    while (at_ < text_.size() && blank(text_[at_])) ++at_;
    if (at_ < text_.size() && text_[at_] == '#' && !uid_here()) at_ = text_.size();
    return at_ == text_.size();
  }
  char peek() { return end() ? '\0' : text_[at_]; }
  bool take(char c) {
    if (peek() != c) return false;
    ++at_;
    return true;
  }
  void expect(char c, const std::string& what) {
    if (!take(c)) problem("expected '" + std::string(1, c) + "' " + what);
  }
  // The character right here, blanks not skipped.
  char here() const { return at_ < text_.size() ? text_[at_] : '\0'; }
  void skip() { ++at_; }

  // A name, user, host or value: up to a blank or one of `stops`; a backslash
  // escapes the next character, a double-quoted part keeps everything.
  std::string word(const std::string& stops, bool keep_escapes = false) {
    end();
    std::string out;
    while (at_ < text_.size()) {
      char c = text_[at_];
      if (blank(c) || stops.find(c) != std::string::npos) break;
      if (c == '\\') {
        if (at_ + 1 == text_.size()) problem("a backslash at the end of a line is not understood");
        if (keep_escapes) out += c;
        out += text_[at_ + 1];
        at_ += 2;
        continue;
      }
      if (c == '"') {
        size_t close = at_ + 1;
        std::string quoted;
        for (; close < text_.size() && text_[close] != '"'; ++close) {
          if (text_[close] == '\\' && close + 1 < text_.size()) ++close;
          quoted += text_[close];
        }
        if (close == text_.size()) problem("a '\"' without its closing one");
        out += quoted;
        at_ = close + 1;
        continue;
      }
      out += c;
      ++at_;
    }
    return out;
  }

  // Everything up to an unescaped ',' or ':' (a command's arguments), trimmed, escapes kept.
  std::string arguments() {
    end();
    std::string out;
    while (at_ < text_.size() && text_[at_] != ',' && text_[at_] != ':') {
      if (text_[at_] == '#' && blank(text_[at_ - 1]) && !uid_here()) break;
      if (text_[at_] == '\\' && at_ + 1 < text_.size()) out += text_[at_++];
      out += text_[at_++];
    }
    return trimmed(out);
  }

  const std::string& where() const { return where_; }
  std::string rest() const { return text_.substr(at_); }

 private:
  // "#123" or "#-1": a user or group id, not a comment.
  bool uid_here() const {
    size_t next = at_ + 1;
    if (next < text_.size() && text_[next] == '-') ++next;
    return next < text_.size() && std::isdigit(static_cast<unsigned char>(text_[next]));
  }

  std::string text_;
  std::string where_;
  size_t at_ = 0;
};

class Reader {
 public:
  Reader(const fs::path& root, Sudoers& out) : root_(root), out_(out) {}

  void read(const fs::path& file, const std::string& where) {
    if (std::find(stack_.begin(), stack_.end(), file.string()) != stack_.end())
      throw std::runtime_error(where + ": including " + file.string() + " makes a loop");
    if (static_cast<int>(stack_.size()) >= kMaxDepth)
      throw std::runtime_error(where + ": includes nested deeper than sudo's 128 levels");
    std::error_code ignored;
    if (!fs::is_regular_file(under(root_, file), ignored))
      throw std::runtime_error((where.empty() ? "" : where + ": ") + file.string() +
                               " does not exist (visudo refuses it)");
    stack_.push_back(file.string());
    out_.files.push_back(file.string());
    std::string content = read_text(root_, file);
    for (const LogicalLine& logical : sudoers_lines(content, file.string()))
      line(logical.text, file, file.string() + ":" + std::to_string(logical.number));
    stack_.pop_back();
  }

 private:
  void line(const std::string& text, const fs::path& file, const std::string& where) {
    // Includes: "#include" only at the very start of a line, "@include" after blanks too.
    size_t start = text.find_first_not_of(" \t");
    if (start == std::string::npos) return;
    for (const char* keyword : {"#includedir", "#include", "@includedir", "@include"}) {
      std::string_view word(keyword);
      size_t at = word.front() == '#' ? 0 : start;
      if (text.compare(at, word.size(), word) != 0) continue;
      char after = at + word.size() < text.size() ? text[at + word.size()] : '\0';
      if (!blank(after)) {
        if (word.front() == '#' && word == "#include") break;  // "#includes" and the like: a comment
        continue;
      }
      include(text.substr(at + word.size()), word.find("dir") != std::string_view::npos, file, where);
      return;
    }
    Line line(text, where);
    if (line.end()) return;
    std::string first = line.word(":@!>=,()");
    if (first == "Defaults") {
      defaults(line);
    } else if (first == "User_Alias" || first == "Host_Alias" || first == "Runas_Alias" || first == "Cmnd_Alias" ||
               first == "Cmd_Alias") {
      aliases(line, first);
    } else if (first.empty()) {
      line.problem("a line starting with '" + std::string(1, line.peek()) + "' is not understood");
    } else {
      user_spec(line, first);
    }
  }

  void include(const std::string& rest, bool directory, const fs::path& file, const std::string& where) {
    Line words(rest, where);
    std::string name = words.word("");
    if (name.empty()) words.problem("an include without a path");
    if (!words.end()) words.problem("an include takes one path");
    if (name.find('%') != std::string::npos)
      throw std::runtime_error(where + ": '%' escapes in an include path (such as %h) are not understood");
    fs::path path = name.front() == '/' ? fs::path(name) : file.parent_path() / name;
    path = path.lexically_normal();
    if (!directory) {
      read(path, where);
      return;
    }
    std::error_code ignored;
    if (!fs::is_directory(under(root_, path), ignored)) return;  // sudo skips a directory that is not there
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(under(root_, path), ignored)) {
      std::string leaf = entry.path().filename().string();
      if (leaf.empty() || leaf.back() == '~' || leaf.find('.') != std::string::npos) continue;
      if (!fs::is_regular_file(entry.path(), ignored)) continue;
      names.push_back(leaf);
    }
    std::sort(names.begin(), names.end());
    for (const auto& leaf : names) read(path / leaf, where);
  }

  // "Defaults", "Defaults:users", "Defaults@hosts", "Defaults!commands", "Defaults>runas", then settings.
  void defaults(Line& line) {
    std::string binding;
    char kind = line.here();
    if (kind == ':' || kind == '@' || kind == '!' || kind == '>') {
      line.skip();
      binding = std::string(1, kind) + list(line, kind == '!' ? "" : "=");
      if (binding.size() == 1) line.problem("Defaults" + binding + " without a list");
    } else if (kind != ' ' && kind != '\t') {
      line.problem("Defaults followed by '" + std::string(1, kind) + "' is not understood");
    }
    do {
      SudoersDefault setting;
      setting.binding = binding;
      setting.origin = line.where();
      int negations = 0;
      while (line.take('!')) ++negations;
      if (negations > 1) line.problem("more than one '!' before a Defaults setting is not understood");
      setting.name = line.word("=+-,!");
      if (setting.name.empty()) line.problem("a Defaults line without a setting");
      const Setting* known = find_setting(setting.name);
      if (!known) {
        if (setting.name.rfind("rlimit_", 0) == 0)
          line.problem("Defaults " + setting.name + " (resource limits) is not understood");
        if (setting.name == "sudoers_locale") line.problem("Defaults sudoers_locale is not understood");
        line.problem("unknown Defaults setting \"" + setting.name + "\" (visudo refuses it)");
      }
      if (negations) setting.op = "!";
      char c = line.peek();
      if (c == '+' || c == '-') {
        line.skip();
        if (line.here() != '=') line.problem("'" + std::string(1, c) + "' without '='");
        line.skip();
        setting.op = std::string(1, c) + "=";
      } else if (c == '=') {
        line.skip();
        setting.op = "=";
      }
      if (negations && setting.op != "!") line.problem("a negated Defaults setting takes no value");
      if (setting.op == "=" || setting.op == "+=" || setting.op == "-=") {
        if (known->type == Type::kFlag)
          line.problem("Defaults " + setting.name + " takes no value (visudo refuses it)");
        if (setting.op != "=" && known->type != Type::kList)
          line.problem("'" + setting.op + "' on Defaults " + setting.name + ", which is not a list");
        if (line.end()) line.problem("Defaults " + setting.name + " without a value");
        setting.value = line.word(",");
        if (std::string why = value_problem(*known, setting.value); !why.empty())
          line.problem("value \"" + setting.value + "\" of Defaults " + setting.name + " " + why);
      } else if (setting.op == "!") {
        if (!known->negatable && known->type != Type::kFlag)
          line.problem("Defaults !" + setting.name + " is not understood (it cannot be negated)");
      } else if (known->type == Type::kFacility) {
        line.problem("Defaults " + setting.name + " without a value is not understood");
      } else if (known->type != Type::kFlag && !(known->type == Type::kTuple && known->negatable)) {
        line.problem("Defaults " + setting.name + " without a value (visudo refuses it)");
      }
      out_.defaults.push_back(setting);
    } while (line.take(','));
    if (!line.end()) line.problem("\"" + line.rest() + "\" after the Defaults settings is not understood");
  }

  // A comma-separated list of users, hosts or commands (each may start with '!'), as written.
  std::string list(Line& line, const std::string& stops) {
    std::string written;
    do {
      std::string item;
      while (line.take('!')) item += '!';
      std::string word = line.word(",:=()!" + stops, true);
      if (word.empty()) line.problem("an empty entry in a list");
      item += word;
      if (!is_valid_member(word)) line.problem("\"" + word + "\" is not understood in a list");
      written += (written.empty() ? "" : ",") + item;
    } while (line.take(','));
    return written;
  }

  static bool is_valid_member(const std::string& word) {
    if (word == "ALL") return true;
    // "%group", "%:group", "%#gid", "+netgroup", "#uid", a name, an address or network, a command path.
    return word.find_first_of("\"'") == std::string::npos;
  }

  void aliases(Line& line, const std::string& kind) {
    do {
      std::string name = line.word("=:,");
      if (!alias_name(name) || name == "ALL")
        line.problem("\"" + name + "\" is not an alias name (capitals, digits and '_')");
      if (!defined_.insert(kind.substr(0, 3) + ":" + name).second)
        line.problem("alias \"" + name + "\" is defined twice (visudo refuses it)");
      line.expect('=', "after the alias name");
      if (kind == "Cmnd_Alias" || kind == "Cmd_Alias") {
        do {
          while (line.take('!')) {
          }
          command(line);
        } while (line.take(','));
      } else {
        list(line, "");
      }
    } while (line.take(':'));
    if (!line.end()) line.problem("\"" + line.rest() + "\" after the alias is not understood");
  }

  // A command: ALL, an alias, sudoedit or a path with arguments.
  std::string command(Line& line) {
    std::string word = line.word(",:=()!");
    if (word.empty()) line.problem("a command is missing");
    static const std::set<std::string> kDigests = {"sha224", "sha256", "sha384", "sha512"};
    if (kDigests.count(word) && line.here() == ':') line.problem("a command digest (" + word + ":) is not understood");
    if (word == "ALL" || alias_name(word)) return word;
    if (word != "sudoedit" && word != "list" && word.front() != '/')
      line.problem("command \"" + word + "\" is not a full path, ALL, an alias or sudoedit");
    std::string args = line.arguments();
    return args.empty() ? word : word + " " + args;
  }

  // users hosts = [(runas)] [options] [TAGS:] commands, ... [: hosts = ...]
  void user_spec(Line& line, const std::string& first) {
    std::string users = first;
    if (!is_valid_member(first)) line.problem("\"" + first + "\" is not understood");
    if (line.take(',')) users += "," + list(line, "");
    do {
      std::string hosts = list(line, "");
      line.expect('=', "after the host list");
      std::string runas;
      std::vector<std::string> tags;
      do {
        if (line.peek() == '(') {
          line.skip();
          runas = "";
          if (line.peek() != ')' && line.peek() != ':') runas = list(line, "");
          if (line.take(':')) {
            std::string groups = line.peek() == ')' ? "" : list(line, "");
            runas += ":" + groups;
          }
          line.expect(')', "after the runas list");
          runas = "(" + runas + ")";
        }
        // Options (KEY=value) and tags (TAG:) before the command.
        for (;;) {
          if (line.end()) line.problem("a user specification without a command");
          std::string rest = line.rest();
          size_t name_end = 0;
          while (name_end < rest.size() &&
                 (std::isupper(static_cast<unsigned char>(rest[name_end])) || rest[name_end] == '_'))
            ++name_end;
          std::string name = rest.substr(0, name_end);
          char after = name_end < rest.size() ? rest[name_end] : '\0';
          if (after == ':' && tag_names().count(name)) {
            (void)line.word(":");
            line.skip();
            std::string opposite = name.rfind("NO", 0) == 0 ? name.substr(2) : "NO" + name;
            if (name == "PASSWD") opposite = "NOPASSWD";
            if (name == "NOPASSWD") opposite = "PASSWD";
            tags.erase(std::remove(tags.begin(), tags.end(), opposite), tags.end());
            if (std::find(tags.begin(), tags.end(), name) == tags.end()) tags.push_back(name);
            continue;
          }
          if (after == '=' && option_names().count(name)) {
            (void)line.word("=");
            line.skip();
            if (line.word(",:=()!").empty()) line.problem(name + "= without a value");
            continue;
          }
          break;
        }
        SudoersCommand granted;
        granted.users = users;
        granted.hosts = hosts;
        granted.runas = runas;
        granted.tags = tags;
        granted.origin = line.where();
        int negations = 0;
        while (line.take('!')) ++negations;
        granted.negated = negations % 2 == 1;
        granted.command = command(line);
        out_.commands.push_back(granted);
      } while (line.take(','));
    } while (line.take(':'));
    if (!line.end()) line.problem("\"" + line.rest() + "\" in a user specification is not understood");
  }

  const fs::path& root_;
  Sudoers& out_;
  std::vector<std::string> stack_;  // the files being read, outermost first
  std::set<std::string> defined_;   // "Use:NAME", "Hos:NAME", ... aliases defined so far
};

}  // namespace

Sudoers read_sudoers(const std::filesystem::path& root, const std::filesystem::path& file) {
  Sudoers sudoers;
  Reader(root, sudoers).read(file, "");
  return sudoers;
}

bool sudoers_known_default(const std::string& name) {
  return find_setting(name) != nullptr;
}

std::vector<std::string> sudoers_default_names() {
  std::vector<std::string> names;
  for (const Setting& setting : settings()) names.emplace_back(setting.name);
  return names;
}

std::optional<ConfigValue> sudoers_value(const std::vector<SudoersDefault>& defaults, const std::string& name,
                                         const std::string& binding) {
  const Setting* setting = find_setting(name);
  if (!setting) throw std::runtime_error("unknown Defaults setting \"" + name + "\"");
  std::optional<ConfigValue> value;
  std::vector<std::string> words;
  for (const SudoersDefault& entry : defaults) {
    if (entry.name != name || entry.binding != binding) continue;
    if (setting->type == Type::kFlag) {
      value = ConfigValue{entry.op == "!" ? "off" : "on", entry.origin};
    } else if (setting->type == Type::kTuple && (entry.op == "!" || entry.op.empty())) {
      value = ConfigValue{std::string(setting->words[entry.op == "!" ? 0 : 1]), entry.origin};
    } else if (setting->type == Type::kList) {
      if (entry.op == "=" || entry.op == "!") words.clear();
      if ((entry.op == "+=" || entry.op == "-=") && !value)
        throw std::runtime_error(entry.origin + ": Defaults " + name + " " + entry.op +
                                 " edits sudo's built-in list, which is not understood");
      std::istringstream in(entry.value);
      for (std::string word; in >> word;) {
        words.erase(std::remove(words.begin(), words.end(), word), words.end());
        if (entry.op != "-=") words.push_back(word);
      }
      std::string joined;
      for (const auto& word : words) joined += (joined.empty() ? "" : " ") + word;
      value = ConfigValue{joined, entry.origin};
    } else if (entry.op == "!") {
      if (setting->type == Type::kUint || setting->type == Type::kInt || setting->type == Type::kMinutes ||
          setting->type == Type::kSeconds)
        value = ConfigValue{"0", entry.origin};
      else if (setting->type == Type::kMode)
        value = ConfigValue{"0777", entry.origin};
      else
        value.reset();  // a string setting switched off
    } else if (setting->type == Type::kMinutes && !entry.value.empty() && entry.value.front() == '-') {
      value = ConfigValue{"never", entry.origin};  // a negative timeout never expires
    } else {
      value = ConfigValue{entry.value, entry.origin};
    }
  }
  return value;
}

}  // namespace vigil::policy
