// PAM configuration as Debian 12's Linux-PAM (1.5.2) reads it: logical lines
// (comments from '#' to the end of a line, a trailing backslash continues the
// line, blank and comment lines in between are skipped), words split at
// blanks with a word starting with '[' running to the first ']' not written
// "\]", "type control module args..." with a '-' before the type, a control
// keyword or "[value=action ...]", "@include service" and the include and
// substack controls expanded in place. What this reader cannot interpret
// exactly throws std::runtime_error naming the file:line and the construct,
// so a check errs instead of reporting a stack PAM would not run.
#include <algorithm>
#include <cctype>
#include <climits>
#include <sstream>
#include <stdexcept>

#include "logical_lines.h"
#include "vigil/policy/config_formats.h"
#include "vigil/text/text.h"

namespace vigil::policy {
namespace {

namespace fs = std::filesystem;

constexpr int kIgnore = 0, kOk = -1, kDone = -2, kBad = -3, kDie = -4, kReset = -5, kUnset = -6;
constexpr size_t kMaxLine = 1023;  // PAM 1.5.2 assembles a line in a buffer of 1024 bytes
constexpr int kMaxIncludes = 16;   // PAM's limit on nested includes

// PAM's return values by the names a bracket control uses, in PAM's order; "default" is the last.
constexpr std::string_view kReturns[] = {"success",
                                         "open_err",
                                         "symbol_err",
                                         "service_err",
                                         "system_err",
                                         "buf_err",
                                         "perm_denied",
                                         "auth_err",
                                         "cred_insufficient",
                                         "authinfo_unavail",
                                         "user_unknown",
                                         "maxtries",
                                         "new_authtok_reqd",
                                         "acct_expired",
                                         "session_err",
                                         "cred_unavail",
                                         "cred_expired",
                                         "cred_err",
                                         "no_module_data",
                                         "conv_err",
                                         "authtok_err",
                                         "authtok_recover_err",
                                         "authtok_lock_busy",
                                         "authtok_disable_aging",
                                         "try_again",
                                         "ignore",
                                         "abort",
                                         "authtok_expired",
                                         "module_unknown",
                                         "bad_item",
                                         "conv_again",
                                         "incomplete",
                                         "default"};
static_assert(std::size(kReturns) == 33);

constexpr std::pair<std::string_view, int> kActions[] = {{"ignore", kIgnore}, {"ok", kOk},   {"done", kDone},
                                                         {"bad", kBad},       {"die", kDie}, {"reset", kReset}};

void set_default(std::array<int, 32>& actions, int action) {
  for (int& slot : actions)
    if (slot == kUnset) slot = action;
}

std::array<int, 32> unset() {
  std::array<int, 32> actions{};
  actions.fill(kUnset);
  return actions;
}

// "value=action ..." as PAM parses it, where PAM would fall back to "bad" for
// every value (a malformed control), this throws.
void parse_brackets(const std::string& text, std::array<int, 32>& actions, const std::string& where) {
  auto problem = [&](const std::string& what) {
    return std::runtime_error(where + ": control \"" + text + "\" is not understood (" + what + ")");
  };
  std::istringstream words(text);
  for (std::string word; words >> word;) {
    size_t equals = word.find('=');
    if (equals == std::string::npos) throw problem("\"" + word + "\" is not value=action");
    std::string value = word.substr(0, equals), action = word.substr(equals + 1);
    auto known = std::find(std::begin(kReturns), std::end(kReturns), value);
    if (known == std::end(kReturns)) throw problem("unknown value \"" + value + "\"");
    int act = kUnset;
    for (const auto& [name, code] : kActions)
      if (action == name) act = code;
    if (act == kUnset) {
      if (action.empty() || action.size() > 9 || !std::all_of(action.begin(), action.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c));
          }))
        throw problem("unknown action \"" + action + "\"");
      act = std::stoi(action);
      if (act == 0) throw problem("a jump of 0");
    }
    size_t index = static_cast<size_t>(known - std::begin(kReturns));
    if (index == 32)
      set_default(actions, act);
    else
      actions[index] = act;
  }
}

