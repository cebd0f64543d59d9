// The sample policies (samples/policies/*.yaml) against their fixtures
// (samples/policies/fixtures/<same name>): every control must pass on its
// pass fixture and fail on each of its fail fixtures, each built as a fresh
// root from the fixture file's base (or, with base_from, another file's). A control without fixtures, a fixture
// for no control, and a command check (its result would be this machine's,
// not the fixture's) fail the test. The count of controls per benchmark
// section is printed for docs/cis-debian12.md.
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "policy_under_root.h"
#include "test_support.h"
#include "vigil/policy/policy.h"

namespace vigil::policy {
namespace {

namespace fs = std::filesystem;

const fs::path kSamples = fs::path(VIGIL_SOURCE_DIR) / "samples/policies";

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// One file of a fixture: its text, or a map {text|append|dir|link|absent, mode, uid, gid}.
void apply(const fs::path& root, const std::string& path, const YAML::Node& value) {
  fs::path file = root / fs::path(path).relative_path();
  std::error_code ignored;
  if (value.IsScalar()) {
    test_util::write_under(root, path, value.as<std::string>());
    return;
  }
  ASSERT_TRUE(value.IsMap()) << path << ": a file is its text or a map";
  unsigned mode = value["mode"] ? std::stoul(value["mode"].as<std::string>(), nullptr, 8) : 0644;
  if (value["absent"]) {
    fs::remove_all(file, ignored);
  } else if (value["dir"]) {
    fs::create_directories(file);
    ::chmod(file.c_str(), value["mode"] ? mode : 0755);
  } else if (value["link"]) {
    fs::create_directories(file.parent_path());
    fs::remove(file, ignored);
    fs::create_symlink(value["link"].as<std::string>(), file);
  } else if (value["append"]) {
    test_util::write_under(root, path, read_file(file) + value["append"].as<std::string>(), mode);
  } else {
    ASSERT_TRUE(value["text"]) << path << ": text, append, dir, link or absent";
    test_util::write_under(root, path, value["text"].as<std::string>(), mode);
  }
  // Owners take root; without it the control is skipped (reads_owners).
  if ((value["uid"] || value["gid"]) && ::geteuid() == 0) {
    ASSERT_EQ(::lchown(file.c_str(), value["uid"] ? value["uid"].as<uid_t>() : static_cast<uid_t>(-1),
                       value["gid"] ? value["gid"].as<gid_t>() : static_cast<gid_t>(-1)),
              0)
        << path;
  }
}

void apply_all(const fs::path& root, const YAML::Node& files) {
  if (!files) return;
  for (const auto& file : files) apply(root, file.first.as<std::string>(), file.second);
}

// Whether a condition reads file owners: as another user than root, the
// fixture's files cannot belong to root.
bool reads_owners(const Condition& condition) {
  if (condition.op != Condition::Op::kCheck)
    return std::any_of(condition.children.begin(), condition.children.end(), reads_owners);
  const Check& check = condition.check;
  return (check.kind == "permissions" && (!check.owner.empty() || !check.group.empty())) ||
         (check.kind == "find" && (check.no_owner || check.no_group)) ||
         (check.kind == "accounts" && (check.rule == "interactive_homes" || check.rule == "interactive_dot_files"));
}

bool runs_commands(const Condition& condition) {
  if (condition.op != Condition::Op::kCheck)
    return std::any_of(condition.children.begin(), condition.children.end(), runs_commands);
  const Check& check = condition.check;
  return check.kind == "command" || (check.kind == "audit_rule" && check.source == "loaded");  // auditctl -l
}

// "CIS Debian 12 5.1.3" -> "5.1"; a top-level section stays whole.
std::string section_of(const Control& control) {
  static const std::regex kSection(R"(^CIS Debian 12 (\d+(\.\d+)?))");
  for (const auto& reference : control.references) {
    std::smatch found;
    if (std::regex_search(reference, found, kSection)) return found[1];
  }
  return "(none)";
}

std::string outcome_of(const Control& control, const YAML::Node& base, const YAML::Node& files) {
  test::TempDir root;
  apply_all(root.path(), base);
  apply_all(root.path(), files);
  Environment environment;
  environment.root = root.path();
  auto result = evaluate(control, environment);
  return std::string(outcome_name(result.outcome)) + ": " + result.evidence;
}

std::vector<fs::path> fixture_files() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kSamples / "fixtures"))
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

TEST(SamplePolicies, EveryControlPassesAndFailsOnItsFixtures) {
  for (const fs::path& fixture_file : fixture_files()) {
    SCOPED_TRACE(fixture_file.string());
    fs::path policy_file = kSamples / fixture_file.filename();
    ASSERT_TRUE(fs::exists(policy_file)) << "fixtures for a policy that does not exist";
    auto policies = parse_policies(read_file(policy_file), policy_file.filename().string());
    ASSERT_EQ(policies.size(), 1u);
    YAML::Node fixtures = YAML::LoadFile(fixture_file.string());
    YAML::Node base =
        fixtures["base_from"]
            ? YAML::LoadFile((fixture_file.parent_path() / fixtures["base_from"].as<std::string>()).string())["base"]
            : fixtures["base"];
    YAML::Node cases = fixtures["controls"];
    ASSERT_TRUE(cases.IsMap()) << "a fixture file has controls: {id: {pass: ..., fail: ...}}";

    std::set<std::string> ids;
    std::map<std::string, int> per_section;
    int skipped = 0;
    for (const Control& control : policies[0].controls) {
      SCOPED_TRACE(control.id + " (line " + std::to_string(control.line) + ")");
      ids.insert(control.id);
      ++per_section[section_of(control)];
      EXPECT_FALSE(runs_commands(control.check)) << "a command check reads this machine, not the fixture";
      YAML::Node fixture = cases[control.id];
      if (!fixture || !fixture["pass"] || !fixture["fail"]) {
        ADD_FAILURE() << "no pass and fail fixture";
        continue;
      }
      if (::geteuid() != 0 && reads_owners(control.check)) {
        ++skipped;
        continue;
      }
      EXPECT_TRUE(outcome_of(control, base, fixture["pass"]).starts_with("pass: "))
          << outcome_of(control, base, fixture["pass"]);
      YAML::Node fails = fixture["fail"];
      if (fails.IsMap()) {
        EXPECT_TRUE(outcome_of(control, base, fails).starts_with("fail: ")) << outcome_of(control, base, fails);
      } else {
        for (const auto& fail : fails)
          EXPECT_TRUE(outcome_of(control, base, fail).starts_with("fail: ")) << outcome_of(control, base, fail);
      }
    }
    for (const auto& entry : cases)
      EXPECT_TRUE(ids.count(entry.first.as<std::string>())) << entry.first << ": no such control";

    std::cout << policies[0].id << ": " << policies[0].controls.size() << " controls";
    for (const auto& [section, count] : per_section)
      std::cout << (section == per_section.begin()->first ? " (" : ", ") << section << ": " << count;
    std::cout << ")\n";
    if (skipped)
      std::cout << "  " << skipped << " controls read file owners: skipped, not running as root (the fixtures' files "
                << "belong to uid " << ::geteuid() << ")\n";
  }
}

}  // namespace
}  // namespace vigil::policy
