// The kernel command line as Debian 12's GRUB (2.06) gives it: what
// update-grub would write, from /etc/default/grub and /etc/default/grub.d/*.cfg
// sourced in that order by grub-mkconfig, and what /boot/grub/grub.cfg's
// linux lines say now.
#include <algorithm>
#include <cctype>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "vigil/policy/limits_pwquality_grub.h"
#include "vigil/text/text.h"

namespace vigil::policy {
namespace {

namespace fs = std::filesystem;

// Shell text with, for each character, where it was written.
struct Traced {
  std::string text;
  std::vector<std::string> origins;
  std::string unknown;  // why the value is not known (a command substitution at file:line), else empty
  void add(char c, const std::string& origin) {
    text += c;
    origins.push_back(origin);
  }
  void append(const Traced& other) {
    text += other.text;
    origins.insert(origins.end(), other.origins.begin(), other.origins.end());
    if (unknown.empty()) unknown = other.unknown;
  }
};

bool name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}
bool valid_name(const std::string& name) {
  return !name.empty() && name_start(name[0]) && std::all_of(name.begin(), name.end(), name_char);
}

// One file sourced by grub-mkconfig, read as sh would, as long as it only
// assigns variables from literal text and variables these files assigned.
class ShellReader {
 public:
  ShellReader(std::string text, std::string file, std::map<std::string, Traced>& variables)
      : text_(std::move(text)), file_(std::move(file)), variables_(variables) {}

  void read() {
    std::vector<Word> statement;
    while (at_ < text_.size()) {
      char c = text_[at_];
      if (c == ' ' || c == '\t') {
        ++at_;
      } else if (c == '\n') {
        finish(statement);
        ++line_;
        ++at_;
      } else if (c == '#') {
        while (at_ < text_.size() && text_[at_] != '\n') ++at_;
      } else if (c == '\\' && at_ + 1 < text_.size() && text_[at_ + 1] == '\n') {
        at_ += 2;
        ++line_;
      } else {
        statement.push_back(word());
      }
    }
    finish(statement);
  }

 private:
  struct Word {
    std::string name;   // of an assignment NAME=value, else empty
    Traced value;       // the whole word when not an assignment
    bool plain = true;  // no quotes, escapes or expansions
    int line = 0;
  };

  std::string where() const { return file_ + ":" + std::to_string(line_); }
  [[noreturn]] void refuse(const std::string& what) const {
    throw std::runtime_error(where() + ": " + what + " (the reader evaluates only NAME=value assignments)");
  }

  Word word() {
    Word out;
    out.line = line_;
    bool may_be_name = true;  // only name characters so far, unquoted
    while (at_ < text_.size()) {
      char c = text_[at_];
      if (c == ' ' || c == '\t' || c == '\n') break;
      if (c == '\r' || c == '\0') refuse("a carriage return or NUL byte");
      if (c == '\\') {
        if (at_ + 1 >= text_.size()) refuse("a backslash at the end of the file");
        if (text_[at_ + 1] == '\n') {
          ++line_;
        } else {
          out.value.add(text_[at_ + 1], where());
        }
        at_ += 2;
        may_be_name = out.plain = false;
      } else if (c == '\'') {
        size_t end = text_.find('\'', at_ + 1);
        if (end == std::string::npos) refuse("an unterminated single quote");
        for (size_t i = at_ + 1; i < end; ++i) {
          out.value.add(text_[i], where());
          if (text_[i] == '\n') ++line_;
        }
        at_ = end + 1;
        may_be_name = out.plain = false;
      } else if (c == '"') {
        double_quoted(out.value);
        may_be_name = out.plain = false;
      } else if (c == '$') {
        expand(out.value);
        may_be_name = out.plain = false;
      } else if (c == '`') {
        substitution(out.value);
        may_be_name = out.plain = false;
      } else if (std::string(";&|<>()~").find(c) != std::string::npos) {
        refuse(std::string("the shell construct '") + c + "'");
      } else if (c == '=' && may_be_name && out.name.empty() && valid_name(out.value.text)) {
        out.name = out.value.text;
        out.value = Traced();
        may_be_name = false;
        ++at_;
      } else {
        if (!name_char(c)) may_be_name = false;
        out.value.add(c, where());
        ++at_;
      }
    }
    return out;
  }

