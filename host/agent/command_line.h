// vigild's command line, shared by the supervisor (vigild) and the worker it
// starts (vigild-worker), so both accept and describe the same options.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "version.h"
#include "vigil/plugin.h"

namespace vigil {

struct CommandLine {
  std::optional<std::string> root;
  std::optional<std::string> plugin_dir;
  int ready_fd = -1;
  bool log_to_stderr = false;
  bool no_supervisor = false;
  bool migrate_state = false;
};

inline void add_command_line(CLI::App& app, CommandLine& line) {
  app.add_option("--root", line.root, "Relocate every path under DIR (also $VIGIL_ROOT)")->type_name("DIR");
  app.add_option("--plugin-dir", line.plugin_dir, "Load plugins from DIR instead of <root>/usr/lib/vigil/plugins")
      ->type_name("DIR");
  app.add_option("--ready-fd", line.ready_fd, "Write READY=1 to this file descriptor once ready")->type_name("FD");
  app.add_flag("--log-stderr", line.log_to_stderr, "Also write the daemon log to stderr");
  app.add_flag("--no-supervisor", line.no_supervisor,
               "Run the agent in this process, without the supervisor that restarts it after a crash");
  app.add_flag("--migrate-state", line.migrate_state,
               "Bring the state store to this version's schema and exit (packages do this on upgrade)");
  app.set_version_flag("--version", std::string("vigild ") + kVigilVersion + " (plugin ABI " +
                                        std::to_string(VIGIL_ABI_VERSION_MAJOR) + "." +
                                        std::to_string(VIGIL_ABI_VERSION_MINOR) + ")");
}

// Parses argv into `line`; returns the exit status to stop with, if parsing ends the run.
inline std::optional<int> parse_command_line(CLI::App& app, CommandLine& line, int argc, char** argv) {
  add_command_line(app, line);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? 0 : 2;
  }
  return std::nullopt;
}

}  // namespace vigil
