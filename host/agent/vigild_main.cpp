// vigild: the Vigil agent daemon. This executable is only the supervisor; the
// agent runs in vigild-worker, which it starts, so the supervisor maps none of
// the agent's libraries or plugins and stays small.
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>

#include "agent/command_line.h"
#include "agent/supervisor.h"
#include "base/error_text.h"

int main(int argc, char** argv) {
  // Nothing the agent creates is for other users; logs stay readable by the log group (docs/security.md).
  ::umask(027);
  vigil::CommandLine line;
  {
    CLI::App app{"vigild - the Vigil endpoint agent daemon"};
    if (auto exit = vigil::parse_command_line(app, line, argc, argv)) return *exit;
  }
  std::filesystem::path worker = vigil::worker_executable();
  if (line.no_supervisor || line.migrate_state) {
    // The worker alone is the unsupervised agent (and owns the state store): it takes the same command line.
    std::string path = worker.string();
    argv[0] = path.data();
    ::execv(argv[0], argv);
    std::cerr << "vigild: cannot run " << path << ": " << vigil::error_text(errno) << "\n";
    return 1;
  }
  vigil::SupervisorOptions supervisor;
  supervisor.paths = vigil::Paths::resolve(line.root);
  supervisor.worker = worker;
  supervisor.worker_args = {"--root", supervisor.paths.root.string()};
  if (line.plugin_dir) supervisor.worker_args.insert(supervisor.worker_args.end(), {"--plugin-dir", *line.plugin_dir});
  if (line.log_to_stderr) supervisor.worker_args.push_back("--log-stderr");
  supervisor.ready_fd = line.ready_fd;
  return vigil::run_supervisor(supervisor);
}