  void double_quoted(Traced& value) {
    ++at_;
    while (true) {
      if (at_ >= text_.size()) refuse("an unterminated double quote");
      char c = text_[at_];
      if (c == '"') break;
      if (c == '`') {
        substitution(value);
        continue;
      }
      if (c == '$') {
        expand(value);
        continue;
      }
      if (c == '\\' && at_ + 1 < text_.size() && std::string("$`\"\\\n").find(text_[at_ + 1]) != std::string::npos) {
        if (text_[at_ + 1] == '\n')
          ++line_;
        else
          value.add(text_[at_ + 1], where());
        at_ += 2;
        continue;
      }
      value.add(c, where());
      if (c == '\n') ++line_;
      ++at_;
    }
    ++at_;
  }

  // $NAME or ${NAME} of a variable these files set; anything else depends on what the reader does not evaluate.
  void expand(Traced& value) {
    ++at_;
    std::string name;
    if (at_ < text_.size() && text_[at_] == '(') {
      --at_;
      substitution(value);
      return;
    }
    if (at_ < text_.size() && text_[at_] == '{') {
      size_t end = text_.find('}', at_);
      if (end == std::string::npos) refuse("an unterminated ${");
      name = text_.substr(at_ + 1, end - at_ - 1);
      if (!valid_name(name)) refuse("the expansion ${" + name + "}");
      at_ = end + 1;
    } else {
      while (at_ < text_.size() && name_char(text_[at_]) && (!name.empty() || name_start(text_[at_])))
        name += text_[at_++];
      if (name.empty()) refuse("a '$' other than $NAME or ${NAME} (command substitution, arithmetic, ...)");
    }
    auto found = variables_.find(name);
    if (found == variables_.end())
      refuse("$" + name + ", which these files do not set (its value would come from grub-mkconfig's environment)");
    if (!found->second.unknown.empty()) refuse("$" + name + ", whose value comes from " + found->second.unknown);
    value.append(found->second);
  }

  // `command` or $(command) at at_: the value is not known, but a subshell
  // sets no variable, so the rest of the file still reads exactly. Only a
  // command without quotes, parentheses or nested substitutions is skipped
  // over, so its end is never misread.
  void substitution(Traced& value) {
    bool dollar = text_[at_] == '$';
    size_t start = at_ + (dollar ? 2 : 1);
    size_t end = text_.find(dollar ? ')' : '`', start);
    if (end == std::string::npos) refuse("an unterminated command substitution");
    std::string command = text_.substr(start, end - start);
    if (command.find_first_of("\"'()`$\\\n") != std::string::npos)
      refuse("a command substitution with quotes, parentheses, '$', a backslash or a newline inside");
    // A redirection could write a file grub-mkconfig sources next; only one to /dev/null is let through.
    if (std::regex_replace(command, std::regex("[0-9]?>\\s*/dev/null"), "").find('>') != std::string::npos)
      refuse("a command substitution that redirects output to a file");
    if (value.unknown.empty()) value.unknown = "a command substitution at " + where();
    at_ = end + 1;
  }

  void finish(std::vector<Word>& statement) {
    size_t first = 0;
    bool exported =
        !statement.empty() && statement[0].name.empty() && statement[0].plain && statement[0].value.text == "export";
    if (exported) first = 1;
    for (size_t i = first; i < statement.size(); ++i) {
      const Word& word = statement[i];
      if (!word.name.empty()) {
        variables_[word.name] = word.value;
        continue;
      }
      if (exported && word.plain && valid_name(word.value.text)) continue;
      throw std::runtime_error(file_ + ":" + std::to_string(word.line) + ": '" + word.value.text +
                               "' is a command (the reader evaluates only NAME=value assignments)");
    }
    statement.clear();
  }

  std::string text_;
  std::string file_;
  std::map<std::string, Traced>& variables_;
  size_t at_ = 0;
  int line_ = 1;
};

// Quotes, escapes or grub variables in a command line: grub would read them before the kernel does.
void refuse_quoting(const std::string& word, const std::string& where) {
  if (word.find_first_of("\"'\\$") != std::string::npos)
    throw std::runtime_error(where + ": '" + word +
                             "' holds quoting or a variable, which the reader does not evaluate");
}

KernelCommandLine split(const std::string& what, const Traced& line) {
  KernelCommandLine out{what, {}};
  if (size_t newline = line.text.find('\n'); newline != std::string::npos)
    throw std::runtime_error(line.origins[newline] +
                             ": a newline in the kernel command line (update-grub would split the linux line)");
  for (size_t i = 0; i < line.text.size();) {
    if (std::isspace(static_cast<unsigned char>(line.text[i]))) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < line.text.size() && !std::isspace(static_cast<unsigned char>(line.text[end]))) ++end;
    KernelWord word{line.text.substr(i, end - i), line.origins[i]};
    refuse_quoting(word.text, word.origin);
    out.words.push_back(word);
    i = end;
  }
  return out;
}

