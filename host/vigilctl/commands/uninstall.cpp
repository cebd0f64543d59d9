// vigilctl uninstall: the agent leaves this host (docs/installing.md). First
// the running agent tells its platform (a last check-in). When Vigil was
// installed as a package, dpkg or rpm then removes it (their scripts stop the
// service and, on purge, delete every trace); otherwise (a build tree, a
// relocated --root) vigilctl stops vigild and, with --purge, deletes the
// agent's files itself.
#include <iostream>

#include "control_socket/control_client.h"
#include "exec/own_package.h"
#include "link/identity.h"
#include "link/platform_link.h"
#include "store/config_table.h"
#include "vigilctl/commands/commands.h"

namespace vigil::ctl {
namespace {

int delete_files(const Paths& paths) {
  std::vector<std::filesystem::path> doomed = {paths.data_dir, paths.config_dir, paths.log_dir, paths.run_dir};
  if (auto store = StateStore::open(paths.state_db()); store.ok()) {
    auto search_dir = store.value()->config().get(link_keys::kHostIdSearchDir);
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

// Best effort: an agent that cannot reach its platform is still uninstalled.
void tell_platform(const Paths& paths) {
  if (!daemon_running(paths.control_socket())) {
    std::cout << "vigild is not running: the platform is not told (it sees the agent stop checking in)\n";
    return;
  }
  auto answer = call_daemon(paths.control_socket(), {{"command", "leave"}});
  if (!answer.ok()) {
    std::cout << "the platform is not told: " << answer.error() << "\n";
  } else if (answer.value().value("told", false)) {
    std::cout << "the platform is told that this agent is uninstalled\n";
  } else {
    std::cout << "the platform is not told: " << answer.value().value("why", std::string("no reason given")) << "\n";
  }
}

}  // namespace

Runner define_uninstall(CLI::App& command) {
  auto purge = std::make_shared<bool>(false);
  auto tell_only = std::make_shared<bool>(false);
  auto key = std::make_shared<std::string>();
  add_sp_key_option(command, *key);
  command.add_flag("--purge", *purge, "Also delete the identity, configuration, state and logs (nothing is left)");
  command.add_flag("--tell-platform-only", *tell_only,
                   "Only tell the platform that this agent is being uninstalled (the package's removal script does)");
  return [purge, tell_only, key](const Paths& paths) {
    std::string sp_key = sp_key_text(*key);
    if (!protection_unlocked(paths, sp_key)) return kRuntimeError;
    tell_platform(paths);
    if (*tell_only) return kOk;
    std::error_code ignored;
    if (std::filesystem::weakly_canonical(paths.root, ignored) == "/") {
      if (auto removal = own_package_removal(*purge)) {
        std::cout << "removing the package: " << (*removal)[0] << " " << (*removal)[1] << " vigil-agent\n";
        return run_program(*removal) == 0 ? kOk : fail((*removal)[0] + " could not remove vigil-agent");
      }
    }
    if (instance_lock_held(paths)) {
      if (int stopped = stop_daemon(paths, sp_key); stopped != kOk) return stopped;
      std::cout << "vigild stopped\n";
    }
    if (!*purge) {
      std::cout << "vigild is stopped; its identity, configuration and state are kept (--purge deletes them)\n";
      return kOk;
    }
    return delete_files(paths);
  };
}

}  // namespace vigil::ctl
