// vigild-worker: the agent process. vigild (the supervisor) starts it with the
// same command line and a report pipe; started by hand, or by
// `vigild --no-supervisor`, it runs alone and takes the instance lock itself.
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdlib>
#include <iostream>

#include "agent/agent.h"
#include "agent/command_line.h"
#include "agent/state_migration.h"
#include "agent/supervisor.h"

int main(int argc, char** argv) {
  // Nothing the agent creates is for other users; logs stay readable by the log group (docs/security.md).
  ::umask(027);
  vigil::CommandLine line;
  {
    CLI::App app{"vigild-worker - the Vigil agent, as vigild runs it"};
    if (auto exit = vigil::parse_command_line(app, line, argc, argv)) return *exit;
  }
  vigil::AgentOptions options;
  options.paths = vigil::Paths::resolve(line.root);
  if (line.migrate_state) return vigil::migrate_state(options.paths);
  if (line.plugin_dir) options.plugin_dir = std::filesystem::path(*line.plugin_dir);
  options.log_to_stderr = line.log_to_stderr;
  options.ready_fd = line.ready_fd;
  if (const char* fd = std::getenv(vigil::kSupervisorFdVariable); fd != nullptr) {
    options.supervisor_fd = std::atoi(fd);
    ::fcntl(options.supervisor_fd, F_SETFD, FD_CLOEXEC);  // not for the commands plugins run
    ::unsetenv(vigil::kSupervisorFdVariable);
  }
  // Alone, a refusal to start is an ordinary failure; supervised, it tells the supervisor to give up.
  int refused = options.supervisor_fd >= 0 ? vigil::kWorkerRefusedToStart : 1;
  bool started = false;
  try {
    vigil::Agent agent(options);
    vigil::Status status = agent.run(&started);
    if (!status.ok()) {
      std::cerr << "vigild: " << status.error() << "\n";
      return started ? 1 : refused;
    }
    if (!agent.restart_reason().empty()) return vigil::kWorkerRestartRequested;
  } catch (const std::exception& error) {
    std::cerr << "vigild: fatal: " << error.what() << "\n";
    return started ? 1 : refused;
  }
  return 0;
}
