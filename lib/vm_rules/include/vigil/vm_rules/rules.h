// Vulnerability detection rules (docs/vulnerability-management.md): parsed
// from the manifest's JSON, checked with clear errors, evaluated against the
// installed packages, the running kernel and files under a root.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vigil::vm {

// A version range; every bound given must hold.
struct Range {
  std::optional<std::string> before;    // version <  before
  std::optional<std::string> at_most;   // version <= at_most
  std::optional<std::string> at_least;  // version >= at_least
  std::optional<std::string> equals;    // version == equals
};

struct Condition {
  enum class Kind { kAll, kAny, kNone, kPackage, kKernel, kFileExists, kFileContains } kind = Kind::kAll;
  std::vector<Condition> children;  // all / any / none
  std::string name;                 // package name, or file path
  std::string manager = "dpkg";     // dpkg | rpm
  Range range;
  std::shared_ptr<std::regex> pattern;  // file_contains
  std::string pattern_text;
};

struct Rule {
  std::string id;
  std::string title;
  int severity = 0;  // 1..5
  std::vector<std::string> cves;
  std::string fixed_in;
  Condition when;
};

// Throws std::invalid_argument naming the rule (index and id) and the field.
std::vector<Rule> parse_rules(std::string_view manifest);

struct Facts {
  // manager -> package name (as dpkg-query names it; also the bare name) -> version
  std::unordered_map<std::string, std::unordered_map<std::string, std::string>> packages;
  std::string kernel_release;
  std::filesystem::path root = "/";
};

struct Finding {
  std::string evidence;  // what matched, e.g. "libc6 2.36-9 < 2.36-9+deb12u4"
};

// A finding when the rule's condition holds.
std::optional<Finding> evaluate(const Rule& rule, const Facts& facts);

}  // namespace vigil::vm
