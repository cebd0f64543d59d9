// vigil-platform admin: the commands that manage the platform's database
// (docs/platform.md). One table names them; each row adds its options to its
// CLI11 subcommand and returns how it runs with them, so the help text and the
// list in errors come from the same rows.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform_store.h"

namespace vigil::platform::admin {

// Runs a parsed command against the data directory; prints its result and
// throws std::runtime_error with what went wrong.
using Runner = std::function<void(const std::filesystem::path& data)>;

struct Command {
  std::string_view name;
  std::string_view help;
  // Adds the command's options to `command`, bound to the returned runner.
  Runner (*define)(CLI::App& command);
};

const std::vector<Command>& commands();

// Adds `admin` and its commands to `app`. `chosen` becomes the runner of the
// command given once `app` has parsed.
CLI::App* add_admin_commands(CLI::App& app, Runner& chosen);
// The error for `admin` given no command or an unknown one, naming the known
// ones; nullopt for the other parse errors, which CLI11 words.
std::optional<std::string> command_error(const CLI::App& admin, const CLI::ParseError& error);

// The definitions, one per command (grouped in files by what they manage).
Runner define_init(CLI::App& command);
Runner define_key_create(CLI::App& command);
Runner define_activate(CLI::App& command);
Runner define_deactivate(CLI::App& command);
Runner define_profile_set(CLI::App& command);
Runner define_manifest_set(CLI::App& command);
Runner define_package_set(CLI::App& command);
Runner define_advisories(CLI::App& command);
Runner define_signing_keys(CLI::App& command);
Runner define_protection_key(CLI::App& command);
Runner define_demand(CLI::App& command);
Runner define_reprovision(CLI::App& command);
Runner define_uninstall(CLI::App& command);
Runner define_rotate_token(CLI::App& command);
Runner define_agents(CLI::App& command);
Runner define_results(CLI::App& command);
Runner define_events(CLI::App& command);
Runner define_commands(CLI::App& command);

// What the commands share.
std::filesystem::path database(const std::filesystem::path& data);
// The store of an initialised data directory.
PlatformStore open_store(const std::filesystem::path& data);
std::string read_file(const std::filesystem::path& file);
// Where the update signing keys live: <data>/signing-keys.
std::filesystem::path signing_key_dir(const std::filesystem::path& data);
// This machine's architecture as uname -m says it ("x86_64").
std::string machine_arch();
int64_t unix_time();
ActivationKey require_key(PlatformStore& store, const std::string& id);
void require_agent(PlatformStore& store, const std::string& id);
nlohmann::json agent_json(const AgentRecord& agent);

}  // namespace vigil::platform::admin
