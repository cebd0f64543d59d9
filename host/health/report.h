// What `vigilctl health` found: numbered steps, each with its findings (a
// code, a severity, what is wrong and the fix), the facts of the JSON report,
// and the overall health that the findings decide (docs/health.md gives the
// rule and the exit status of each).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace vigil::health {

// The JSON report's schema version (docs/health.md); bumped when a field
// changes meaning or goes away, not when one is added.
inline constexpr int kSchemaVersion = 1;

enum class Severity { kInfo, kWarning, kCritical };

struct Finding {
  std::string code;  // stable, kebab-case: "service-down", "proxy-unreachable", …
  Severity severity = Severity::kInfo;
  std::string description;  // what is wrong, with the numbers
  std::string fix;          // what an operator does about it
};

struct Step {
  std::string name{};                // "service", "connectivity", … (JSON key)
  std::string title{};               // "Service running"
  std::vector<std::string> lines{};  // what the step saw, for the console
  nlohmann::json details = nlohmann::json::object();
  std::vector<Finding> findings{};
  bool not_available = false;  // a placeholder: the check does not exist in this version
  bool skipped = false;        // could not apply (e.g. nothing to connect to)

  void add(Severity severity, std::string code, std::string description, std::string fix) {
    findings.push_back({std::move(code), severity, std::move(description), std::move(fix)});
  }
  // "ok", "info", "warning", "critical", "skipped" or "not available".
  std::string outcome() const;
};

enum class Overall { kGood, kPoor, kBad, kNotInstalled, kNotProvisioned, kToolError };

struct Report {
  std::vector<Step> steps;
  nlohmann::json facts = nlohmann::json::object();  // timestamp, ids, resources, … (docs/health.md)
  bool installed = true;
  bool provisioned = true;
  bool tool_error = false;
  bool daemon_running = false;
  double wall_seconds = 0;

  std::vector<const Finding*> findings() const;
  Overall overall() const;
};

// The rule of docs/health.md, first match wins: Tool Error, Not Installed,
// Not Provisioned, Bad (a critical finding), Poor (a warning), Good.
Overall overall_of(bool tool_error, bool installed, bool provisioned, const std::vector<const Finding*>& findings);
std::string_view overall_name(Overall overall);
// vigilctl health's exit status: 0 Good, 1 Tool Error, 3 Poor, 4 Bad,
// 5 Not Provisioned, 6 Not Installed (2 stays vigilctl's usage error).
int exit_code(Overall overall);
std::string_view severity_name(Severity severity);

// The JSON report (schema kSchemaVersion).
nlohmann::json report_json(const Report& report);
// The console report: every step numbered, its lines and findings with their fixes.
std::string console_text(const Report& report);
// The short text report: overall health and the findings.
std::string short_text(const Report& report);

}  // namespace vigil::health
