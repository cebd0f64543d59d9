// Policy documents (YAML) into the model, refusing anything unclear with the
// source, the line and what is wrong.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "vigil/policy/check_kinds.h"
#include "vigil/policy/policy.h"

namespace vigil::policy {
namespace {

class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}
  // Lines before the document being parsed (documents are parsed one by one).
  void set_first_line(int line) { first_line_ = line; }
  int line_of(const YAML::Mark& mark) const { return mark.is_null() ? 0 : first_line_ + mark.line + 1; }

  [[noreturn]] void fail(const YAML::Node& node, const std::string& what) const {
    throw PolicyError(source_ + ":" + std::to_string(line_of(node.Mark())) + ": " + what);
  }

  std::string text(const YAML::Node& node, const std::string& what) const {
    if (!node.IsScalar()) fail(node, what + " must be a single value");
    return node.Scalar();
  }

  bool boolean(const YAML::Node& node, const std::string& what) const {
    std::string value = text(node, what);
    if (value == "true" || value == "yes" || value == "on") return true;
    if (value == "false" || value == "no" || value == "off") return false;
    fail(node, what + " must be true or false, not '" + value + "'");
  }

  double number(const YAML::Node& node, const std::string& what) const {
    std::string value = text(node, what);
    try {
      size_t used = 0;
      double parsed = std::stod(value, &used);
      if (used == value.size()) return parsed;
    } catch (const std::exception&) {
    }
    fail(node, what + " must be a number, not '" + value + "'");
  }

  std::vector<std::string> list(const YAML::Node& node, const std::string& what) const {
    std::vector<std::string> out;
    if (node.IsScalar()) return {node.Scalar()};
    if (!node.IsSequence()) fail(node, what + " must be a list");
    for (const auto& item : node) out.push_back(text(item, what));
    return out;
  }

