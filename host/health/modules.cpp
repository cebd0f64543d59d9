// Step 8, modules: each module's type, state, whether it is enabled, its
// last scan, interval and next scan, and its health: refused, quarantined,
// crashed, overdue; and whether any module works at all.
#include <fmt/format.h>

#include <set>

#include "health/steps.h"
#include "settings/reader.h"

namespace vigil::health {
namespace {

using nlohmann::json;

// A scan this much later than twice its interval is overdue.
constexpr int64_t kScanGraceSeconds = 300;

// The platform's activation list; nullopt when the platform never sent one (every loaded module runs).
std::optional<std::set<std::string>> activated(const Context& context) {
  auto value = context.config("ActivatedModules");
  if (!value) return std::nullopt;
  json list = json::parse(*value, nullptr, false);
  std::set<std::string> modules;
  if (list.is_array()) {
    for (const auto& module : list) {
      if (module.is_string()) modules.insert(module.get<std::string>());
    }
  }
  return modules;
}

std::string when_text(const json& value) {
  return value.is_number() ? utc_time(value.get<int64_t>()) : "-";
}

struct ModuleView {
  std::string module, kind, state, reason;
  bool enabled = true;
  json last_scan = nullptr, next_scan = nullptr;
  int64_t interval = 0;
  int64_t crashes = 0;
  json conditions = json::array();  // what the module itself reports (ABI 1.6), from the running daemon
};

void judge(const Context& context, const ModuleView& view, Step& step) {
  if (view.state == "quarantined") {
    step.add(Severity::kWarning, "module-quarantined", "module " + view.module + " is quarantined: " + view.reason,
             "fix the cause (" + (context.paths.log_dir / (view.module + ".log")).string() +
                 " says what crashed), then vigilctl plugins release " + view.module);
    return;
  }
  for (const auto& condition : view.conditions) {
    std::string severity = condition.value("severity", "");
    step.add(severity == "critical"  ? Severity::kCritical
             : severity == "warning" ? Severity::kWarning
                                     : Severity::kInfo,
             condition.value("code", ""), "module " + view.module + ": " + condition.value("description", ""),
             condition.value("fix", ""));
  }
  if (view.crashes > 0) {
    step.add(Severity::kInfo, "module-crashed",
             fmt::format("module {} crashed the worker {} time(s) (3 quarantine it)", view.module, view.crashes),
             "see " + (context.paths.log_dir / (view.module + ".log")).string() + " and vigild.log");
  }
  if (!view.enabled || view.kind != "scan" || view.interval <= 0) return;
  int64_t overdue_after = 2 * view.interval + kScanGraceSeconds;
  if (view.last_scan.is_number() && context.now - view.last_scan.get<int64_t>() > overdue_after) {
    step.add(Severity::kWarning, "scan-overdue",
             fmt::format("module {} last completed a scan {} ago; its interval is {}", view.module,
                         duration_text(context.now - view.last_scan.get<int64_t>()), duration_text(view.interval)),
             "see " + (context.paths.log_dir / (view.module + ".log")).string() +
                 " for the failing scans; vigilctl demand --type " + view.module + " --wait runs one now");
  }
}

// From the running daemon: its modules and the plugin files it refused.
std::vector<ModuleView> running_modules(const Context& context, Step& step,
                                        const std::optional<std::set<std::string>>& enabled) {
  std::vector<ModuleView> views;
  for (const auto& module : context.status.value("modules", json::array())) {
    ModuleView view;
    view.module = module.value("module", "");
    view.kind = module.value("kind", "");
    view.state = module.value("state", "");
    view.reason = module.value("reason", "");
    view.enabled = view.state != "quarantined" && view.state != "disabled" && (!enabled || enabled->count(view.module));
    view.next_scan = module.value("next_interval_scan", json(nullptr));
    if (module.contains("settings")) view.interval = module["settings"].value("scan_interval", int64_t{0});
    view.conditions = module.value("conditions", json::array());
    views.push_back(std::move(view));
  }
  for (const auto& plugin : context.plugins.is_array() ? context.plugins : json::array()) {
    if (plugin.value("state", "") != "refused" || plugin.value("quarantined", false)) continue;
    step.add(Severity::kWarning, "plugin-refused", "plugin refused: " + plugin.value("reason", std::string()),
             "replace the file with a build for this agent, or remove it (vigilctl plugins lists refusals; "
             "vigilctl plugins reload loads it again)");
  }
  return views;
}

// From the store, vigild being down: the modules the platform activated or that declared settings.
std::vector<ModuleView> stored_modules(const Context& context, const std::optional<std::set<std::string>>& enabled) {
  std::set<std::string> names;
  if (enabled) names = *enabled;
  if (auto declared = context.store->config().module_settings(); declared.ok()) {
    for (const auto& [module, unused] : declared.value()) names.insert(module);
  }
  std::vector<ModuleView> views;
  settings::Reader reader(context.store->config());
  for (const std::string& name : names) {
    ModuleView view;
    view.module = name;
    view.kind = "scan";
    view.state = "not running";
    view.enabled = !enabled || enabled->count(name);
    view.interval = reader.integer("ScanInterval", name);
    views.push_back(std::move(view));
  }
  return views;
}

}  // namespace

Step check_modules(const Context& context) {
  Step step{.name = "modules", .title = "Modules"};
  if (!context.store) {
    step.skipped = true;
    step.lines.push_back("no state store: nothing to read");
    return step;
  }
  auto enabled = activated(context);
  std::vector<ModuleView> views =
      context.daemon_answered() ? running_modules(context, step, enabled) : stored_modules(context, enabled);
  json modules = json::array();
  std::vector<std::vector<std::string>> table = {
      {"MODULE", "TYPE", "STATE", "ENABLED", "LAST SCAN", "INTERVAL", "NEXT SCAN", "HEALTH"}};
  int working = 0;
  for (ModuleView& view : views) {
    if (auto last = context.store->snapshots().last_scan_completed(view.module); last.ok() && last.value()) {
      view.last_scan = *last.value();
    }
    if (auto crashes = context.store->crashes().count(view.module); crashes.ok()) view.crashes = crashes.value();
    if (view.next_scan.is_null() && view.last_scan.is_number() && view.interval > 0 && view.kind == "scan") {
      view.next_scan = view.last_scan.get<int64_t>() + view.interval;
    }
    size_t before = step.findings.size();
    judge(context, view, step);
    bool healthy = true;
    for (size_t i = before; i < step.findings.size(); ++i) healthy &= step.findings[i].severity == Severity::kInfo;
    if (view.enabled && healthy) ++working;
    std::string health = healthy ? "ok" : step.findings.back().code;
    modules.push_back(
        {{"module", view.module},
         {"type", view.kind},
         {"state", view.state},
         {"enabled", view.enabled},
         {"last_scan", view.last_scan.is_number() ? json(utc_time(view.last_scan.get<int64_t>())) : json()},
         {"interval_seconds", view.interval},
         {"next_scan", view.next_scan.is_number() ? json(utc_time(view.next_scan.get<int64_t>())) : json()},
         {"crashes", view.crashes},
         {"health", health}});
    table.push_back({view.module, view.kind, view.state, view.enabled ? "yes" : "no", when_text(view.last_scan),
                     view.interval > 0 ? duration_text(view.interval) : "-", when_text(view.next_scan), health});
  }
  step.details["modules"] = modules;
  step.details["working"] = working;
  // Aligned columns, as vigilctl status prints them.
  std::vector<size_t> widths(table[0].size(), 0);
  for (const auto& row : table) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : table) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) line += row[i] + std::string(widths[i] - row[i].size() + 2, ' ');
    step.lines.push_back(line.substr(0, line.find_last_not_of(' ') + 1));
  }
  if (context.daemon_answered() && working == 0) {
    step.add(Severity::kCritical, "no-module-works", views.empty() ? "no module is loaded" : "no enabled module works",
             views.empty() ? "install the module plugins into " + context.paths.plugin_dir.string() +
                                 " (reinstall vigil-agent), then vigilctl plugins reload"
                           : "fix the modules named above; the platform's activation decides which are enabled");
  }
  return step;
}

}  // namespace vigil::health
