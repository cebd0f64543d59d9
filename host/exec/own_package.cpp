#include "exec/own_package.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "base/error_text.h"

extern char** environ;

namespace vigil {
namespace {

bool succeeds_quietly(const std::string& shell_command) {
  return run_program({"/bin/sh", "-c", shell_command + " >/dev/null 2>&1"}) == 0;
}

}  // namespace

std::optional<std::vector<std::string>> own_package_removal(bool purge) {
  if (succeeds_quietly("dpkg-query -W -f='${db:Status-Status}' vigil-agent | grep -qx installed")) {
    return std::vector<std::string>{"dpkg", purge ? "--purge" : "--remove", "vigil-agent"};
  }
  if (succeeds_quietly("rpm -q vigil-agent")) return std::vector<std::string>{"rpm", "-e", "vigil-agent"};
  return std::nullopt;
}

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

std::string start_detached(const std::vector<std::string>& argv) {
  std::vector<std::string> command = argv;
  if (std::filesystem::exists("/run/systemd/system")) {
    command.insert(command.begin(), {"systemd-run", "--no-block", "--collect", "--unit=vigil-uninstall"});
    return run_program(command) == 0 ? "" : "systemd-run could not start " + argv[0];
  }
  std::vector<char*> args;
  for (auto& arg : command) args.push_back(arg.data());
  args.push_back(nullptr);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  int failed = ::posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  return failed == 0 ? "" : "cannot start " + argv[0] + ": " + error_text(failed);
}

}  // namespace vigil
