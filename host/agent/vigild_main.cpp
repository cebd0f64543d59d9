// vigild: the Vigil agent daemon.
#include <CLI/CLI.hpp>

#include <iostream>

#include "agent/agent.h"
#include "agent/supervisor.h"
#include "version.h"

int main(int argc, char** argv) {
  CLI::App app{"vigild - the Vigil endpoint agent daemon"};
  std::optional<std::string> root;
  std::optional<std::string> plugin_dir;
  int ready_fd = -1;
  bool log_to_stderr = false;
  bool no_supervisor = false;
  app.add_option("--root", root, "Relocate every path under DIR (also $VIGIL_ROOT)")->type_name("DIR");
  app.add_option("--plugin-dir", plugin_dir, "Load plugins from DIR instead of <root>/usr/lib/vigil/plugins")
      ->type_name("DIR");
  app.add_option("--ready-fd", ready_fd, "Write READY=1 to this file descriptor once ready")->type_name("FD");
  app.add_flag("--log-stderr", log_to_stderr, "Also write the daemon log to stderr");
  app.add_flag("--no-supervisor", no_supervisor,
               "Run the agent in this process, without the supervisor that restarts it after a crash");
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
  options.log_to_stderr = log_to_stderr;

  // One agent process; its exit status tells the supervisor whether to restart it.
  auto run_worker = [&options](int worker_ready_fd) {
    options.ready_fd = worker_ready_fd;
    bool started = false;
    try {
      vigil::Agent agent(options);
      vigil::Status status = agent.run(&started);
      if (!status.ok()) {
        std::cerr << "vigild: " << status.error() << "\n";
        return started ? 1 : vigil::kWorkerRefusedToStart;
      }
    } catch (const std::exception& error) {
      std::cerr << "vigild: fatal: " << error.what() << "\n";
      return started ? 1 : vigil::kWorkerRefusedToStart;
    }
    return 0;
  };
  if (no_supervisor) {
    int status = run_worker(ready_fd);
    return status == vigil::kWorkerRefusedToStart ? 1 : status;
  }
  options.instance_locked = true;
  vigil::SupervisorOptions supervisor;
  supervisor.paths = options.paths;
  supervisor.ready_fd = ready_fd;
  return vigil::run_supervisor(supervisor, run_worker);
}
