// The overall health rule, and the report as JSON and as text.
#include "health/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "version.h"

namespace vigil::health {

using nlohmann::json;

std::string Step::outcome() const {
  if (not_available) return "not available";
  if (skipped && findings.empty()) return "skipped";
  Severity worst = Severity::kInfo;
  for (const Finding& finding : findings) worst = std::max(worst, finding.severity);
  if (findings.empty()) return "ok";
  return std::string(severity_name(worst));
}

std::vector<const Finding*> Report::findings() const {
  std::vector<const Finding*> all;
  for (const Step& step : steps) {
    for (const Finding& finding : step.findings) all.push_back(&finding);
  }
  return all;
}

Overall Report::overall() const {
  return overall_of(tool_error, installed, provisioned, findings());
}

Overall overall_of(bool tool_error, bool installed, bool provisioned, const std::vector<const Finding*>& findings) {
  if (tool_error) return Overall::kToolError;
  if (!installed) return Overall::kNotInstalled;
  if (!provisioned) return Overall::kNotProvisioned;
  auto has = [&](Severity severity) {
    return std::any_of(findings.begin(), findings.end(),
                       [&](const Finding* finding) { return finding->severity == severity; });
  };
  if (has(Severity::kCritical)) return Overall::kBad;
  if (has(Severity::kWarning)) return Overall::kPoor;
  return Overall::kGood;
}

std::string_view overall_name(Overall overall) {
  switch (overall) {
    case Overall::kGood: return "Good";
    case Overall::kPoor: return "Poor";
    case Overall::kBad: return "Bad";
    case Overall::kNotInstalled: return "Not Installed";
    case Overall::kNotProvisioned: return "Not Provisioned";
    case Overall::kToolError: return "Tool Error";
  }
  return "Tool Error";
}

int exit_code(Overall overall) {
  switch (overall) {
    case Overall::kGood: return 0;
    case Overall::kToolError: return 1;
    case Overall::kPoor: return 3;
    case Overall::kBad: return 4;
    case Overall::kNotProvisioned: return 5;
    case Overall::kNotInstalled: return 6;
  }
  return 1;
}

std::string_view severity_name(Severity severity) {
  switch (severity) {
    case Severity::kInfo: return "info";
    case Severity::kWarning: return "warning";
    case Severity::kCritical: return "critical";
  }
  return "critical";
}

json report_json(const Report& report) {
  json steps = json::array();
  json errors = json::array();
  for (size_t i = 0; i < report.steps.size(); ++i) {
    const Step& step = report.steps[i];
    steps.push_back({{"number", i + 1},
                     {"name", step.name},
                     {"title", step.title},
                     {"outcome", step.outcome()},
                     {"details", step.details}});
    for (const Finding& finding : step.findings) {
      errors.push_back({{"code", finding.code},
                        {"severity", severity_name(finding.severity)},
                        {"step", step.name},
                        {"description", finding.description},
                        {"fix", finding.fix}});
    }
  }
  json out = {{"schema_version", kSchemaVersion},
              {"tool", {{"name", "vigilctl health"}, {"version", kVigilVersion}}},
              {"overall", overall_name(report.overall())},
              {"exit_code", exit_code(report.overall())},
              {"installed", report.installed},
              {"provisioned", report.provisioned},
              {"daemon_running", report.daemon_running},
              {"wall_seconds", report.wall_seconds},
              {"steps", steps},
              {"errors", errors}};
  out.update(report.facts);
  return out;
}

namespace {

std::string finding_line(const Finding& finding) {
  return fmt::format("{}: {} [{}]\n      fix: {}", severity_name(finding.severity), finding.description, finding.code,
                     finding.fix);
}

}  // namespace

std::string console_text(const Report& report) {
  std::ostringstream out;
  for (size_t i = 0; i < report.steps.size(); ++i) {
    const Step& step = report.steps[i];
    out << fmt::format("{:>2}. {:<28} {}\n", i + 1, step.title, step.outcome());
    for (const std::string& line : step.lines) out << "      " << line << "\n";
    for (const Finding& finding : step.findings) out << "    " << finding_line(finding) << "\n";
  }
  out << "\noverall health: " << overall_name(report.overall()) << "\n";
  return out.str();
}

std::string short_text(const Report& report) {
  std::ostringstream out;
  out << "Vigil health check (vigilctl " << kVigilVersion << ", schema " << kSchemaVersion << ")\n";
  if (report.facts.contains("timestamp")) out << "time: " << report.facts["timestamp"].get<std::string>() << "\n";
  out << "overall health: " << overall_name(report.overall()) << "\n";
  auto findings = report.findings();
  if (findings.empty()) out << "no findings\n";
  for (const Finding* finding : findings) out << "- " << finding_line(*finding) << "\n";
  return out.str();
}

}  // namespace vigil::health
