// The table of vigilctl's commands and what they share.
#include "vigilctl/commands/commands.h"

#include <iostream>

#include "control_socket/control_client.h"

namespace vigil::ctl {

using nlohmann::json;

const std::vector<Command>& commands() {
  // In the order `vigilctl --help` lists them.
  static const std::vector<Command> table = {
      {"plugins", "List plugins: loaded ones and refusals with their reason", define_plugins},
      {"status", "Show the daemon, agent id and module states", define_status},
      {"results", "Show the rows of a module's latest snapshot", define_results},
      {"manifest", "Manage the manifests modules scan with", define_manifest},
      {"demand", "Start an on-demand scan; prints its ControlId and returns", define_demand},
      {"keys", "Read and write the key hive (ScanOnDemand/<Key>/...)", define_keys},
      {"stop", "Stop vigild", define_stop},
      {"checkin", "Check in with the platform now instead of at the next interval", define_checkin},
      {"provision", "Provision against a platform: CustomerId=… ActivationId=… WebServiceUri=… (or the flags)",
       define_provision},
      {"config", "Set, get, show or unset the agent's settings (config set Key=Value …)", define_config},
      {"proxy", "Set, show or delete the proxy settings (slash forms /u /n /p /a /d /w /h /c /t work too)",
       define_proxy},
      {"encrypt-string", "Print an encrypted #TOKEN form of TEXT (stdin when omitted)", define_encrypt_string},
      {"uninstall", "Stop the agent and remove it (the package when it was installed as one)", define_uninstall},
      {"health", "Check every part of the agent, say what to fix; the exit status is the overall health",
       define_health},
      {"diagnostics", "Write one archive for support: logs, configuration, status, health; secrets redacted",
       define_diagnostics},
  };
  return table;
}

std::string command_names() {
  std::string names;
  for (const Command& command : commands()) names += (names.empty() ? "" : ", ") + std::string(command.name);
  return names;
}

int fail(const std::string& message) {
  std::cerr << "vigilctl: " << message << "\n";
  return kRuntimeError;
}

std::optional<json> request(const Paths& paths, const json& body) {
  auto response = call_daemon(paths.control_socket(), body);
  if (!response.ok()) {
    fail(response.error());
    return std::nullopt;
  }
  if (!response.value().value("ok", false)) {
    fail(response.value().value("error", "vigild refused the request"));
    return std::nullopt;
  }
  return response.value();
}

std::unique_ptr<StateStore> open_offline(const Paths& paths) {
  if (!std::filesystem::exists(paths.state_db())) {
    fail("vigild is not running and there is no state store at " + paths.state_db().string());
    return nullptr;
  }
  auto store = StateStore::open(paths.state_db());
  if (!store.ok()) {
    fail(store.error());
    return nullptr;
  }
  std::cerr << "vigilctl: vigild is not running; read from the state store\n";
  return std::move(store.value());
}

void print_json(const json& value) {
  std::cout << value.dump(2) << "\n";
}

}  // namespace vigil::ctl
