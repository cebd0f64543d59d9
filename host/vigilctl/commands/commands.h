// vigilctl's commands: one table names them; each row adds its options (and
// its own subcommands) to its CLI11 subcommand and returns how it runs with
// them, so the help text and the list in errors come from the same rows.
// Exit codes: kOk, kRuntimeError (the message names what was wrong), kUsageError.
// With --json a command prints one JSON document on stdout and nothing else;
// its messages and errors go to stderr.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/paths.h"
#include "store/state_store.h"

namespace vigil::ctl {

constexpr int kOk = 0;
constexpr int kRuntimeError = 1;
constexpr int kUsageError = 2;

// Runs a parsed command; returns its exit code.
using Runner = std::function<int(const Paths& paths)>;

struct Command {
  std::string_view name;
  std::string_view help;
  // Command lines, one a line, for the "Examples:" of its --help.
  std::string_view examples;
  // Adds the command's options to `command`, bound to the returned runner.
  Runner (*define)(CLI::App& command);
};

const std::vector<Command>& commands();

// The definitions, one file each.
Runner define_plugins(CLI::App& command);
Runner define_status(CLI::App& command);
Runner define_results(CLI::App& command);
Runner define_manifest(CLI::App& command);
Runner define_demand(CLI::App& command);
Runner define_keys(CLI::App& command);
Runner define_stop(CLI::App& command);
Runner define_checkin(CLI::App& command);
Runner define_provision(CLI::App& command);
Runner define_config(CLI::App& command);
Runner define_proxy(CLI::App& command);
Runner define_encrypt_string(CLI::App& command);
Runner define_uninstall(CLI::App& command);
Runner define_health(CLI::App& command);
Runner define_diagnostics(CLI::App& command);
Runner define_unlock(CLI::App& command);

// What the commands share.
// Prints "vigilctl: message" on stderr; returns kRuntimeError.
int fail(const std::string& message);
// Sends a request; prints the daemon's error and returns nullopt on failure.
std::optional<nlohmann::json> request(const Paths& paths, const nlohmann::json& body);
// Opens the state store for offline reads, saying so on stderr; nullptr
// (the reason printed) when there is none.
std::unique_ptr<StateStore> open_offline(const Paths& paths);
// While the supervisor restarts a dead worker (base/restart_note.h):
// {"reason", "died_at" (Unix seconds), "next_start_in_seconds" (0 once it is
// starting)}; nullopt otherwise.
std::optional<nlohmann::json> restarting(const Paths& paths);
void print_json(const nlohmann::json& value);
// Adds --json to `command`, bound to `as_json`.
void add_json_flag(CLI::App& command, bool& as_json);
// Stops vigild and waits until its process is gone (the instance lock is free).
// `sp_key`: a platform key, needed while self-protection is on.
int stop_daemon(const Paths& paths, const std::string& sp_key = "");
// Adds --sp-key (docs/self-protection.md) to `command`, bound to `key`.
void add_sp_key_option(CLI::App& command, std::string& key);
// The key as given; "-" reads it from stdin (no secret on a command line).
std::string sp_key_text(const std::string& given);
// When self-protection is off or `key` opened it (a running agent checks the
// key and accepts stops for a while; a stopped one is checked against its
// store): {"self_protection": "off"}, or "open" with "open_for_seconds" (a
// running agent); otherwise nullopt, why printed.
std::optional<nlohmann::json> protection_unlocked(const Paths& paths, const std::string& key);

}  // namespace vigil::ctl
