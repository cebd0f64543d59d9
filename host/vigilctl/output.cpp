// Text tables for vigilctl: aligned columns, one block per result table.
#include "vigilctl/output.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace vigil {
namespace {

using nlohmann::json;
using Table = std::vector<std::vector<std::string>>;

// Prints rows with the first row as the header, columns padded to fit.
void print_table(std::ostream& out, const Table& rows, const std::string& indent) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line = indent;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

// Unix seconds as local "YYYY-MM-DD HH:MM:SS".
std::string local_time(const json& seconds) {
  std::time_t when = seconds.get<std::time_t>();
  std::tm local{};
  localtime_r(&when, &local);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &local);
  return text;
}

std::string join(const json& list) {
  std::string text;
  for (const auto& item : list) text += (text.empty() ? "" : ",") + text_of(item);
  return text.empty() ? "-" : text;
}

}  // namespace

std::string text_of(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "-";
  return value.dump();
}

std::vector<std::string> result_columns(const std::vector<const json*>& rows) {
  static const std::vector<std::string> kOutcomes = {"result", "status", "state", "severity"};
  std::vector<std::string> columns;
  for (const json* row : rows) {
    for (const auto& item : (*row)["key"].items()) {
      if (std::find(columns.begin(), columns.end(), item.key()) == columns.end()) columns.push_back(item.key());
    }
  }
  std::set<std::string> others;
  for (const json* row : rows) {
    for (const auto& item : (*row)["values"].items()) {
      if (std::find(columns.begin(), columns.end(), item.key()) == columns.end()) others.insert(item.key());
    }
  }
  for (const std::string& outcome : kOutcomes) {
    if (others.erase(outcome) > 0) columns.push_back(outcome);
  }
  columns.insert(columns.end(), others.begin(), others.end());
  return columns;
}

std::string progress_text(const json& progress) {
  uint64_t total = progress.is_object() ? progress.value("total", uint64_t{0}) : 0;
  if (total == 0) return "";
  return std::to_string(progress.value("done", uint64_t{0})) + " of " + std::to_string(total) + " work units";
}

// The CPU limit in force, and the plugin's own when a setting replaced it.
std::string cpu_in_force(const json& plugin) {
  std::string text = text_of(plugin["cpu_limit"]);
  if (plugin.contains("default_cpu_limit") && plugin["default_cpu_limit"] != plugin["cpu_limit"]) {
    text += " (plugin's own " + text_of(plugin["default_cpu_limit"]) + ")";
  }
  return text;
}

// The default manifests a plugin ships: each one's version (and type when it
// has several), or "none" when it ships none for this machine.
std::string default_manifest_text(const json& plugin) {
  const json shipped = plugin.value("default_manifests", json::array());
  if (shipped.empty()) return "none";
  std::string text;
  for (const auto& manifest : shipped) {
    if (!text.empty()) text += ", ";
    if (shipped.size() > 1) text += text_of(manifest["type"]) + " ";
    text += text_of(manifest["version"]);
  }
  return text;
}

void print_plugins(std::ostream& out, const json& plugins) {
  Table loaded{
      {"MODULE", "NAME", "VERSION", "ABI", "KIND", "KEY", "CPU%", "SCAN EVERY", "MANIFEST TYPES", "DEFAULT MANIFEST"}};
  std::vector<std::string> refused;
  for (const auto& plugin : plugins) {
    if (plugin.at("state") == "loaded") {
      loaded.push_back({text_of(plugin["module"]), text_of(plugin["name"]), text_of(plugin["version"]),
                        text_of(plugin["abi_version"]), text_of(plugin["kind"]),
                        plugin["key_name"].get<std::string>().empty() ? "-" : text_of(plugin["key_name"]),
                        cpu_in_force(plugin), text_of(plugin["scan_interval"]) + " s", join(plugin["manifest_types"]),
                        default_manifest_text(plugin)});
    } else {
      refused.push_back(text_of(plugin["reason"]));
    }
  }
  if (loaded.size() == 1) {
    out << "no plugins loaded\n";
  } else {
    print_table(out, loaded, "");
  }
  for (const auto& reason : refused) out << "refused: " << reason << "\n";
}

