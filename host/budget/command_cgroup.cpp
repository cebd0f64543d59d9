// A command's cgroup: limits, CPU accounting, freezing, killing and removal.
#include "budget/command_cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <sstream>
#include <thread>

#include "base/error_text.h"
#include "budget/cgroup_files.h"

namespace vigil::budget {
namespace {

namespace fs = std::filesystem;

// How long remove() waits for killed processes to leave before giving up.
constexpr std::chrono::seconds kEmptyWait{5};

Error failure(const std::string& what, const fs::path& path, int error) {
  return Error{what + " " + path.string() + ": " + error_text(error)};
}

}  // namespace

std::string cgroup_name(const std::string& module) {
  std::string name;
  for (char c : module) {
    bool plain = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    name += plain ? c : '_';
  }
  return name.empty() ? "_" : name;
}

Result<std::unique_ptr<CommandCgroup>> CommandCgroup::create(const Support& support, const std::string& module,
                                                             const Limits& limits) {
  static std::atomic<unsigned> sequence{0};
  fs::path module_dir = support.base / cgroup_name(module);
  if (::mkdir(module_dir.c_str(), 0755) != 0 && errno != EEXIST) return failure("cannot create", module_dir, errno);
  // The module's cgroup hands its controllers on to its commands' cgroups.
  for (auto [wanted, controller] : {std::pair{support.cpu_max, "+cpu"}, std::pair{support.memory_max, "+memory"},
                                    std::pair{support.pids_max, "+pids"}}) {
    if (!wanted) continue;
    if (int error = write_text(module_dir / "cgroup.subtree_control", controller); error != 0) {
      return failure(std::string("cannot enable ") + (controller + 1) + " in", module_dir, error);
    }
  }
  fs::path path = module_dir / ("cmd-" + std::to_string(::getpid()) + "-" + std::to_string(sequence++));
  if (::mkdir(path.c_str(), 0755) != 0) return failure("cannot create", path, errno);
  auto discard = [&](Error error) {
    ::rmdir(path.c_str());
    return error;
  };
  std::vector<std::pair<std::string, std::string>> settings;
  if (support.cpu_max) settings.emplace_back("cpu.max", cpu_max_value(limits.cpu_percent));
  auto bound = [](int64_t value) { return value > 0 ? std::to_string(value) : std::string("max"); };
  if (support.memory_max) settings.emplace_back("memory.max", bound(limits.memory_max_bytes));
  if (support.pids_max) settings.emplace_back("pids.max", bound(limits.pids_max));
  for (const auto& [file, value] : settings) {
    if (int error = write_text(path / file, value); error != 0) {
      return discard(failure("cannot write " + value + " to", path / file, error));
    }
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return discard(failure("cannot open", path, errno));
  return std::unique_ptr<CommandCgroup>(new CommandCgroup(support, path, fd, limits));
}

CommandCgroup::CommandCgroup(const Support& support, fs::path path, int fd, const Limits& limits)
    : support_(support), path_(std::move(path)), fd_(fd), limits_(limits) {}

CommandCgroup::~CommandCgroup() {
  (void)remove();
}

std::chrono::nanoseconds CommandCgroup::cpu_used() const {
  long long usec = keyed_value(read_text(path_ / "cpu.stat").value_or(""), "usage_usec");
  return std::chrono::microseconds(std::max(usec, 0LL));
}

void CommandCgroup::freeze(bool frozen) {
  (void)write_text(path_ / "cgroup.freeze", frozen ? "1" : "0");
}

bool CommandCgroup::populated() const {
  return keyed_value(read_text(path_ / "cgroup.events").value_or(""), "populated") == 1;
}

void CommandCgroup::kill() {
  if (support_.kill) {
    (void)write_text(path_ / "cgroup.kill", "1");
    return;
  }
  // Before 5.14: signal each member; a fork racing the loop is caught on the next read.
  std::istringstream pids(read_text(path_ / "cgroup.procs").value_or(""));
  for (pid_t pid = 0; pids >> pid;) ::kill(pid, SIGKILL);
}

std::vector<std::string> CommandCgroup::limits_reached() const {
  std::vector<std::string> reached;
  if (support_.memory_max) {
    long long kills = keyed_value(read_text(path_ / "memory.events").value_or(""), "oom_kill");
    if (kills > 0) {
      reached.push_back("memory.max (" + std::to_string(limits_.memory_max_bytes) +
                        " bytes) reached: the kernel killed " + std::to_string(kills) + " process(es)");
    }
  }
  if (support_.pids_max) {
    long long refused = keyed_value(read_text(path_ / "pids.events").value_or(""), "max");
    if (refused > 0) {
      reached.push_back("pids.max (" + std::to_string(limits_.pids_max) + ") reached: " + std::to_string(refused) +
                        " fork(s) refused");
    }
  }
  return reached;
}

Status CommandCgroup::remove() {
  if (removed_) return Status::Ok();
  removed_ = true;
  if (fd_ >= 0) ::close(fd_);
  auto give_up = std::chrono::steady_clock::now() + kEmptyWait;
  while (populated() && std::chrono::steady_clock::now() < give_up) {
    kill();
    freeze(false);  // frozen processes die too, but thawing lets them go at once
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (::rmdir(path_.c_str()) != 0) return failure("cannot remove", path_, errno);
  return Status::Ok();
}

void CommandCgroup::remove_stale(const Support& support) {
  std::error_code ignored;
  for (const auto& module : fs::directory_iterator(support.base, ignored)) {
    if (!module.is_directory(ignored)) continue;
    for (const auto& command : fs::directory_iterator(module.path(), ignored)) {
      pid_t owner = 0;
      if (std::sscanf(command.path().filename().c_str(), "cmd-%d-", &owner) != 1 || owner <= 0) continue;
      if (::kill(owner, 0) == 0 || errno != ESRCH) continue;
      (void)CommandCgroup(support, command.path(), -1, {}).remove();
    }
  }
}

}  // namespace vigil::budget
