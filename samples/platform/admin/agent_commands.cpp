// admin demand, reprovision, uninstall, rotate-token: commands queued for an agent
// (a waiting agent learns of them within seconds, docs/platform-link.md "Prompt
// orders"); each prints the queued command's id, or with --wait its outcome.
#include <chrono>
#include <iostream>
#include <memory>
#include <thread>

#include "admin.h"

namespace vigil::platform::admin {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct WaitOptions {
  bool wait = false;
  int timeout = 60;
  bool json = false;
};

void add_wait_options(CLI::App& command, WaitOptions& options) {
  command.add_flag("--wait", options.wait,
                   "wait for the agent's outcome (for a scan: until it ends); exit 1 if refused or failed");
  command.add_option("--timeout", options.timeout, "seconds --wait waits (default 60)")->check(CLI::Range(1, 86400));
  command.add_flag("--json", options.json, "print the command (with --wait: and its outcome) as JSON");
}

bool final_outcome(const json& command) {
  const std::string outcome = command.value("outcome", "");
  return outcome != "waiting for the agent" && outcome != "queued";
}

// Prints the queued command, or waits for its final outcome and prints that.
void report(PlatformStore& store, const std::string& agent_id, int64_t id, const WaitOptions& options) {
  auto find = [&]() -> json {
    for (const json& command : store.commands(agent_id, PlatformStore::kCommandsKept)) {
      if (command.value("id", int64_t{0}) == id) return command;
    }
    return nullptr;
  };
  if (!options.wait) {
    std::cout << (options.json ? find().dump(2) : std::to_string(id)) << "\n";
    return;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout);
  json command = find();
  while (!command.is_null() && !final_outcome(command) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    command = find();
  }
  if (command.is_null()) throw std::runtime_error("command " + std::to_string(id) + " is no longer known");
  if (options.json) std::cout << command.dump(2) << "\n";
  std::string outcome = command.value("outcome", "");
  if (!final_outcome(command)) {
    auto agent = store.agent(agent_id);
    throw std::runtime_error("command " + std::to_string(id) + " is still " + outcome + " after " +
                             std::to_string(options.timeout) + " s (agent's last check-in: " +
                             (agent && agent->last_checkin
                                  ? std::to_string(unix_time() - agent->last_checkin) + " s ago"
                                  : std::string("never")) +
                             ")");
  }
  std::string reason = command.value("reason", "");
  std::string control_id = command.value("control_id", "");
  if (!options.json) {
    std::cout << "command " << id << ": " << outcome << (control_id.empty() ? "" : " (ControlId " + control_id + ")")
              << (reason.empty() ? "" : ": " + reason) << "\n";
  }
  if (outcome == "refused" || outcome == "failed" || outcome == "cancelled") {
    throw std::runtime_error("command " + std::to_string(id) + " " + outcome + (reason.empty() ? "" : ": " + reason));
  }
}

// reprovision and uninstall: an agent and nothing else.
Runner define_agent_command(CLI::App& command, std::string kind, json arguments) {
  auto agent_id = std::make_shared<std::string>();
  auto wait = std::make_shared<WaitOptions>();
  command.add_option("--agent", *agent_id, "the agent's id (admin agents lists them)")->required();
  add_wait_options(command, *wait);
  return [agent_id, wait, kind, arguments](const fs::path& data) {
    PlatformStore store = open_store(data);
    require_agent(store, *agent_id);
    report(store, *agent_id, store.queue_command(*agent_id, kind, arguments), *wait);
  };
}

}  // namespace

Runner define_demand(CLI::App& command) {
  struct Options {
    std::string agent_id, module;
    int cpu_throttle = 0;
  };
  auto options = std::make_shared<Options>();
  auto wait = std::make_shared<WaitOptions>();
  command.add_option("--agent", options->agent_id, "the agent's id (admin agents lists them)")->required();
  command.add_option("--module", options->module, "the module to scan (inv, vm, pc, udc, sca, fim, ...)")->required();
  command.add_option("--cpu-throttle", options->cpu_throttle, "0-1000, 0 = none")->check(CLI::Range(0, 1000));
  add_wait_options(command, *wait);
  command.footer("Example: vigil-platform admin demand --agent ID --module inv --wait");
  return [options, wait](const fs::path& data) {
    PlatformStore store = open_store(data);
    require_agent(store, options->agent_id);
    json arguments = {{"module", options->module}, {"cpu_throttle", options->cpu_throttle}};
    report(store, options->agent_id, store.queue_command(options->agent_id, "scan_now", arguments), *wait);
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