void print_status(std::ostream& out, const json& status) {
  const json& daemon = status.at("daemon");
  out << "vigild:   ";
  if (daemon.value("running", false)) {
    out << "running (pid " << text_of(daemon["pid"]) << ", version " << text_of(daemon["version"]) << ")\n";
  } else if (daemon.contains("restarting")) {
    const json& restart = daemon["restarting"];
    double next = restart.value("next_start_in_seconds", 0.0);
    char in[32];
    std::snprintf(in, sizeof(in), "next start in %.1f s", next);
    out << "restarting: " << text_of(restart["reason"]) << " at " << local_time(restart["died_at"]) << ", "
        << (next > 0 ? in : "a new worker is starting") << "\n";
  } else {
    out << "not running\n";
  }
  std::string id = status.value("agent_id", "");
  out << "agent id: " << (id.empty() ? "(not provisioned)" : id) << "\n";
  if (status.contains("platform") && status["platform"].value("configured", false)) {
    const json& platform = status["platform"];
    out << "platform: " << text_of(platform["server"]) << " (" << text_of(platform["state"]);
    if (platform.contains("last_checkin")) out << ", last check-in " << local_time(platform["last_checkin"]);
    out << ")";
    if (platform.value("state", "") != "connected" && platform.contains("last_error")) {
      out << "; last error: " << text_of(platform["last_error"]);
    }
    out << "\n";
    if (platform.contains("route")) out << "route:    " << text_of(platform["route"]) << "\n";
    // A proxy's last failure, also when a later route (direct fallback) connected.
    const json proxies = platform.value("proxies", json::object());  // named: items() of a temporary would dangle
    for (const auto& [proxy, attempt] : proxies.items()) {
      if (attempt.value("state", "") != "failed") continue;
      out << "          proxy " << proxy << " failed at " << local_time(attempt["at"]) << ": "
          << text_of(attempt["error"]) << "\n";
    }
    // Signed plugin updates: the trusted metadata and the last check (docs/design/self-patch.md).
    if (platform.contains("updates")) {
      const json& updates = platform["updates"];
      out << "updates:  " << text_of(updates["state"]) << ": " << text_of(updates["summary"]) << "\n";
      const json plugins = updates.value("plugins", json::array());
      const json staging_errors = updates.value("staging_errors", json::object());
      for (const auto& plugin : plugins) {
        out << "          " << text_of(plugin["module"]) << ": runs " << text_of(plugin["active"]);
        for (const char* slot : {"a", "b"}) {
          if (plugin.contains(slot)) out << "; slot " << slot << " holds " << text_of(plugin[slot]["version"]);
        }
        out << " (" << text_of(plugin["state"]);
        if (plugin.contains("probation_ends")) out << " until " << local_time(plugin["probation_ends"]);
        out << ")";
        if (plugin.contains("last_upgrade")) {
          const json& last = plugin["last_upgrade"];
          out << "; last: " << text_of(last["to"]) << " " << text_of(last["outcome"]) << " " << local_time(last["at"])
              << ": " << text_of(last["reason"]);
        }
        out << "\n";
      }
      for (const auto& [module, error] : staging_errors.items()) {
        out << "          " << module << ": not staged: " << text_of(error) << "\n";
      }
      const json passed_over = updates.value("passed_over", json::object());
      for (const auto& [offered, why] : passed_over.items()) {
        out << "          " << offered << " offered, not taken: " << text_of(why) << "\n";
      }
    }
  }
  if (!status.contains("modules")) return;
  // STATE last: a failed scan's error may be long.
  Table modules{
      {"MODULE", "NAME", "KIND", "MANIFEST", "NEXT INTERVAL SCAN", "LAST SNAPSHOT", "ROWS", "SINCE", "STATE"}};
  std::vector<std::string> quarantined, conditions;
  const json scans = status.value("scans", json::object());
  for (const auto& module : status["modules"]) {
    for (const auto& condition : module.value("conditions", json::array())) {
      conditions.push_back(text_of(module["module"]) + " " + text_of(condition["severity"]) + " [" +
                           text_of(condition["code"]) + "]: " + text_of(condition["description"]) +
                           "; fix: " + text_of(condition["fix"]));
    }
    if (module.value("state", "") == "quarantined") {
      quarantined.push_back(text_of(module["module"]) + ": " + text_of(module["reason"]));
      modules.push_back({text_of(module["module"]), "-", "-", "-", "-", "-", "-", "-", "quarantined"});
      continue;
    }
    const json& last = module["last_snapshot"];
    const json last_scan = scans.value(module.value("module", ""), json::object());
    std::string state = text_of(module["state"]);
    if (module.contains("control_id") && !module["control_id"].get<std::string>().empty()) {
      state += " (" + text_of(module["control_id"]) + ")";
    } else if (module.contains("trigger")) {
      state += " (" + text_of(module["trigger"]) + ")";
    }
    if (std::string progress = progress_text(module.value("progress", json())); !progress.empty()) {
      state += ": " + progress;
    }
    if (state == "idle" && module.contains("no_manifest")) {
      // Nothing to scan: say why, and what to do, where its next scan would be.
      state = text_of(module["no_manifest"]);
    } else if (state == "idle" && last_scan.value("last_result", "") == "failed") {
      state = "last scan failed: " + last_scan.value("last_error", "") + " (at " +
              local_time(last_scan.value("last_ended", json(0))) + ")";
    }
    std::string source = module.contains("manifest_source") && !module["manifest_source"].is_null()
                             ? text_of(module["manifest_source"])
                             : (module.contains("manifests") ? "none" : "-");
    modules.push_back({text_of(module["module"]), text_of(module["name"]), text_of(module["kind"]), source,
                       module.contains("next_interval_scan") && !module["next_interval_scan"].is_null()
                           ? local_time(module["next_interval_scan"])
                           : "-",
                       last.is_null() ? "never" : "#" + text_of(last["id"]) + " " + text_of(last["state"]),
                       last.is_null() ? "-" : text_of(last["row_count"]),
                       module.contains("state_since") ? local_time(module["state_since"]) : "-", state});
  }
  print_table(out, modules, "");
  for (const std::string& line : quarantined) out << "quarantined: " << line << "\n";
  for (const std::string& line : conditions) out << "condition: " << line << "\n";
  if (status.contains("outbox")) {
    const json& outbox = status["outbox"];
    out << "outbox:   " << text_of(outbox["depth"]) << " pending (" << text_of(outbox["bytes"]) << " bytes), "
        << text_of(outbox["dropped"]) << " dropped, last sequence " << text_of(outbox["last_sequence"]) << ", to "
        << text_of(outbox["target"]);
    if (!outbox.value("blocked", "").empty()) out << "; held: " << text_of(outbox["blocked"]);
    out << "\n";
    if (outbox.contains("failing")) {
      for (const auto& [module, failing] : outbox["failing"].items()) {
        out << "          " << module << ": not delivered, retry in " << text_of(failing["retry_in_ms"])
            << " ms: " << text_of(failing["error"]) << "\n";
      }
    }
    if (outbox.value("set_aside", 0) > 0) {
      out << "          " << text_of(outbox["set_aside"]) << " entries set aside (refused by the receiver)";
      const json& recent = outbox["recently_set_aside"];
      if (!recent.empty()) {
        out << ", last: sequence " << text_of(recent[0]["sequence"]) << " of " << text_of(recent[0]["module"]) << ": "
            << text_of(recent[0]["reason"]);
      }
      out << "\n";
    }
  }
  if (status.contains("command_budget")) {
    out << "commands: " << text_of(status["command_budget"]["detail"]) << "\n";
  }
  if (status.contains("self_protection")) {
    const json& protection = status["self_protection"];
    if (!protection.value("on", false)) {
      out << "self-protection: off\n";
    } else {
      out << "self-protection: on, "
          << (protection.value("locked", true)
                  ? std::string("locked")
                  : "unlocked by a platform key for " + text_of(protection["unlocked_for_seconds"]) + " s")
          << "; ptrace: " << text_of(protection["ptrace"]) << "\n";
      for (const json& refused : protection.value("refused_stops", json::array())) {
        out << "  refused: " << refused.get<std::string>() << "\n";
      }
    }
  }
}

