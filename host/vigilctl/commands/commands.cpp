// The table of vigilctl's commands and what they share.
#include "vigilctl/commands/commands.h"

#include <algorithm>
#include <chrono>
#include <iostream>

#include "base/restart_note.h"
#include "control_socket/control_client.h"
#include "link/protection_key.h"

namespace vigil::ctl {

using nlohmann::json;

const std::vector<Command>& commands() {
  // In the order `vigilctl --help` lists them.
  static const std::vector<Command> table = {
      {"plugins", "List plugins: loaded ones and refusals with their reason",
       "vigilctl plugins\n"
       "vigilctl plugins --json\n"
       "vigilctl plugins reload inv\n"
       "vigilctl plugins history inv --json",
       define_plugins},
      {"status", "Show the daemon, agent id, platform link, module states and scan progress",
       "vigilctl status\n"
       "vigilctl status --json | jq '.modules[] | {module, state}'",
       define_status},
      {"results", "Show the rows of a module's latest snapshot",
       "vigilctl results --module inv --table packages\n"
       "vigilctl results -m pc --where result=fail --where severity=high\n"
       "vigilctl results -m inv --limit 100 --offset 100 --json",
       define_results},
      {"manifest", "Manage the manifests modules scan with",
       "vigilctl manifest set --module inv --file inventory.manifest\n"
       "vigilctl manifest set -m pc -f cis.manifest --version 2 --json\n"
       "vigilctl manifest remove --module inv      # its default manifest applies again",
       define_manifest},
      {"demand", "Start an on-demand scan; prints its ControlId and returns (--wait: follows it to the end)",
       "vigilctl demand --type inv\n"
       "vigilctl demand --type vm --cpu-throttle 200 --wait\n"
       "vigilctl demand --type inv --wait --json\n"
       "vigilctl action=demand type=inv cputhrottle=100",
       define_demand},
      {"keys", "Read and write the key hive (ScanOnDemand/<Key>/...)",
       "vigilctl keys list --json\n"
       "vigilctl keys get ScanOnDemand/Inventory CpuLimit\n"
       "vigilctl keys set ScanOnDemand/Inventory CpuLimit 50",
       define_keys},
      {"stop", "Stop vigild and wait until it is gone",
       "vigilctl stop\n"
       "vigilctl stop --sp-key - --json < sp-key.txt",
       define_stop},
      {"unlock",
       "Open self-protection for 10 minutes with a platform key (maintenance, a package upgrade); prints off or "
       "open for N s",
       "vigilctl unlock --sp-key vsp1.…\n"
       "vigilctl unlock --sp-key - --json < sp-key.txt",
       define_unlock},
      {"checkin", "Check in with the platform now instead of at the next interval",
       "vigilctl checkin\n"
       "vigilctl checkin --wait --timeout 30\n"
       "vigilctl checkin --wait --json",
       define_checkin},
      {"provision", "Provision against a platform: CustomerId=… ActivationId=… WebServiceUri=… (or the flags)",
       "vigilctl provision CustomerId=UUID ActivationId=UUID WebServiceUri=https://platform.example:8443\n"
       "vigilctl provision --customer-id UUID --activation-id UUID --server-uri https://platform.example "
       "--ca-bundle /etc/vigil/ca.pem --json",
       define_provision},
      {"config", "Set, get, show or unset the agent's settings (config set Key=Value …)",
       "vigilctl config set LogLevel=4 fim.HashThreads=4\n"
       "vigilctl config get LogLevel --json\n"
       "vigilctl config show --json\n"
       "vigilctl config unset LogLevel",
       define_config},
      {"proxy", "Set, show or delete the proxy settings (slash forms /u /n /p /a /d /w /h /c /t work too)",
       "vigilctl proxy --url http://proxy.example:3128 --show\n"
       "vigilctl proxy --url http://proxy.example:3128 --user alice --password-stdin < password.txt\n"
       "vigilctl proxy /u:http://proxy.example:3128 /c\n"
       "vigilctl proxy --show --json",
       define_proxy},
      {"encrypt-string", "Print an encrypted #TOKEN form of TEXT (stdin when omitted)",
       "vigilctl encrypt-string alice\n"
       "vigilctl encrypt-string --json < password.txt",
       define_encrypt_string},
      {"uninstall",
       "Stop the agent and remove it (the package when it was installed as one); no --json: dpkg or rpm write to "
       "stdout",
       "vigilctl uninstall\n"
       "vigilctl uninstall --purge --sp-key - < sp-key.txt",
       define_uninstall},
      {"health", "Check every part of the agent, say what to fix; the exit status is the overall health",
       "vigilctl health\n"
       "vigilctl health --json --timeout 10\n"
       "vigilctl health --canary --canary-wait 60",
       define_health},
      {"diagnostics", "Write one archive for support: logs, configuration, status, health; secrets redacted",
       "vigilctl diagnostics\n"
       "vigilctl diagnostics --output /tmp/vigil-diagnostics.tar.gz --json",
       define_diagnostics},
  };
  return table;
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
  std::cerr << "vigilctl: vigild is " << (restarting(paths) ? "restarting its worker" : "not running")
            << "; read from the state store\n";
  return std::move(store.value());
}

std::optional<json> restarting(const Paths& paths) {
  auto note = read_restart_note(paths);
  if (!note || !instance_lock_held(paths)) return std::nullopt;  // no supervisor: a stale note
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  int64_t tenths = std::max<int64_t>(0, (note->next_start_ms - now.count() + 99) / 100);  // rounded up
  return json{{"reason", note->reason},
              {"died_at", note->died_at},
              {"next_start_in_seconds", static_cast<double>(tenths) / 10}};
}

void print_json(const json& value) {
  std::cout << value.dump(2) << "\n";
}

void add_json_flag(CLI::App& command, bool& as_json) {
  command.add_flag("--json", as_json, "Print one JSON document instead of text");
}

void add_sp_key_option(CLI::App& command, std::string& key) {
  command.add_option("--sp-key", key,
                     "self-protection key for this agent from its platform (vigil-platform admin protection-key); "
                     "- reads it from stdin");
}

std::optional<json> protection_unlocked(const Paths& paths, const std::string& key) {
  if (daemon_running(paths.control_socket())) {
    json unlock = {{"command", "protection_unlock"}};
    if (!key.empty()) unlock["sp_key"] = key;
    auto response = request(paths, unlock);
    if (!response) return std::nullopt;
    const json& protection = (*response)["protection"];
    if (!protection.value("on", false)) return json{{"self_protection", "off"}};
    return json{{"self_protection", "open"},
                {"open_for_seconds", protection.value("unlocked_for_seconds", int64_t{0})}};
  }
  if (!std::filesystem::exists(paths.state_db())) return json{{"self_protection", "off"}};
  auto store = StateStore::open(paths.state_db());
  if (!store.ok() || !link::self_protection_on(*store.value())) return json{{"self_protection", "off"}};
  if (key.empty()) {
    fail("self-protection is on: this needs --sp-key KEY, a key for this agent from its platform");
    return std::nullopt;
  }
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  if (Status checked = link::check_protection_key(*store.value(), key, now.count()); !checked) {
    fail(checked.error());
    return std::nullopt;
  }
  return json{{"self_protection", "open"}};  // nothing to hold open while vigild is down
}

Runner define_unlock(CLI::App& command) {
  auto key = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  add_sp_key_option(command, *key);
  add_json_flag(command, *as_json);
  return [key, as_json](const Paths& paths) {
    auto state = protection_unlocked(paths, sp_key_text(*key));
    if (!state) return kRuntimeError;
    if (*as_json) {
      print_json(*state);
    } else if ((*state)["self_protection"] == "off") {
      std::cout << "self-protection: off\n";
    } else if (state->contains("open_for_seconds")) {
      std::cout << "self-protection: open for " << (*state)["open_for_seconds"] << " s\n";
    } else {
      std::cout << "self-protection: open (vigild is not running; the key is valid for this agent)\n";
    }
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