  std::shared_ptr<std::regex> regex(const YAML::Node& node, const std::string& what) const {
    std::string pattern = text(node, what);
    try {
      return std::make_shared<std::regex>(pattern, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& error) {
      fail(node, what + " is not a valid regular expression: " + error.what());
    }
  }

  // The expectation fields a check kind accepts, taken out of `node`.
  bool expect_field(const std::string& key, const YAML::Node& value, Expect& expect) const {
    if (key == "equals") {
      expect.equals = text(value, key);
    } else if (key == "not_equals") {
      expect.not_equals = text(value, key);
    } else if (key == "one_of") {
      expect.one_of = list(value, key);
    } else if (key == "matches") {
      expect.matches = regex(value, key);
      expect.matches_text = value.Scalar();
    } else if (key == "at_least") {
      expect.at_least = number(value, key);
    } else if (key == "at_most") {
      expect.at_most = number(value, key);
    } else if (key == "present") {
      expect.present = boolean(value, key);
    } else {
      return false;
    }
    return true;
  }

  Check check(const std::string& kind_name, const YAML::Node& node) const {
    const CheckKind* kind = find_check_kind(kind_name);
    if (kind == nullptr) {
      fail(node, "unknown check '" + kind_name + "' (" + check_kind_names() + "; or all / any / none)");
    }
    if (!node.IsMap()) fail(node, "a " + kind_name + " check takes fields (a map)");
    Check check;
    check.kind = kind_name;
    check.line = line_of(node.Mark());
    for (const auto& field : node) {
      std::string key = text(field.first, "a field name");
      const YAML::Node& value = field.second;
      if (kind->takes_expectation && expect_field(key, value, check.expect)) continue;
      bool known = std::find(kind->fields.begin(), kind->fields.end(), key) != kind->fields.end();
      if (!known) fail(field.first, "unknown field '" + key + "' in a " + kind_name + " check");
      check_field_parsers().at(key)(*this, key, value, check);
    }
    if (std::string problem = kind->complete(check); !problem.empty()) fail(node, problem);
    return check;
  }

  // How each field of a check is read into it, whichever kinds take it: one
  // row per field, so longer than a function should be.
  using CheckFieldParser = void (*)(const Parser& parser, const std::string& key, const YAML::Node& value,
                                    Check& check);
  static const std::map<std::string, CheckFieldParser>& check_field_parsers() {
    static const std::map<std::string, CheckFieldParser> parsers = {
        {"path",
         [](const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
           check.path = parser.text(value, key);
           if (check.path.empty() || check.path.front() != '/')
             parser.fail(value, "path must be absolute, not '" + check.path + "'");
         }},
        {"type",
         [](const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
           if (check.kind == "limits") {
             check.type = parser.one_word_of(value, key, {"soft", "hard"}, "type must be soft or hard");
             return;
           }
           if (check.kind == "pam") {
             check.type = parser.one_word_of(value, key, {"auth", "account", "password", "session"},
                                             "type must be auth, account, password or session");
             return;
           }
           check.type =
               parser.one_word_of(value, key, {"file", "directory", "any"}, "type must be file, directory or any");
         }},
        {"service", word_field<&Check::service>},
        {"module", word_field<&Check::module>},
        {"before", word_field<&Check::before>},
        {"after", word_field<&Check::after>},
        {"control",
         [](const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
           check.controls = parser.list(value, key);
           for (const auto& control : check.controls) {
             try {
               (void)pam_control_actions(control, "control");
             } catch (const std::runtime_error& problem) {
               parser.fail(value, problem.what());
             }
           }
         }},
        {"args",
         [](const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
           if (!value.IsMap()) parser.fail(value, key + " takes argument names, each with an expectation");
           for (const auto& arg : value) {
             std::string name = parser.text(arg.first, "an argument name");
             if (name.empty() || name.find('=') != std::string::npos)
               parser.fail(arg.first, "argument name '" + name + "' is not a name");
             Expect expect;
             const YAML::Node& wanted = arg.second;
             if (wanted.IsScalar()) {
               expect.equals = wanted.Scalar();  // "minlen: 14" is "minlen: {equals: 14}"
             } else if (wanted.IsMap()) {
               for (const auto& field : wanted) {
                 std::string what = parser.text(field.first, "an expectation");
                 if (!parser.expect_field(what, field.second, expect))
                   parser.fail(field.first, "unknown expectation '" + what + "' for argument " + name);
               }
             } else {
               parser.fail(wanted, "argument " + name + " takes a value or expectations");
             }
             check.args.emplace_back(name, expect);
           }
         }},
        {"exists", switch_field<&Check::exists>},
        {"scope",
         [](const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
           check.scope = parser.one_word_of(value, key, {"all", "global"}, "scope must be all or global");
         }},
        {"owner", text_field<&Check::owner>},
        {"group", text_field<&Check::group>},
        {"max_mode",
         [](const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
           std::string mode = parser.text(value, key);
           if (mode.empty() || mode.size() > 4 || mode.find_first_not_of("01234567") != std::string::npos) {
             parser.fail(value, "max_mode must be an octal mode such as 0640, not '" + mode + "'");
           }
           check.max_mode = static_cast<unsigned>(std::stoul(mode, nullptr, 8));
         }},
        {"line_matches",
         [](const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
           check.line_matches = parser.regex(value, key);
           check.line_matches_text = value.Scalar();
         }},
        {"no_line_matches",
         [](const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
           check.no_line_matches = parser.regex(value, key);
           check.no_line_matches_text = value.Scalar();
         }},
        {"format",
         [](const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
           check.format = parser.one_word_of(value, key, {"sshd", "sysctl", "keyvalue", "shell", "ini", "systemd"},
                                             "format must be sshd, sysctl, keyvalue, shell, ini or systemd");
         }},
        {"key", word_field<&Check::key>},
        {"rule", word_field<&Check::rule>},
        {"name", word_field<&Check::name>},
        {"unit", word_field<&Check::name>},  // a service's name is its unit
        {"match", [](const Parser& parser, const std::string&, const YAML::Node& value,
                     Check& check) { parser.sshd_match(value, check.match); }},
        {"manager",
         [](const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
           check.manager = parser.one_word_of(value, key, {"dpkg", "rpm", "any"}, "manager must be dpkg, rpm or any");
         }},
        {"installed", switch_field<&Check::installed>},
        {"enabled", switch_field<&Check::enabled>},
        {"active", switch_field<&Check::active>},
        {"loaded", switch_field<&Check::loaded>},
        {"disabled", switch_field<&Check::disabled>},
        {"mounted", switch_field<&Check::mounted>},
        {"world_writable", switch_field<&Check::world_writable>},
        {"suid", switch_field<&Check::suid>},
        {"no_owner", switch_field<&Check::no_owner>},
        {"no_group", switch_field<&Check::no_group>},
        {"local_only", switch_field<&Check::local_only>},
        {"options", [](const Parser& parser, const std::string& key, const YAML::Node& value,
                       Check& check) { check.options = parser.list(value, key); }},
        {"algorithm",
         [](const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
           check.algorithm = parser.one_word_of(value, key, {"sha256", "sha512", "sha1", "md5"},
                                                "algorithm must be sha256, sha512, sha1 or md5");
         }},
        {"depth",
         [](const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
           double depth = parser.number(value, key);
           if (depth < 0 || depth > 64 || depth != static_cast<int>(depth)) parser.fail(value, "depth must be 0-64");
           check.depth = static_cast<int>(depth);
         }},
        {"argv",
         [](const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
           check.argv = parser.list(value, key);
           if (check.argv.empty() || check.argv[0].empty()) parser.fail(value, "argv needs a program");
         }},
        {"default", [](const Parser& parser, const std::string& key, const YAML::Node& value,
                       Check& check) { check.default_value = parser.text(value, key); }},
        {"version_at_least", text_field<&Check::version_at_least>},
        {"version_before", text_field<&Check::version_before>},
        {"exit_code", [](const Parser& parser, const std::string& key, const YAML::Node& value,
                         Check& check) { check.exit_code = static_cast<int>(parser.number(value, key)); }},
        {"configured", switch_field<&Check::configured>},
        {"item", word_field<&Check::item>},
        {"user", word_field<&Check::user>},
        {"parameter", word_field<&Check::parameter>},
        {"source",
         [](const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
           // kernel_cmdline and audit_rule read from different sources.
           if (check.kind == "audit_rule") {
             check.source = parser.one_word_of(value, key, {"files", "loaded"}, "source must be files or loaded");
             return;
           }
           check.source = parser.one_word_of(value, key, {"all", "grub_cfg", "default_grub"},
                                             "source must be all, grub_cfg or default_grub");
         }},
        {"watch",
         [](const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
           check.watch = parser.text(value, key);
           if (check.watch.empty() || check.watch.front() != '/')
             parser.fail(value, "watch must be an absolute path, not '" + check.watch + "'");
           while (check.watch.size() > 1 && check.watch.back() == '/') check.watch.pop_back();
         }},
        {"every_setid_under",
         [](const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
           check.every_setid_under = parser.text(value, key);
           if (check.every_setid_under.empty() || check.every_setid_under.front() != '/')
             parser.fail(value, key + " must be an absolute path, not '" + check.every_setid_under + "'");
         }},
        {"permissions",
         [](const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
           try {
             check.permissions = parse_audit_field("perm=" + parser.text(value, key), false, key).value;
           } catch (const std::runtime_error& problem) {
             parser.fail(value, problem.what());
           }
         }},
        {"syscalls",
         [](const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
           check.syscalls = parser.list(value, key);
           for (const auto& name : check.syscalls)
             if (!audit_syscall_known(name, "b64") && !audit_syscall_known(name, "b32"))
               parser.fail(value, "'" + name + "' is not a syscall this reader knows");
         }},
        {"arch",
         [](const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
           check.arch = parser.one_word_of(value, key, {"b64", "b32", "both"}, "arch must be b64, b32 or both");
         }},
        {"fields",
         [](const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
           // auditctl's spelling: "auid>=1000", or "-C euid!=uid" for a comparison.
           for (std::string field : parser.list(value, key)) {
             bool comparison = field.rfind("-C ", 0) == 0;
             if (comparison || field.rfind("-F ", 0) == 0) field = field.substr(3);
             try {
               AuditField parsed = parse_audit_field(field, comparison, key);
               if (parsed.name == "arch" || parsed.name == "path" || parsed.name == "dir" || parsed.name == "perm")
                 parser.fail(value, "fields: give " + parsed.name + " with arch, watch or permissions");
               check.audit_fields.push_back(parsed);
             } catch (const std::runtime_error& problem) {
               parser.fail(value, problem.what());
             }
           }
         }},
        {"setting",
         [](const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
           check.setting =
               parser.one_word_of(value, key, {"enabled", "failure", "backlog_limit", "backlog_wait_time", "rate_limit"},
                                  "setting must be enabled, failure, backlog_limit, backlog_wait_time or rate_limit");
         }},
    };
    return parsers;
  }

  template <std::string Check::*member>
  static void text_field(const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
    check.*member = parser.text(value, key);
  }

  // A name that must not be empty.
  template <std::string Check::*member>
  static void word_field(const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
    std::string word = parser.text(value, key);
    if (word.empty()) parser.fail(value, key + " is empty");
    check.*member = word;
  }

  template <std::optional<bool> Check::*member>
  static void switch_field(const Parser& parser, const std::string& key, const YAML::Node& value, Check& check) {
    check.*member = parser.boolean(value, key);
  }

  std::string one_word_of(const YAML::Node& node, const std::string& what, const std::set<std::string>& words,
                          const std::string& otherwise) const {
    std::string word = text(node, what);
    if (words.count(word) == 0) fail(node, otherwise);
    return word;
  }

  void sshd_match(const YAML::Node& node, SshdContext& match) const {
    static const std::map<std::string, std::string SshdContext::*> kCriteria = {
        {"user", &SshdContext::user},
        {"group", &SshdContext::group},
        {"host", &SshdContext::host},
        {"address", &SshdContext::address},
        {"local_port", &SshdContext::local_port},
        {"local_address", &SshdContext::local_address},
        {"rdomain", &SshdContext::rdomain}};
    if (!node.IsMap()) fail(node, "match takes user, group, host, address, local_address, local_port, rdomain");
    for (const auto& criterion : node) {
      std::string name = text(criterion.first, "a match criterion");
      std::string wanted = text(criterion.second, name);
      auto found = kCriteria.find(name);
      if (found == kCriteria.end()) fail(criterion.first, "unknown match criterion '" + name + "'");
      match.*(found->second) = wanted;
    }
  }

  Condition condition(const YAML::Node& node) const {
    if (!node.IsMap() || node.size() != 1) {
      fail(node, "a condition is one of all / any / none (a list) or one check (kind: fields)");
    }
    // Copies: yaml-cpp's iterator hands out proxies that die with the expression.
    const YAML::Node name = node.begin()->first;
    const YAML::Node body = node.begin()->second;
    std::string key = text(name, "a condition");
    Condition out;
    if (key == "all" || key == "any" || key == "none") {
      out.op = key == "all" ? Condition::Op::kAll : key == "any" ? Condition::Op::kAny : Condition::Op::kNone;
      if (!body.IsSequence() || body.size() == 0) fail(body, key + " takes a non-empty list");
      for (const auto& child : body) out.children.push_back(condition(child));
      return out;
    }
    out.op = Condition::Op::kCheck;
    out.check = check(key, body);
    return out;
  }

  Control control(const YAML::Node& node, std::set<std::string>& ids) const {
    if (!node.IsMap()) fail(node, "a control is a map (id, title, check, ...)");
    Control out;
    out.line = line_of(node.Mark());
    bool has_check = false;
    for (const auto& field : node) {
      std::string key = text(field.first, "a field name");
      const YAML::Node& value = field.second;
      if (key == "id")
        out.id = text(value, key);
      else if (key == "title")
        out.title = text(value, key);
      else if (key == "rationale")
        out.rationale = text(value, key);
      else if (key == "remediation")
        out.remediation = text(value, key);
      else if (key == "severity") {
        out.severity = text(value, key);
        if (out.severity != "low" && out.severity != "medium" && out.severity != "high" && out.severity != "critical") {
          fail(value, "severity must be low, medium, high or critical, not '" + out.severity + "'");
        }
      } else if (key == "references")
        out.references = list(value, key);
      else if (key == "applies_if")
        out.applies_if = condition(value);
      else if (key == "check") {
        out.check = condition(value);
        has_check = true;
      } else
        fail(field.first, "unknown control field '" + key + "'");
    }
    if (out.id.empty()) fail(node, "a control needs an id");
    if (!ids.insert(out.id).second) fail(node, "control id '" + out.id + "' is used twice");
    if (out.title.empty()) fail(node, "control " + out.id + " needs a title");
    if (!has_check) fail(node, "control " + out.id + " needs a check");
    if (out.severity.empty()) out.severity = "medium";
    return out;
  }

  Policy policy(const YAML::Node& node) const {
    if (!node.IsMap()) fail(node, "a policy is a map with policy, title, version and controls");
    Policy out;
    for (const auto& field : node) {
      std::string key = text(field.first, "a field name");
      const YAML::Node& value = field.second;
      if (key == "policy")
        out.id = text(value, key);
      else if (key == "title")
        out.title = text(value, key);
      else if (key == "version")
        out.version = text(value, key);
      else if (key == "controls") {
        if (!value.IsSequence()) fail(value, "controls must be a list");
        std::set<std::string> ids;
        for (const auto& item : value) out.controls.push_back(control(item, ids));
      } else
        fail(field.first, "unknown policy field '" + key + "'");
    }
    if (out.id.empty()) fail(node, "a policy needs an id (policy: …)");
    if (out.version.empty()) fail(node, "policy " + out.id + " needs a version");
    if (out.controls.empty()) fail(node, "policy " + out.id + " has no controls");
    return out;
  }

 private:
  std::string source_;
  int first_line_ = 0;
};

struct Document {
  std::string text;
  int first_line = 0;  // lines before it in the manifest
};

// Splits at "---" lines. yaml-cpp's own multi-document loader (LoadAll) can
// allocate without bound on some malformed input (found by policy_fuzz: ","),
// its single-document loader does not.
std::vector<Document> split_documents(std::string_view text) {
  std::vector<Document> documents(1);
  int number = 0;
  for (size_t start = 0; start < text.size(); ++number) {
    size_t end = text.find('\n', start);
    std::string_view line =
        text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start + 1);
    start = end == std::string_view::npos ? text.size() : end + 1;
    bool marker =
        line.substr(0, 3) == "---" && (line.size() == 3 || line[3] == '\n' || line[3] == ' ' || line[3] == '\r');
    if (marker) {
      documents.push_back(Document{{}, number});
      documents.back().text.append(line.size() > 3 ? line.substr(3) : std::string_view());
      continue;
    }
    if (line.substr(0, 3) == "..." && (line.size() == 3 || line[3] == '\n' || line[3] == '\r')) continue;
    documents.back().text.append(line);
  }
  return documents;
}

}  // namespace

std::vector<Policy> parse_policies(std::string_view text, const std::string& source) {
  Parser parser(source);
  std::vector<Policy> policies;
  std::set<std::string> ids;
  for (const Document& document : split_documents(text)) {
    parser.set_first_line(document.first_line);
    YAML::Node root;
    try {
      root = YAML::Load(document.text);
    } catch (const YAML::Exception& error) {
      throw PolicyError(source + ":" + std::to_string(parser.line_of(error.mark)) + ": not valid YAML: " + error.msg);
    }
    if (root.IsNull()) continue;
    try {
      policies.push_back(parser.policy(root));
      if (!ids.insert(policies.back().id).second)
        parser.fail(root, "policy '" + policies.back().id + "' appears twice");
    } catch (const YAML::Exception& error) {
      throw PolicyError(source + ":" + std::to_string(parser.line_of(error.mark)) + ": " + error.msg);
    }
  }
  if (policies.empty()) throw PolicyError(source + ": no policy in the document");
  return policies;
}

const char* outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPass: return "pass";
    case Outcome::kFail: return "fail";
    case Outcome::kError: return "error";
    case Outcome::kNotApplicable: return "not_applicable";
  }
  return "error";
}

}  // namespace vigil::policy