void print_results(std::ostream& out, const json& results) {
  if (results.at("snapshot").is_null()) {
    out << "module " << text_of(results["module"]) << ": no snapshot yet\n";
    return;
  }
  const json& snapshot = results["snapshot"];
  out << "module " << text_of(results["module"]) << ", snapshot #" << text_of(snapshot["id"]) << " ("
      << text_of(snapshot["manifest_type"]) << ", " << text_of(snapshot["row_count"]) << " rows)\n";
  // One block per table.
  std::map<std::string, std::vector<const json*>> tables;
  for (const auto& row : results["rows"]) tables[row.at("table").get<std::string>()].push_back(&row);
  for (const auto& [name, rows] : tables) {
    std::vector<std::string> columns = result_columns(rows);
    Table table{columns};
    for (const json* row : rows) {
      std::vector<std::string> cells;
      for (const auto& column : columns) {
        const json& source = (*row)["key"].contains(column) ? (*row)["key"] : (*row)["values"];
        cells.push_back(source.contains(column) ? text_of(source[column]) : "-");
      }
      table.push_back(std::move(cells));
    }
    out << "\n[" << name << "] " << rows.size() << " rows\n";
    print_table(out, table, "  ");
  }
  if (results.contains("next_offset") && !results["next_offset"].is_null()) {
    out << "\nmore rows: --offset " << text_of(results["next_offset"]) << "\n";
  }
}

void print_plugin_history(std::ostream& out, const json& history) {
  auto number_or_dash = [](const json& value) { return value.get<int64_t>() < 0 ? std::string("-") : value.dump(); };
  Table table{{"TIME", "FROM", "TO", "OUTCOME", "SWAP MS", "REVERT MS", "DOWNLOADED", "REASON"}};
  for (const auto& line : history) {
    table.push_back({local_time(line["at"]), text_of(line["from"]), text_of(line["to"]), text_of(line["outcome"]),
                     number_or_dash(line["swap_ms"]), number_or_dash(line["revert_ms"]),
                     number_or_dash(line.value("bytes_downloaded", json(-1))), text_of(line["reason"])});
  }
  print_table(out, table, "");
}

}  // namespace vigil
