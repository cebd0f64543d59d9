// vigilctl: the operator tool. Talks to vigild over the control socket and,
// for read-only commands, reads the state store directly when vigild is down.
// The commands are in commands/ (one table, commands/commands.cpp).
// Exit codes: 0 ok, 1 runtime error, 2 usage error.
#include <sys/stat.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <map>
#include <optional>

#include "base/file_safety.h"
#include "base/paths.h"
#include "version.h"
#include "vigilctl/agent_access.h"
#include "vigilctl/commands/commands.h"
#include "vigilctl/proxy_command.h"

namespace {

using vigil::ctl::kOk;
using vigil::ctl::kUsageError;

std::vector<std::string> translate_key_value_form(const std::vector<std::string>& words) {
  std::vector<std::string> kept;
  std::map<std::string, std::string> pairs;
  for (const std::string& arg : words) {
    auto equals = arg.find('=');
    bool key_value = arg.rfind("-", 0) != 0 && equals != std::string::npos && equals > 0;
    if (!key_value) {
      kept.push_back(arg);
      continue;
    }
    std::string key = arg.substr(0, equals);
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    pairs[key] = arg.substr(equals + 1);
  }
  std::vector<std::string> args;
  if (pairs.count("action") > 0 && pairs["action"] == "demand") {
    args = kept;
    args.insert(args.end(), {"demand", "--type", pairs["type"]});
    if (pairs.count("cputhrottle") > 0) args.insert(args.end(), {"--cpu-throttle", pairs["cputhrottle"]});
    for (const auto& [key, unused] : pairs) {
      if (key != "action" && key != "type" && key != "cputhrottle") args.push_back("--unknown-" + key);
    }
  } else {
    args = words;
  }
  return {args.rbegin(), args.rend()};  // CLI11 takes them last first
}

// The words as CLI11 is to parse them: the proxy command's slash forms and
// the key=value form turned into options.
std::vector<std::string> translated_words(int argc, char** argv) {
  std::vector<std::string> words(argv + 1, argv + argc);
  if (auto first = std::find(words.begin(), words.end(), "proxy"); first != words.end()) {
    std::vector<std::string> after = vigil::translate_proxy_slash_options({first + 1, words.end()});
    words.erase(first + 1, words.end());
    words.insert(words.end(), after.begin(), after.end());
  }
  // The operators' form from other agents: "action=demand type=vm cputhrottle=100".
  return translate_key_value_form(words);
}

// The error for a missing or unknown command (or subcommand, as of "keys"),
// naming the known ones; nullopt for the other parse errors, which CLI11 words.
std::optional<std::string> command_error(const CLI::App& app, const CLI::ParseError& error) {
  const CLI::App* parsed = &app;
  std::string path;
  while (!parsed->get_subcommands().empty()) {
    parsed = parsed->get_subcommands().front();
    path += parsed->get_name() + " ";
  }
  std::string known;
  for (const CLI::App* command :
       parsed->get_subcommands([](const CLI::App* sub) { return !sub->get_name().empty(); })) {
    known += (known.empty() ? "" : ", ") + command->get_name();
  }
  if (known.empty()) return std::nullopt;
  std::vector<std::string> given = parsed->remaining();
  if (given.empty() && dynamic_cast<const CLI::RequiredError*>(&error) != nullptr)
    return (path.empty() ? std::string("a command is needed") : path + "needs a command") + ": " + known;
  if (!given.empty() && !given.front().starts_with("-"))
    return "unknown command '" + path + given.front() + "' (known: " + known + ")";
  return std::nullopt;
}

// The "Examples:" footer of a --help: the command lines, indented.
std::string examples_footer(std::string_view lines) {
  std::string footer = "Examples:\n";
  for (size_t start = 0; start < lines.size();) {
    size_t end = std::min(lines.find('\n', start), lines.size());
    footer += "  " + std::string(lines.substr(start, end - start)) + "\n";
    start = end + 1;
  }
  return footer;
}

}  // namespace

int main(int argc, char** argv) {
  // What vigilctl creates (the state store before vigild ever ran, the secret key) is the agent's alone.
  ::umask(077);
  CLI::App app{"vigilctl - operate the Vigil agent", "vigilctl"};
  app.require_subcommand(1);
  std::optional<std::string> root;
  app.add_option("--root", root, "Relocate every path under DIR (also $VIGIL_ROOT)")->type_name("DIR");
  app.set_version_flag("--version", std::string("vigilctl ") + vigil::kVigilVersion);
  app.footer(examples_footer("vigilctl status\nvigilctl results --module inv --where name=bash --json\n"
                             "vigilctl COMMAND --help") +
             "\nExit status: 0 success, 1 failure, 2 usage error; health: its overall health (0 Good, 3 Poor, 4 Bad,\n"
             "5 Not Provisioned, 6 Not Installed, 1 Tool Error).\n"
             "--json: one JSON document on stdout; messages and errors go to stderr.");

  vigil::ctl::Runner chosen;
  for (const vigil::ctl::Command& command : vigil::ctl::commands()) {
    auto* subcommand = app.add_subcommand(std::string(command.name), std::string(command.help));
    subcommand->footer(examples_footer(command.examples));  // before define: its own subcommands inherit it
    subcommand->callback([&chosen, run = command.define(*subcommand)] { chosen = run; });
  }

  try {
    app.parse(translated_words(argc, argv));
  } catch (const CLI::ParseError& error) {
    if (auto message = command_error(app, error)) {
      std::cerr << "vigilctl: " << *message << "\n";
      return kUsageError;
    }
    int code = app.exit(error);
    return code == 0 ? kOk : kUsageError;
  }
  vigil::Paths paths = vigil::Paths::resolve(root);
  if (vigil::Status access = vigil::require_agent_access(paths); !access.ok()) {
    std::cerr << "vigilctl: " << access.error() << "\n";
    return vigil::ctl::kRuntimeError;
  }
  if (std::string override_note = vigil::configure_unsafe_file_override(paths); !override_note.empty()) {
    std::cerr << "vigilctl: " << override_note << "\n";
  }
  vigil::trust_agent_account(paths);
  return chosen(paths);
}