// PAM's tokenizer: blanks separate words; a word starting with '[' runs to the
// first ']' ("\]" is a ']' inside it) and loses its brackets.
std::vector<std::string> words_of(const std::string& line, const std::string& where) {
  std::vector<std::string> words;
  size_t i = 0;
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n'; };
  while (i < line.size()) {
    while (i < line.size() && blank(line[i])) ++i;
    if (i == line.size()) break;
    std::string word;
    if (line[i] == '[') {
      size_t j = i + 1;
      for (; j < line.size() && line[j] != ']'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size() && line[j + 1] == ']') ++j;
        word += line[j];
      }
      if (j == line.size()) throw std::runtime_error(where + ": \"[\" without its \"]\" is not understood");
      // PAM ends the word at the ']' and reads on after it, a blank or not.
      i = j + 1;
      if (word.empty())
        throw std::runtime_error(where + ": an empty \"[]\" is not understood (PAM stops reading there)");
      words.push_back("[" + word);  // the '[' marks a bracketed word; removed by the caller
      continue;
    }
    while (i < line.size() && !blank(line[i])) word += line[i++];
    words.push_back(word);
  }
  return words;
}

std::string unbracketed(const std::string& word) {
  return !word.empty() && word.front() == '[' ? word.substr(1) : word;
}

// PAM's line assembly: '#' ends a line, a trailing '\\' joins the next non-blank one.
std::vector<LogicalLine> pam_lines(const std::string& content, const std::string& file) {
  auto lines = logical_lines(content, file, [](std::string physical, const std::string&, bool) {
    size_t start = physical.find_first_not_of(" \t\n");
    if (start == std::string::npos || physical[start] == '#') return LinePart{true, "", false};
    std::string part = physical.substr(start);
    size_t hash = part.find('#');
    bool more = false;
    if (hash != std::string::npos) {
      part.erase(hash);
    } else {
      size_t end = part.find_last_not_of(" \t\n");
      if (end != std::string::npos && part[end] == '\\') {
        part.erase(end);
        part += ' ';
        more = true;
      }
    }
    return LinePart{false, part, more};
  });
  for (const LogicalLine& line : lines)
    if (line.text.size() > kMaxLine)
      throw std::runtime_error(file + ":" + std::to_string(line.number) +
                               ": a line longer than PAM's 1023 characters is not understood");
  return lines;
}

bool known_type(const std::string& type) {
  return type == "auth" || type == "account" || type == "password" || type == "session";
}

class Reader {
 public:
  explicit Reader(const fs::path& root) : root_(root) {
    std::error_code ignored;
    for (const char* pattern : {"/lib/*-linux-*/security", "/usr/lib/*-linux-*/security", "/lib/security",
                                "/usr/lib/security", "/lib64/security", "/usr/lib64/security"}) {
      for (const auto& dir : glob_under(root, pattern))
        if (fs::is_directory(under(root, dir), ignored)) module_dirs_.push_back(dir);
    }
  }

  // The file PAM opens for a service or an included name; nullopt when there is none.
  std::optional<fs::path> service_file(const std::string& name, const std::string& where) const {
    if (name.empty()) throw std::runtime_error(where + ": an empty service name is not understood");
    if (name.front() == '/') return exists(name) ? std::optional<fs::path>(name) : std::nullopt;
    if (name.find('/') != std::string::npos || name == "." || name == "..")
      throw std::runtime_error(where + ": service name \"" + name + "\" is not understood");
    for (const char* dir : {"/etc/pam.d/", "/usr/lib/pam.d/"}) {
      fs::path file = std::string(dir) + name;
      if (exists(file)) return file;
    }
    return std::nullopt;
  }

