// vigild: the Vigil agent daemon.
#include <CLI/CLI.hpp>

#include <iostream>

#include "agent/agent.h"
#include "version.h"

int main(int argc, char** argv) {
  CLI::App app{"vigild - the Vigil endpoint agent daemon"};
  std::optional<std::string> root;
  std::optional<std::string> plugin_dir;
  int ready_fd = -1;
  bool log_to_stderr = false;
  app.add_option("--root", root, "Relocate every path under DIR (also $VIGIL_ROOT)")->type_name("DIR");
  app.add_option("--plugin-dir", plugin_dir, "Load plugins from DIR instead of <root>/usr/lib/vigil/plugins")
      ->type_name("DIR");
  app.add_option("--ready-fd", ready_fd, "Write READY=1 to this file descriptor once ready")->type_name("FD");
  app.add_flag("--log-stderr", log_to_stderr, "Also write the daemon log to stderr");
  app.set_version_flag("--version", std::string("vigild ") + vigil::kVigilVersion + " (plugin ABI " +
                                        std::to_string(VIGIL_ABI_VERSION_MAJOR) + "." +
                                        std::to_string(VIGIL_ABI_VERSION_MINOR) + ")");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? 0 : 2;
  }

  vigil::AgentOptions options;
  options.paths = vigil::Paths::resolve(root);
  if (plugin_dir) options.plugin_dir = std::filesystem::path(*plugin_dir);
  options.ready_fd = ready_fd;
  options.log_to_stderr = log_to_stderr;
  try {
    vigil::Agent agent(options);
    vigil::Status status = agent.run();
    if (!status.ok()) {
      std::cerr << "vigild: " << status.error() << "\n";
      return 1;
    }
  } catch (const std::exception& error) {
    std::cerr << "vigild: fatal: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
