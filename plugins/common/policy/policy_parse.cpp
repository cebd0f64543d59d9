// Policy documents (YAML) into the model, refusing anything unclear with the
// source, the line and what is wrong.
#include <yaml-cpp/yaml.h>

#include <set>

#include "policy.h"

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

  Check check(const std::string& kind, const YAML::Node& node) const {
    static const std::map<std::string, std::set<std::string>> kFields = {
        {"file_exists", {"path", "type", "exists"}},
        {"permissions", {"path", "owner", "group", "max_mode"}},
        {"file_content", {"path", "line_matches", "no_line_matches"}},
        {"config", {"path", "format", "key", "match", "default"}},
        {"sysctl", {"key"}},
        {"package", {"name", "manager", "installed", "version_at_least", "version_before"}},
        {"service", {"unit", "enabled", "active"}},
        {"mount", {"path", "mounted", "options"}},
        {"accounts", {"rule"}},
        {"kernel_module", {"name", "loaded", "disabled"}},
        {"file_hash", {"path", "algorithm"}},
        {"find", {"path", "depth", "name", "type", "world_writable", "suid", "no_owner"}},
        {"command", {"argv", "exit_code"}}};
    static const std::set<std::string> kExpecting = {"config", "sysctl", "file_hash", "find", "command", "accounts"};
    auto known = kFields.find(kind);
    if (known == kFields.end()) {
      fail(node, "unknown check '" + kind +
                     "' (file_exists, permissions, file_content, config, sysctl, package, service, mount, accounts, "
                     "kernel_module, file_hash, find, command; or all / any / none)");
    }
    if (!node.IsMap()) fail(node, "a " + kind + " check takes fields (a map)");
    Check check;
    check.kind = kind;
    check.line = line_of(node.Mark());
    for (const auto& field : node) {
      std::string key = text(field.first, "a field name");
      const YAML::Node& value = field.second;
      if (kExpecting.count(kind) != 0 && expect_field(key, value, check.expect)) continue;
      if (known->second.count(key) == 0) fail(field.first, "unknown field '" + key + "' in a " + kind + " check");
      if (key == "path") {
        check.path = text(value, key);
        if (check.path.empty() || check.path.front() != '/')
          fail(value, "path must be absolute, not '" + check.path + "'");
      } else if (key == "type") {
        check.type = text(value, key);
        if (check.type != "file" && check.type != "directory" && check.type != "any") {
          fail(value, "type must be file, directory or any");
        }
      } else if (key == "exists") {
        check.exists = boolean(value, key);
      } else if (key == "owner") {
        check.owner = text(value, key);
      } else if (key == "group") {
        check.group = text(value, key);
      } else if (key == "max_mode") {
        std::string mode = text(value, key);
        if (mode.empty() || mode.size() > 4 || mode.find_first_not_of("01234567") != std::string::npos) {
          fail(value, "max_mode must be an octal mode such as 0640, not '" + mode + "'");
        }
        check.max_mode = static_cast<unsigned>(std::stoul(mode, nullptr, 8));
      } else if (key == "line_matches") {
        check.line_matches = regex(value, key);
        check.line_matches_text = value.Scalar();
      } else if (key == "no_line_matches") {
        check.no_line_matches = regex(value, key);
        check.no_line_matches_text = value.Scalar();
      } else if (key == "format") {
        check.format = text(value, key);
        static const std::set<std::string> kFormats = {"sshd", "sysctl", "keyvalue", "shell", "ini"};
        if (kFormats.count(check.format) == 0) fail(value, "format must be sshd, sysctl, keyvalue, shell or ini");
      } else if (key == "key" || key == "unit" || key == "name" || key == "rule") {
        std::string word = text(value, key);
        if (word.empty()) fail(value, key + " is empty");
        (key == "key" ? check.key : key == "rule" ? check.rule : check.name) = word;
      } else if (key == "match") {
        if (!value.IsMap()) fail(value, "match takes user, group, host, address, local_port");
        for (const auto& criterion : value) {
          std::string name = text(criterion.first, "a match criterion");
          std::string wanted = text(criterion.second, name);
          if (name == "user")
            check.match.user = wanted;
          else if (name == "group")
            check.match.group = wanted;
          else if (name == "host")
            check.match.host = wanted;
          else if (name == "address")
            check.match.address = wanted;
          else if (name == "local_port")
            check.match.local_port = wanted;
          else
            fail(criterion.first, "unknown match criterion '" + name + "'");
        }
      } else if (key == "manager") {
        check.manager = text(value, key);
        if (check.manager != "dpkg" && check.manager != "rpm" && check.manager != "any") {
          fail(value, "manager must be dpkg, rpm or any");
        }
      } else if (key == "installed" || key == "enabled" || key == "active" || key == "loaded" || key == "disabled" ||
                 key == "mounted" || key == "world_writable" || key == "suid" || key == "no_owner") {
        static const std::map<std::string, std::optional<bool> Check::*> kSwitches = {
            {"installed", &Check::installed},
            {"enabled", &Check::enabled},
            {"active", &Check::active},
            {"loaded", &Check::loaded},
            {"disabled", &Check::disabled},
            {"mounted", &Check::mounted},
            {"world_writable", &Check::world_writable},
            {"suid", &Check::suid},
            {"no_owner", &Check::no_owner}};
        check.*(kSwitches.at(key)) = boolean(value, key);
      } else if (key == "options") {
        check.options = list(value, key);
      } else if (key == "algorithm") {
        check.algorithm = text(value, key);
        if (check.algorithm != "sha256" && check.algorithm != "sha512" && check.algorithm != "sha1" &&
            check.algorithm != "md5") {
          fail(value, "algorithm must be sha256, sha512, sha1 or md5");
        }
      } else if (key == "depth") {
        double depth = number(value, key);
        if (depth < 0 || depth > 64 || depth != static_cast<int>(depth)) fail(value, "depth must be 0-64");
        check.depth = static_cast<int>(depth);
      } else if (key == "argv") {
        check.argv = list(value, key);
        if (check.argv.empty() || check.argv[0].empty()) fail(value, "argv needs a program");
      } else if (key == "default") {
        check.default_value = text(value, key);
      } else if (key == "version_at_least") {
        check.version_at_least = text(value, key);
      } else if (key == "version_before") {
        check.version_before = text(value, key);
      } else if (key == "exit_code") {
        check.exit_code = static_cast<int>(number(value, key));
      }
    }
    require(check, node);
    return check;
  }

  // The fields without which a check means nothing.
  void require(const Check& check, const YAML::Node& node) const {
    auto need = [&](bool present, const char* field) {
      if (!present) fail(node, std::string("a ") + check.kind + " check needs '" + field + "'");
    };
    const std::string& kind = check.kind;
    if (kind == "file_exists" || kind == "permissions" || kind == "file_content" || kind == "file_hash" ||
        kind == "find" || kind == "mount") {
      need(!check.path.empty(), "path");
    }
    if (kind == "config") {
      need(!check.format.empty(), "format");
      need(!check.key.empty(), "key");
      if (check.format != "sysctl" && check.format != "sshd") need(!check.path.empty(), "path");
    }
    if (kind == "sysctl") need(!check.key.empty(), "key");
    if (kind == "package" || kind == "kernel_module") need(!check.name.empty(), "name");
    if (kind == "package")
      need(check.installed || !check.version_at_least.empty() || !check.version_before.empty(),
           "installed, version_at_least or version_before");
    if (kind == "service") need(!check.name.empty(), "unit");
    if (kind == "accounts") need(!check.rule.empty(), "rule");
    if (kind == "command") need(!check.argv.empty(), "argv");
    if (kind == "permissions")
      need(!check.owner.empty() || !check.group.empty() || check.max_mode, "owner, group or max_mode");
    if (kind == "file_content") need(check.line_matches || check.no_line_matches, "line_matches or no_line_matches");
    if (kind == "file_hash") need(check.expect.equals || !check.expect.one_of.empty(), "equals or one_of");
    if (kind == "service") need(check.enabled || check.active, "enabled or active");
    if (kind == "kernel_module") need(check.loaded || check.disabled, "loaded or disabled");
    if (kind == "accounts") {
      static const std::set<std::string> kRules = {"no_empty_passwords",
                                                   "only_root_has_uid_0",
                                                   "unique_uids",
                                                   "unique_user_names",
                                                   "unique_gids",
                                                   "unique_group_names",
                                                   "no_legacy_plus_entries",
                                                   "password_max_days",
                                                   "password_min_days",
                                                   "password_warn_days",
                                                   "shadow_hashed_passwords"};
      if (kRules.count(check.rule) == 0) fail(node, "unknown accounts rule '" + check.rule + "'");
    }
    if (kind == "config" && check.format == "sshd" && check.path.empty()) {
      // the default file is read; nothing more to require
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
    if (out.check.kind == "config" && out.check.path.empty() && out.check.format == "sshd") {
      out.check.path = "/etc/ssh/sshd_config";
    }
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