  // Every entry of `file` (of `type` only, unless empty), includes expanded in place.
  void read(const fs::path& file, const std::string& type, std::vector<PamEntry>& out) {
    files_.push_back(file.string());
    std::string content = read_text(root_, file);
    for (const LogicalLine& line : pam_lines(content, file.string())) {
      std::string where = file.string() + ":" + std::to_string(line.number);
      auto words = words_of(line.text, where);
      if (words.empty()) continue;
      if (words[0].front() == '@') {
        if (words[0] != "@include") throw std::runtime_error(where + ": \"" + words[0] + "\" is not understood");
        if (words.size() != 2 || words[1].front() == '[')
          throw std::runtime_error(where + ": @include takes one service name");
        include(words[1], type, where, out);
        continue;
      }
      if (words[0].front() == '[') throw std::runtime_error(where + ": a line starting with \"[\" is not understood");
      PamEntry entry;
      std::string written = words[0];
      if (written.front() == '-') {
        entry.may_be_missing = true;
        written.erase(0, 1);
      }
      entry.type = to_lower(written);
      if (!known_type(entry.type))
        throw std::runtime_error(where + ": type \"" + words[0] +
                                 "\" is not one PAM knows (auth, account, password, session)");
      if (words.size() < 2) throw std::runtime_error(where + ": a line without a control is not understood");
      std::string control = to_lower(unbracketed(words[1]));
      bool includes = control == "include" || control == "substack";
      if (words.size() < 3)
        throw std::runtime_error(where + (includes ? ": " + control + " without a service name"
                                                   : std::string(": a line without a module is not understood")));
      if (!includes) entry.actions = pam_control_actions(unbracketed(words[1]), where);
      // PAM skips the lines of other types in an included file; they are still checked above.
      if (!type.empty() && entry.type != type) continue;
      if (includes) {
        if (words[2].front() == '[') throw std::runtime_error(where + ": " + control + " of a bracketed name");
        include(words[2], entry.type, where, out);
        continue;
      }
      entry.control = words[1].front() == '[' ? words[1] + "]" : words[1];
      entry.module = unbracketed(words[2]);
      for (size_t i = 3; i < words.size(); ++i) entry.args.push_back(unbracketed(words[i]));
      entry.origin = where;
      for (auto site = sites_.rbegin(); site != sites_.rend(); ++site) entry.origin += ", included from " + *site;
      entry.installed = installed(entry.module);
      out.push_back(std::move(entry));
    }
    files_.pop_back();
  }

 private:
  bool exists(const fs::path& file) const {
    std::error_code ignored;
    return fs::is_regular_file(under(root_, file), ignored);
  }

  PamEntry::Installed installed(const std::string& module) const {
    if (module.find("$ISA") != std::string::npos) return PamEntry::Installed::kUnknown;
    if (module.front() == '/') return exists(module) ? PamEntry::Installed::kYes : PamEntry::Installed::kNo;
    if (module_dirs_.empty()) return PamEntry::Installed::kUnknown;
    for (const auto& dir : module_dirs_)
      if (exists(dir / module)) return PamEntry::Installed::kYes;
    return PamEntry::Installed::kNo;
  }

  void include(const std::string& name, const std::string& type, const std::string& where, std::vector<PamEntry>& out) {
    auto file = service_file(name, where);
    if (!file)
      throw std::runtime_error(where + ": the included service \"" + name +
                               "\" does not exist (PAM fails the whole stack)");
    if (std::find(files_.begin(), files_.end(), file->string()) != files_.end())
      throw std::runtime_error(where + ": including \"" + name + "\" makes a loop");
    if (static_cast<int>(sites_.size()) + 1 >= kMaxIncludes)
      throw std::runtime_error(where + ": includes nested deeper than PAM's 16 levels");
    sites_.push_back(where);
    read(*file, type, out);
    sites_.pop_back();
  }

  const fs::path& root_;
  std::vector<fs::path> module_dirs_;
  std::vector<std::string> sites_;  // the include lines around the file being read
  std::vector<std::string> files_;  // the files being read, outermost first
};

}  // namespace

