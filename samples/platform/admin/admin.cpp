// The table of admin commands and what they share.
#include "admin.h"

#include <sys/utsname.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace vigil::platform::admin {

namespace fs = std::filesystem;
using nlohmann::json;

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"init", "make the database, a CA and server certificate, a customer and a key", define_init},
      {"key-create", "make an activation key; prints its id", define_key_create},
      {"profile-set", "create or replace a configuration profile (JSON file)", define_profile_set},
      {"activate", "activate modules for an activation key's agents", define_activate},
      {"deactivate", "deactivate modules for an activation key's agents", define_deactivate},
      {"manifest-set", "publish a module's manifest", define_manifest_set},
      {"demand", "queue an on-demand scan for an agent", define_demand},
      {"reprovision", "tell an agent to take a new identity", define_reprovision},
      {"uninstall", "tell an agent to uninstall itself", define_uninstall},
      {"rotate-token", "give an agent a new token at its next check-in; the old one is refused once it is used",
       define_rotate_token},
      {"agents", "list agents (JSON; --text: a table with each one's health)", define_agents},
      {"results", "an agent's current results (JSON)", define_results},
      {"events", "an agent's latest events, oldest first (JSON)", define_events},
      {"commands", "an agent's commands and what became of each (JSON; --text: one line each)", define_commands},
      {"package-set", "publish a plugin file, signed with the update keys (see signing-keys)", define_package_set},
      {"advisories",
       "import security advisories (OSV, Debian Security Tracker) as VM manifests per OS release: import, list",
       define_advisories},
      {"signing-keys",
       "the keys that sign plugin updates: init, rotate --role R, show (not the activation keys of key-create)",
       define_signing_keys},
      {"protection-key",
       "a key that lets one agent be stopped, uninstalled or unprotected for --hours (signed with the root keys)",
       define_protection_key},
  };
  return table;
}

namespace {

// One convention with vigilctl: --json is accepted everywhere, also after a
// nested command (signing-keys show --json); these commands print JSON already.
void accept_json_flag(CLI::App& command) {
  if (command.get_option_no_throw("--json") == nullptr) {
    command.add_flag("--json")->description("print JSON (this command's output is JSON already)");
  }
  for (CLI::App* nested : command.get_subcommands({})) accept_json_flag(*nested);
}

}  // namespace

CLI::App* add_admin_commands(CLI::App& app, Runner& chosen) {
  auto* admin = app.add_subcommand("admin", "manage the platform's database");
  admin->require_subcommand(1);
  for (const Command& command : commands()) {
    auto* subcommand = admin->add_subcommand(std::string(command.name), std::string(command.help));
    subcommand->callback([&chosen, run = command.define(*subcommand)] { chosen = run; });
    accept_json_flag(*subcommand);
  }
  return admin;
}

std::optional<std::string> command_error(const CLI::App& admin, const CLI::ParseError& error) {
  if (!admin.parsed() || !admin.get_subcommands().empty()) return std::nullopt;
  std::string known;
  for (const Command& command : commands()) known += (known.empty() ? "" : ", ") + std::string(command.name);
  std::vector<std::string> given = admin.remaining();
  if (given.empty() && dynamic_cast<const CLI::RequiredError*>(&error) != nullptr)
    return "admin needs a command: " + known;
  if (!given.empty() && !given.front().starts_with("-"))
    return "unknown admin command '" + given.front() + "' (known: " + known + ")";
  return std::nullopt;
}

fs::path signing_key_dir(const fs::path& data) {
  return data / "signing-keys";
}

std::string machine_arch() {
  struct utsname names {};
  ::uname(&names);
  return names.machine;
}

int64_t unix_time() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

fs::path database(const fs::path& data) {
  return data / "platform.db";
}

PlatformStore open_store(const fs::path& data) {
  if (!fs::exists(database(data))) throw std::runtime_error(data.string() + " is not initialised: run admin init");
  return PlatformStore(database(data));
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

ActivationKey require_key(PlatformStore& store, const std::string& id) {
  auto key = store.key(id);
  if (!key) throw std::runtime_error("no activation key " + id);
  return *key;
}

void require_agent(PlatformStore& store, const std::string& id) {
  if (!store.agent(id)) throw std::runtime_error("no agent " + id);
}

json agent_json(const AgentRecord& agent) {
  return {{"agent_id", agent.id},
          {"hostname", agent.hostname},
          {"state", agent.state},
          {"customer_id", agent.customer_id},
          {"activation_id", agent.activation_id},
          {"reason", agent.reason},
          {"previous_agent_id", agent.previous_agent_id},
          {"provisioned_at", agent.provisioned_at},
          {"last_checkin", agent.last_checkin},
          {"last_sequence", agent.last_sequence},
          {"outbox_depth", agent.outbox_depth},
          {"modules", agent.modules},
          {"health", agent.health},
          {"ignored_settings", agent.ignored_settings}};
}

}  // namespace vigil::platform::admin
