// vigilctl uninstall: the agent leaves this host (docs/installing.md). When
// Vigil was installed as a package, dpkg or rpm removes it (their scripts stop
// the service and, on purge, delete every trace); otherwise (a build tree, a
// relocated --root) vigilctl stops vigild and, with --purge, deletes the
// agent's files itself.
#include <spawn.h>
#include <sys/wait.h>

#include <iostream>

#include "control_socket/control_client.h"
#include "link/identity.h"
#include "link/platform_link.h"
#include "vigilctl/commands/commands.h"

extern char** environ;

namespace vigil::ctl {
namespace {

// Runs `argv` (looked up in PATH) with our stdout and stderr; its exit status, or -1.
int run_program(std::vector<std::string> argv) {
  std::vector<char*> args;
  for (auto& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  pid_t pid = 0;
  if (::posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) return -1;
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool quiet_success(const std::string& command) {
  return run_program({"/bin/sh", "-c", command + " >/dev/null 2>&1"}) == 0;
}

// The package manager command that removes Vigil, when it was installed as a package.
std::optional<std::vector<std::string>> package_removal(bool purge) {
  if (quiet_success("dpkg-query -W -f='${db:Status-Status}' vigil-agent | grep -qx installed")) {
    return std::vector<std::string>{"dpkg", purge ? "--purge" : "--remove", "vigil-agent"};
  }
  if (quiet_success("rpm -q vigil-agent")) return std::vector<std::string>{"rpm", "-e", "vigil-agent"};
  return std::nullopt;
}

int delete_files(const Paths& paths) {
  std::vector<std::filesystem::path> doomed = {paths.data_dir, paths.config_dir, paths.log_dir, paths.run_dir};
  if (auto store = StateStore::open(paths.state_db()); store.ok()) {
    auto search_dir = store.value()->config(link_keys::kHostIdSearchDir);
    doomed.push_back(link::host_id_file(paths.root, search_dir.ok() && search_dir.value() ? *search_dir.value() : ""));
  }
  int failures = 0;
  for (const auto& path : doomed) {
    std::error_code error;
    if (std::filesystem::remove_all(path, error) > 0) std::cout << "deleted " << path.string() << "\n";
    if (error) {
      fail("cannot delete " + path.string() + ": " + error.message());
      ++failures;
    }
  }
  return failures == 0 ? kOk : kRuntimeError;
}

}  // namespace

Runner define_uninstall(CLI::App& command) {
  auto purge = std::make_shared<bool>(false);
  command.add_flag("--purge", *purge, "Also delete the identity, configuration, state and logs (nothing is left)");
  return [purge](const Paths& paths) {
    std::error_code ignored;
    if (std::filesystem::weakly_canonical(paths.root, ignored) == "/") {
      if (auto removal = package_removal(*purge)) {
        std::cout << "removing the package: " << (*removal)[0] << " " << (*removal)[1] << " vigil-agent\n";
        return run_program(*removal) == 0 ? kOk : fail((*removal)[0] + " could not remove vigil-agent");
      }
    }
    if (instance_lock_held(paths)) {
      if (int stopped = stop_daemon(paths); stopped != kOk) return stopped;
    }
    if (!*purge) {
      std::cout << "vigild is stopped; its identity, configuration and state are kept (--purge deletes them)\n";
      return kOk;
    }
    return delete_files(paths);
  };
}

}  // namespace vigil::ctl
