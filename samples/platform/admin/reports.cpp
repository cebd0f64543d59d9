// admin agents, results, events: what the platform holds, as JSON (agents also as a table).
#include <algorithm>
#include <array>
#include <iostream>
#include <memory>

#include "admin.h"
#include "vigil/tuf/metadata.h"

namespace vigil::platform::admin {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::optional<std::string> only_module(const std::string& module) {
  if (module.empty()) return std::nullopt;
  return module;
}

// "Bad (2): no-module-works: no enabled module works"; "-" for an agent that never sent its health.
std::string health_text(const json& health) {
  if (!health.is_object()) return "-";
  std::string text = health.value("overall", "?");
  if (health.value("findings", 0) > 0) text += " (" + std::to_string(health.value("findings", 0)) + ")";
  if (!health.value("top_code", "").empty()) {
    text += ": " + health.value("top_code", "") + ": " + health.value("top_text", "");
  }
  return text;
}

std::string time_text(int64_t unix_seconds) {
  if (unix_seconds == 0) return "never";
  return tuf::format_time(unix_seconds);
}

// One line per agent, columns aligned; the health last (it is the longest).
void print_table(const std::vector<AgentRecord>& agents) {
  std::vector<std::array<std::string, 5>> rows = {{"AGENT", "HOST", "STATE", "LAST CHECK-IN", "HEALTH"}};
  for (const auto& agent : agents) {
    rows.push_back({agent.id, agent.hostname, agent.state, time_text(agent.last_checkin), health_text(agent.health)});
  }
  std::array<size_t, 5> widths{};
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i + 1 < row.size(); ++i) line += row[i] + std::string(widths[i] - row[i].size() + 2, ' ');
    std::cout << line << row.back() << "\n";
  }
}

}  // namespace

Runner define_agents(CLI::App& command) {
  auto text = std::make_shared<bool>(false);
  command.add_flag("--text", *text, "a table (agent, host, state, last check-in, health) instead of JSON");
  return [text](const fs::path& data) {
    PlatformStore store = open_store(data);
    std::vector<AgentRecord> agents = store.agents();
    if (*text) {
      print_table(agents);
      return;
    }
    json list = json::array();
    for (const auto& agent : agents) list.push_back(agent_json(agent));
    std::cout << list.dump(2) << "\n";
  };
}

Runner define_results(CLI::App& command) {
  struct Options {
    std::string agent_id, module;
    bool summary = false;
  };
  auto options = std::make_shared<Options>();
  command.add_option("--agent", options->agent_id)->required();
  command.add_option("--module", options->module);
  command.add_flag("--summary", options->summary, "snapshots and upload counts only, not the rows");
  return [options](const fs::path& data) {
    PlatformStore store = open_store(data);
    require_agent(store, options->agent_id);
    json document = {{"agent", agent_json(*store.agent(options->agent_id))},
                     {"uploads", store.upload_counts(options->agent_id)},
                     {"snapshots", store.snapshots(options->agent_id)}};
    if (!options->summary) document["results"] = store.results(options->agent_id, only_module(options->module));
    std::cout << document.dump(2) << "\n";
  };
}

Runner define_commands(CLI::App& command) {
  struct Options {
    std::string agent_id;
    int64_t limit = 20;
    bool text = false;
  };
  auto options = std::make_shared<Options>();
  command.add_option("--agent", options->agent_id, "the agent's id")->required();
  command.add_option("--limit", options->limit, "at most this many, newest first")->check(CLI::Range(1, 200));
  command.add_flag("--text", options->text, "a table (id, kind, outcome, reason) instead of JSON");
  return [options](const fs::path& data) {
    PlatformStore store = open_store(data);
    require_agent(store, options->agent_id);
    json list = store.commands(options->agent_id, options->limit);
    if (!options->text) {
      std::cout << list.dump(2) << "\n";
      return;
    }
    for (const json& command : list) {
      std::string what = command.at("kind").get<std::string>();
      if (command.at("arguments").contains("module")) what += " " + command.at("arguments").value("module", "");
      std::string control_id = command.value("control_id", "");
      std::string reason = command.value("reason", "");
      std::cout << command.at("id").get<int64_t>() << "  " << what << "  " << command.value("outcome", "")
                << (control_id.empty() ? "" : " (ControlId " + control_id + ")")
                << (reason.empty() ? "" : ": " + reason) << "\n";
    }
  };
}

Runner define_events(CLI::App& command) {
  struct Options {
    std::string agent_id, module;
    int64_t limit = 100;
  };
  auto options = std::make_shared<Options>();
  command.add_option("--agent", options->agent_id)->required();
  command.add_option("--module", options->module);
  command.add_option("--limit", options->limit, "at most this many")->check(CLI::PositiveNumber);
  return [options](const fs::path& data) {
    PlatformStore store = open_store(data);
    require_agent(store, options->agent_id);
    std::cout << store.events(options->agent_id, only_module(options->module), options->limit).dump(2) << "\n";
  };
}

}  // namespace vigil::platform::admin