void read_grub_cfg(const fs::path& root, const fs::path& file, std::vector<KernelCommandLine>& lines) {
  std::istringstream in(read_text(root, file));
  int number = 0;
  for (std::string text; std::getline(in, text);) {
    std::string where = file.string() + ":" + std::to_string(++number);
    std::istringstream fields(text);
    std::vector<std::string> words;
    for (std::string word; fields >> word && word[0] != '#';) words.push_back(word);
    if (words.empty()) continue;
    const std::string& command = words[0];
    if (command == "source" || command == "configfile" || command == "blscfg") {
      // Debian's 41_custom sources custom.cfg beside grub.cfg, which is read below.
      bool custom =
          words.size() == 2 && (words[1] == "${config_directory}/custom.cfg" || words[1] == "$prefix/custom.cfg");
      if (!custom) throw std::runtime_error(where + ": '" + trimmed(text) + "' loads entries the reader does not read");
      continue;
    }
    if (command != "linux" && command != "linux16" && command != "linuxefi") continue;
    if (words.size() < 2) throw std::runtime_error(where + ": a linux line without a kernel");
    if (text.back() == '\\') throw std::runtime_error(where + ": a linux line continued on the next line");
    KernelCommandLine line{where, {}};
    for (size_t i = 2; i < words.size(); ++i) {
      refuse_quoting(words[i], where);
      line.words.push_back(KernelWord{words[i], where});
    }
    lines.push_back(line);
  }
}

std::string parameter_name(std::string word) {
  word = word.substr(0, word.find('='));
  std::replace(word.begin(), word.end(), '-', '_');
  return word;
}

}  // namespace

std::vector<KernelCommandLine> default_grub_command_lines(const fs::path& root) {
  std::map<std::string, Traced> variables;
  std::vector<fs::path> files;
  std::error_code ignored;
  if (fs::is_regular_file(under(root, "/etc/default/grub"), ignored)) files.emplace_back("/etc/default/grub");
  for (const auto& file : glob_under(root, "/etc/default/grub.d/*.cfg")) files.push_back(file);
  for (const auto& file : files) ShellReader(read_text(root, file), file.string(), variables).read();
  auto value = [&](const std::string& name) {
    if (!variables.count(name)) return Traced();
    if (!variables[name].unknown.empty())
      throw std::runtime_error(name + " comes from " + variables[name].unknown + ", which the reader does not run");
    return variables[name];
  };
  Traced normal = value("GRUB_CMDLINE_LINUX");
  normal.add(' ', "");
  normal.append(value("GRUB_CMDLINE_LINUX_DEFAULT"));
  std::vector<KernelCommandLine> lines = {split("/etc/default/grub normal entry", normal)};
  if (value("GRUB_DISABLE_RECOVERY").text != "true") {
    Traced recovery;
    for (char c : std::string("single ")) recovery.add(c, "10_linux recovery entry");
    recovery.append(value("GRUB_CMDLINE_LINUX"));
    lines.push_back(split("/etc/default/grub recovery entry", recovery));
  }
  return lines;
}

std::vector<KernelCommandLine> grub_cfg_command_lines(const fs::path& root) {
  std::vector<KernelCommandLine> lines;
  read_grub_cfg(root, "/boot/grub/grub.cfg", lines);
  std::error_code ignored;
  if (fs::exists(under(root, "/boot/grub/custom.cfg"), ignored)) read_grub_cfg(root, "/boot/grub/custom.cfg", lines);
  if (lines.empty()) throw std::runtime_error("/boot/grub/grub.cfg has no linux line");
  return lines;
}

std::optional<KernelWord> kernel_parameter(const KernelCommandLine& line, const std::string& parameter) {
  std::optional<KernelWord> found;
  for (const auto& word : line.words) {
    if (word.text == "--") break;  // what follows goes to init, not to the kernel
    if (parameter_name(word.text) != parameter_name(parameter)) continue;
    size_t equals = word.text.find('=');
    KernelWord value{equals == std::string::npos ? "" : word.text.substr(equals + 1), word.origin};
    if (found && found->text != value.text)
      throw std::runtime_error(line.what + ": " + parameter + " is given more than once with different values (" +
                               found->origin + ", " + value.origin + "); which one counts depends on the parameter");
    if (!found) found = value;
  }
  return found;
}

}  // namespace vigil::policy
