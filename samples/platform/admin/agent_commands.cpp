// admin demand, reprovision, uninstall, rotate-token: commands queued for an agent's next
// check-in; each prints the queued command's id.
#include <iostream>
#include <memory>

#include "admin.h"

namespace vigil::platform::admin {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// reprovision and uninstall: an agent and nothing else.
Runner define_agent_command(CLI::App& command, std::string kind, json arguments) {
  auto agent_id = std::make_shared<std::string>();
  command.add_option("--agent", *agent_id)->required();
  return [agent_id, kind, arguments](const fs::path& data) {
    PlatformStore store = open_store(data);
    require_agent(store, *agent_id);
    std::cout << store.queue_command(*agent_id, kind, arguments) << "\n";
  };
}

}  // namespace

Runner define_demand(CLI::App& command) {
  struct Options {
    std::string agent_id, module;
    int cpu_throttle = 0;
  };
  auto options = std::make_shared<Options>();
  command.add_option("--agent", options->agent_id)->required();
  command.add_option("--module", options->module)->required();
  command.add_option("--cpu-throttle", options->cpu_throttle, "0-1000, 0 = none")->check(CLI::Range(0, 1000));
  return [options](const fs::path& data) {
    PlatformStore store = open_store(data);
    require_agent(store, options->agent_id);
    json arguments = {{"module", options->module}, {"cpu_throttle", options->cpu_throttle}};
    std::cout << store.queue_command(options->agent_id, "scan_now", arguments) << "\n";
  };
}

Runner define_reprovision(CLI::App& command) {
  return define_agent_command(command, "reprovision", {{"reason", "requested"}});
}

Runner define_uninstall(CLI::App& command) {
  return define_agent_command(command, "uninstall", json::object());
}

// The new token is made when the order is delivered (service.cpp), a fresh
// one per delivery; the old one is refused once the agent used the new one.
Runner define_rotate_token(CLI::App& command) {
  return define_agent_command(command, "rotate_token", json::object());
}

}  // namespace vigil::platform::admin
