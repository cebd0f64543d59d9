#include "vigil/vm_rules/rules.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <set>

#include "vigil/packages/dpkg_version.h"
#include "vigil/packages/rpm_version.h"

namespace vigil::vm {

using nlohmann::json;

namespace {

[[noreturn]] void refuse(const std::string& where, const std::string& why) {
  throw std::invalid_argument(where + ": " + why);
}

std::string text_field(const json& object, const char* field, const std::string& where, bool required = true) {
  if (!object.contains(field)) {
    if (required) refuse(where, std::string("'") + field + "' is missing");
    return {};
  }
  if (!object.at(field).is_string() || object.at(field).get<std::string>().empty()) {
    refuse(where, std::string("'") + field + "' must be a non-empty string");
  }
  return object.at(field).get<std::string>();
}

Range parse_range(const json& object, const std::string& where, bool rpm) {
  Range range;
  for (auto [field, slot] : {std::pair{"before", &range.before}, std::pair{"at_most", &range.at_most},
                             std::pair{"at_least", &range.at_least}, std::pair{"equals", &range.equals}}) {
    if (!object.contains(field)) continue;
    std::string version = text_field(object, field, where);
    std::string error;
    if (!rpm && !packages::parse_dpkg_version(version, &error)) refuse(where + "." + field, error);
    *slot = version;
  }
  return range;
}

Condition parse_condition(const json& node, const std::string& where, int depth) {
  if (depth > 32) refuse(where, "conditions nested deeper than 32");
  if (!node.is_object() || node.size() != 1) {
    refuse(where,
           "a condition is an object with exactly one of: all, any, none, package, kernel, file_exists, "
           "file_contains");
  }
  Condition condition;
  // The iterator, not items(): a binding into items()' temporary would dangle (found by ASan).
  auto only = node.begin();
  const std::string& kind = only.key();
  const json& body = only.value();
  std::string here = where + "." + kind;
  if (kind == "all" || kind == "any" || kind == "none") {
    condition.kind = kind == "all"   ? Condition::Kind::kAll
                     : kind == "any" ? Condition::Kind::kAny
                                     : Condition::Kind::kNone;
    if (!body.is_array() || body.empty()) refuse(here, "must be a non-empty list of conditions");
    for (size_t i = 0; i < body.size(); ++i) {
      condition.children.push_back(parse_condition(body[i], here + "[" + std::to_string(i) + "]", depth + 1));
    }
  } else if (kind == "package") {
    condition.kind = Condition::Kind::kPackage;
    if (!body.is_object()) refuse(here, "must be an object: {name, manager, before/at_most/at_least/equals}");
    condition.name = text_field(body, "name", here);
    if (body.contains("manager")) condition.manager = text_field(body, "manager", here);
    if (condition.manager != "dpkg" && condition.manager != "rpm") refuse(here, "manager must be dpkg or rpm");
    condition.range = parse_range(body, here, condition.manager == "rpm");
  } else if (kind == "kernel") {
    condition.kind = Condition::Kind::kKernel;
    if (!body.is_object()) refuse(here, "must be an object: {before/at_most/at_least/equals}");
    condition.range = parse_range(body, here, true);
  } else if (kind == "file_exists") {
    condition.kind = Condition::Kind::kFileExists;
    if (!body.is_string() || body.get<std::string>().empty() || body.get<std::string>()[0] != '/') {
      refuse(here, "must be an absolute path");
    }
    condition.name = body.get<std::string>();
  } else if (kind == "file_contains") {
    condition.kind = Condition::Kind::kFileContains;
    if (!body.is_object()) refuse(here, "must be an object: {path, regex}");
    condition.name = text_field(body, "path", here);
    if (condition.name[0] != '/') refuse(here + ".path", "must be absolute");
    condition.pattern_text = text_field(body, "regex", here);
    try {
      condition.pattern = std::make_shared<std::regex>(condition.pattern_text, std::regex::ECMAScript);
    } catch (const std::regex_error& error) {
      refuse(here + ".regex", std::string("invalid regular expression: ") + error.what());
    }
  } else {
    refuse(where, "unknown condition '" + kind + "'");
  }
  return condition;
}

enum class Ordering { kDpkg, kRpm, kKernel };

int compare(const std::string& a, const std::string& b, Ordering ordering) {
  switch (ordering) {
    case Ordering::kDpkg: return packages::compare_dpkg_versions(a, b);
    case Ordering::kRpm: return packages::compare_rpm_versions(a, b);
    case Ordering::kKernel: return packages::compare_rpm_segments(a, b);  // "6.1.0-18-amd64": segments, no EVR
  }
  return 0;
}

// The first bound the version breaks, or nothing when it is in range; `shown` describes the match.
bool in_range(const std::string& version, const Range& range, Ordering ordering, std::string& shown) {
  if (range.before && compare(version, *range.before, ordering) >= 0) return false;
  if (range.at_most && compare(version, *range.at_most, ordering) > 0) return false;
  if (range.at_least && compare(version, *range.at_least, ordering) < 0) return false;
  if (range.equals && compare(version, *range.equals, ordering) != 0) return false;
  shown = version;
  if (range.at_least) shown = *range.at_least + " <= " + shown;
  if (range.before) shown += " < " + *range.before;
  if (range.at_most) shown += " <= " + *range.at_most;
  if (range.equals) shown += " == " + *range.equals;
  return true;
}

bool holds(const Condition& condition, const Facts& facts, std::vector<std::string>& evidence) {
  switch (condition.kind) {
    case Condition::Kind::kAll:
      for (const auto& child : condition.children) {
        if (!holds(child, facts, evidence)) return false;
      }
      return true;
    case Condition::Kind::kAny:
      for (const auto& child : condition.children) {
        if (holds(child, facts, evidence)) return true;
      }
      return false;
    case Condition::Kind::kNone: {
      std::vector<std::string> ignored;
      for (const auto& child : condition.children) {
        if (holds(child, facts, ignored)) return false;
      }
      evidence.push_back("none of " + std::to_string(condition.children.size()) + " conditions holds");
      return true;
    }
    case Condition::Kind::kPackage: {
      auto manager = facts.packages.find(condition.manager);
      if (manager == facts.packages.end()) return false;
      auto package = manager->second.find(condition.name);
      if (package == manager->second.end()) return false;
      std::string shown;
      Ordering ordering = condition.manager == "rpm" ? Ordering::kRpm : Ordering::kDpkg;
      if (!in_range(package->second, condition.range, ordering, shown)) return false;
      evidence.push_back(condition.name + " " + shown);
      return true;
    }
    case Condition::Kind::kKernel: {
      std::string shown;
      if (facts.kernel_release.empty() || !in_range(facts.kernel_release, condition.range, Ordering::kKernel, shown)) {
        return false;
      }
      evidence.push_back("kernel " + shown);
      return true;
    }
    case Condition::Kind::kFileExists: {
      std::error_code error;
      if (!std::filesystem::exists(facts.root / condition.name.substr(1), error)) return false;
      evidence.push_back(condition.name + " exists");
      return true;
    }
    case Condition::Kind::kFileContains: {
      std::ifstream file(facts.root / condition.name.substr(1));
      size_t number = 0;
      for (std::string line; std::getline(file, line);) {
        ++number;
        if (std::regex_search(line, *condition.pattern)) {
          evidence.push_back(condition.name + ":" + std::to_string(number) + " matches /" + condition.pattern_text +
                             "/");
          return true;
        }
      }
      return false;
    }
  }
  return false;
}

}  // namespace

std::vector<Rule> parse_rules(std::string_view manifest) {
  json document;
  try {
    document = json::parse(manifest);
  } catch (const json::exception& error) {  // syntax, and numbers out of range (found by the fuzzer)
    throw std::invalid_argument(std::string("manifest is not valid JSON: ") + error.what());
  }
  if (!document.is_object() || !document.contains("rules") || !document.at("rules").is_array()) {
    throw std::invalid_argument("manifest: expected {\"rules\": [...]}");
  }
  std::vector<Rule> rules;
  std::set<std::string> ids;
  const json& list = document.at("rules");
  rules.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const json& entry = list[i];
    std::string where = "rule " + std::to_string(i + 1);
    if (!entry.is_object()) refuse(where, "must be an object");
    Rule rule;
    rule.id = text_field(entry, "id", where);
    where += " (" + rule.id + ")";
    if (!ids.insert(rule.id).second) refuse(where, "id used by an earlier rule");
    rule.title = text_field(entry, "title", where);
    if (!entry.contains("severity") || !entry.at("severity").is_number_integer() ||
        entry.at("severity").get<int>() < 1 || entry.at("severity").get<int>() > 5) {
      refuse(where, "'severity' must be an integer 1-5");
    }
    rule.severity = entry.at("severity").get<int>();
    if (entry.contains("cves")) {
      if (!entry.at("cves").is_array()) refuse(where, "'cves' must be a list of strings");
      for (const auto& cve : entry.at("cves")) {
        if (!cve.is_string()) refuse(where, "'cves' must be a list of strings");
        rule.cves.push_back(cve.get<std::string>());
      }
    }
    rule.fixed_in = text_field(entry, "fixed_in", where, false);
    if (!entry.contains("when")) refuse(where, "'when' is missing");
    rule.when = parse_condition(entry.at("when"), where + ".when", 0);
    rules.push_back(std::move(rule));
  }
  return rules;
}

std::optional<Finding> evaluate(const Rule& rule, const Facts& facts) {
  std::vector<std::string> evidence;
  if (!holds(rule.when, facts, evidence)) return std::nullopt;
  Finding finding;
  for (const auto& item : evidence) finding.evidence += (finding.evidence.empty() ? "" : "; ") + item;
  return finding;
}

}  // namespace vigil::vm
