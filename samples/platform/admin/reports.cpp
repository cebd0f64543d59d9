// admin agents, results, events: what the platform holds, as JSON.
#include <iostream>
#include <memory>

#include "admin.h"

namespace vigil::platform::admin {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::optional<std::string> only_module(const std::string& module) {
  if (module.empty()) return std::nullopt;
  return module;
}

}  // namespace

Runner define_agents(CLI::App&) {
  return [](const fs::path& data) {
    PlatformStore store = open_store(data);
    json list = json::array();
    for (const auto& agent : store.agents()) list.push_back(agent_json(agent));
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
