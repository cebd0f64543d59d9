// What the policy engine's tests share: a temp root to write the files a
// check reads, and one control evaluated against it.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "test_support.h"
#include "vigil/policy/policy.h"

namespace vigil::policy::test_util {

// `text` as the file `path` (absolute, as on the target system) under `root`.
inline void write_under(const std::filesystem::path& root, const std::string& path, const std::string& text,
                        unsigned mode = 0644) {
  std::filesystem::path file = root / std::filesystem::path(path).relative_path();
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
  ::chmod(file.c_str(), mode);
}

class PolicyUnderRoot : public ::testing::Test {
 protected:
  void SetUp() override { environment_.root = dir_.path(); }

  void write(const std::string& path, const std::string& text, unsigned mode = 0644) {
    write_under(dir_.path(), path, text, mode);
  }

  // The result of one control whose check is `check` (YAML), optionally applicable only if `applies`.
  CheckResult run(const std::string& check, const std::string& applies = "") {
    std::string text = "policy: t\nversion: '1'\ncontrols:\n  - id: c\n    title: t\n";
    if (!applies.empty()) text += "    applies_if:\n      " + applies + "\n";
    text += "    check:\n      " + check + "\n";
    auto policies = parse_policies(text, "test.yaml");
    environment_.caches.reset();
    return evaluate(policies[0].controls[0], environment_);
  }
  // "outcome: evidence" of one control (tests that want less hide it with their own).
  std::string outcome(const std::string& check) {
    auto result = run(check);
    return std::string(outcome_name(result.outcome)) + ": " + result.evidence;
  }
  // The evidence of a check that must err.
  std::string error_of(const std::string& check) {
    auto result = run(check);
    EXPECT_EQ(result.outcome, Outcome::kError) << check << " -> " << result.evidence;
    return result.evidence;
  }

  test::TempDir dir_;
  Environment environment_;
};

}  // namespace vigil::policy::test_util
