// The table of vigilctl's commands and what they share.
#include "vigilctl/commands/commands.h"

#include <chrono>
#include <iostream>

#include "control_socket/control_client.h"
#include "link/protection_key.h"

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
      {"unlock", "Open self-protection for 10 minutes with a platform key (maintenance, a package upgrade)",
       define_unlock},
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

void add_sp_key_option(CLI::App& command, std::string& key) {
  command.add_option("--sp-key", key,
                     "self-protection key for this agent from its platform (vigil-platform admin protection-key); "
                     "- reads it from stdin");
}

bool protection_unlocked(const Paths& paths, const std::string& key) {
  if (daemon_running(paths.control_socket())) {
    json unlock = {{"command", "protection_unlock"}};
    if (!key.empty()) unlock["sp_key"] = key;
    return request(paths, unlock).has_value();
  }
  if (!std::filesystem::exists(paths.state_db())) return true;
  auto store = StateStore::open(paths.state_db());
  if (!store.ok() || !link::self_protection_on(*store.value())) return true;
  if (key.empty()) {
    fail("self-protection is on: this needs --sp-key KEY, a key for this agent from its platform");
    return false;
  }
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  Status checked = link::check_protection_key(*store.value(), key, now.count());
  if (!checked) fail(checked.error());
  return checked.ok();
}

Runner define_unlock(CLI::App& command) {
  auto key = std::make_shared<std::string>();
  add_sp_key_option(command, *key);
  return [key](const Paths& paths) {
    if (!protection_unlocked(paths, sp_key_text(*key))) return kRuntimeError;
    std::cout << "self-protection is off or open for 10 minutes: stops and changes to the agent's files are "
                 "allowed\n";
    return kOk;
  };
}

std::string sp_key_text(const std::string& given) {
  if (given != "-") return given;
  std::string key;
  std::getline(std::cin, key);
  return key;
}

}  // namespace vigil::ctl