std::array<int, 32> pam_control_actions(const std::string& control, const std::string& where) {
  std::array<int, 32> actions = unset();
  // PAM drops the brackets before it looks for a keyword: "[required]" is "required".
  std::string inside = control;
  if (!inside.empty() && inside.front() == '[') {
    if (inside.size() < 2 || inside.back() != ']')
      throw std::runtime_error(where + ": control \"" + control + "\" is not understood");
    inside = inside.substr(1, inside.size() - 2);
  }
  std::string word = to_lower(inside);
  auto keyword = [&](int success, int otherwise, bool ignore_is_ignore) {
    actions[0] = success;
    actions[12] = success;  // new_authtok_reqd
    if (ignore_is_ignore) actions[25] = kIgnore;
    set_default(actions, otherwise);
  };
  if (word == "required") {
    keyword(kOk, kBad, true);
  } else if (word == "requisite") {
    keyword(kOk, kDie, true);
  } else if (word == "optional") {
    keyword(kOk, kIgnore, false);
  } else if (word == "sufficient") {
    keyword(kDone, kIgnore, false);
  } else if (word == "include" || word == "substack") {
    throw std::runtime_error(where + ": \"" + control + "\" is not a module's control");
  } else {
    if (trimmed(inside).empty()) throw std::runtime_error(where + ": an empty control is not understood");
    parse_brackets(inside, actions, where);
    set_default(actions, kBad);
  }
  return actions;
}

PamStack pam_stack(const std::filesystem::path& root, const std::string& service, const std::string& type) {
  if (!known_type(type))
    throw std::runtime_error("PAM type \"" + type + "\" is not auth, account, password or session");
  std::error_code ignored;
  if (!fs::is_directory(under(root, "/etc/pam.d"), ignored) &&
      !fs::is_directory(under(root, "/usr/lib/pam.d"), ignored))
    throw std::runtime_error("/etc/pam.d does not exist: PAM reads /etc/pam.conf, which is not understood");
  Reader reader(root);
  PamStack stack;
  auto file = reader.service_file(service, "service");
  if (file) {
    std::vector<PamEntry> all;
    reader.read(*file, "", all);
    for (auto& entry : all)
      if (entry.type == type) stack.entries.push_back(std::move(entry));
    stack.from = file->string();
  }
  // PAM reads "other" for every service (an error there fails them all) and runs its
  // lines of a type the service has none of (or all of them for a service without a file).
  auto other = reader.service_file("other", "service");
  std::vector<PamEntry> from_other;
  if (other) {
    std::vector<PamEntry> all;
    reader.read(*other, "", all);
    for (auto& entry : all)
      if (entry.type == type) from_other.push_back(std::move(entry));
  }
  if (stack.entries.empty()) {
    if (!file && fs::exists(under(root, "/etc/pam.conf"), ignored)) {
      std::istringstream conf(read_text(root, "/etc/pam.conf"));
      for (std::string line; std::getline(conf, line);) {
        std::string text = trimmed(line);
        if (!text.empty() && text.front() != '#')
          throw std::runtime_error("/etc/pam.d has no " + service +
                                   " and /etc/pam.conf has entries: which PAM reads is not understood");
      }
    }
    std::string why = file ? " (" + service + " has no " + type + " lines)" : " (" + service + " has no file)";
    stack.entries = std::move(from_other);
    stack.from = other ? other->string() + why : "nothing" + why + ", no /etc/pam.d/other";
  }
  // A "-" line whose module is not installed is skipped by PAM.
  std::vector<PamEntry> kept;
  for (auto& entry : stack.entries) {
    if (entry.may_be_missing && entry.installed == PamEntry::Installed::kNo)
      stack.skipped.push_back(entry.module + " (" + entry.origin + ")");
    else
      kept.push_back(std::move(entry));
  }
  stack.entries = std::move(kept);
  return stack;
}

}  // namespace vigil::policy
