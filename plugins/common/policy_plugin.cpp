#include "policy_plugin.h"

#include <cstdio>

#include "vigil/policy/policy.h"

namespace vigil::policy {

void declare_settings(Host& host) {
  host.declare(Setting::path("Root", "/", "the root the policies' paths are under"));
}

void scan_policies(Host& host, Scan& scan, std::string_view manifest, const PluginOptions& options) {
  std::vector<Policy> policies;
  try {
    policies = parse_policies(manifest, options.manifest_name);
  } catch (const PolicyError& error) {
    throw vigil::Error(error.what(), VIGIL_E_INVALID_ARG);
  }
  Environment environment;
  environment.root = host.setting("Root");
  environment.run = [&scan](const std::vector<std::string>& argv) {
    auto result = scan.run(argv);
    return CommandOutput{result.exit_code, std::move(result.output)};
  };
  environment.checkpoint = [&scan] { scan.checkpoint(); };  // a walk of every file stops with the agent
  size_t total = 0, done = 0;
  for (const auto& policy : policies) total += policy.controls.size();
  for (const auto& policy : policies) {
    size_t counts[4] = {0, 0, 0, 0};
    for (const auto& control : policy.controls) {
      scan.checkpoint();
      CheckResult result = evaluate(control, environment);
      ++counts[static_cast<int>(result.outcome)];
      std::string references;
      for (const auto& reference : control.references) references += (references.empty() ? "" : ", ") + reference;
      scan.emit("controls", {{"policy", policy.id}, {"control", control.id}},
                {{"title", control.title},
                 {"severity", control.severity},
                 {"result", outcome_name(result.outcome)},
                 {"evidence", result.evidence.substr(0, 2000)},
                 {"references", references},
                 {"policy_version", policy.version}});
      scan.progress(++done, total);
    }
    size_t passed = counts[static_cast<int>(Outcome::kPass)];
    size_t failed = counts[static_cast<int>(Outcome::kFail)];
    size_t errors = counts[static_cast<int>(Outcome::kError)];
    size_t not_applicable = counts[static_cast<int>(Outcome::kNotApplicable)];
    // Errors count as applicable and not passed: a control that cannot be checked is not compliant.
    size_t applicable = passed + failed + errors;
    if (options.scores) {
      char score[16];
      std::snprintf(score, sizeof(score), "%.1f",
                    applicable == 0 ? 100.0 : 100.0 * static_cast<double>(passed) / static_cast<double>(applicable));
      scan.emit("scores", {{"policy", policy.id}},
                {{"title", policy.title},
                 {"version", policy.version},
                 {"passed", std::to_string(passed)},
                 {"failed", std::to_string(failed)},
                 {"errors", std::to_string(errors)},
                 {"not_applicable", std::to_string(not_applicable)},
                 {"applicable", std::to_string(applicable)},
                 {"score", score}});
    }
    host.info("policy " + policy.id + " " + policy.version + ": " + std::to_string(passed) + " passed, " +
              std::to_string(failed) + " failed, " + std::to_string(errors) + " errors, " +
              std::to_string(not_applicable) + " not applicable");
  }
}

}  // namespace vigil::policy
