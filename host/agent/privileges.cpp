#include "agent/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <memory>

#include "base/error_text.h"
#include "budget/cgroup_support.h"

namespace vigil {
namespace {

// Only the fanotify-based module needs more than reading: a third-party module
// gets the base set (see the header).
bool needs_fanotify(const std::string& module) {
  return module == "fim";
}

Status give(const std::filesystem::path& path, const AgentAccount& account, bool keep_group) {
  if (::lchown(path.c_str(), account.uid, keep_group ? static_cast<gid_t>(-1) : account.gid) != 0) {
    return Error{"cannot give " + path.string() + " to " + account.user + ": " + error_text(errno)};
  }
  return Status::Ok();
}

Status give_tree(const std::filesystem::path& dir, const AgentAccount& account, bool keep_group) {
  std::error_code error;
  if (!std::filesystem::exists(dir, error)) return Status::Ok();
  if (Status given = give(dir, account, keep_group); !given.ok()) return given;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    if (Status given = give(it->path(), account, keep_group); !given.ok()) return given;
  }
  if (error) return Error{"cannot give " + dir.string() + " to " + account.user + ": " + error.message()};
  return Status::Ok();
}

// Under systemd (Delegate=yes) the service's cgroup is vigild's to divide; the
// account needs it to run commands in cgroups of their own, as systemd gives
// it to a service's User=. Elsewhere (a test, a shell) the cgroup is shared:
// left alone, the budgets then fall back to signals and say why.
Status hand_over_service_cgroup(const AgentAccount& account) {
  std::filesystem::path own = budget::own_cgroup_directory();
  if (own.empty() || own.filename().extension() != ".service") return Status::Ok();
  for (const char* file : {"", "cgroup.procs", "cgroup.threads", "cgroup.subtree_control"}) {
    auto path = *file == 0 ? own : own / file;
    if (Status given = give(path, account, false); !given.ok()) return given;
  }
  return Status::Ok();
}

}  // namespace

Result<std::optional<AgentAccount>> agent_account(const std::optional<std::string>& user,
                                                  const std::optional<std::string>& group) {
  if (!user || user->empty()) return std::optional<AgentAccount>();
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwnam_r(user->c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    return Error{std::string(kUserKey) + ": no user '" + *user + "' on this host"};
  }
  AgentAccount account{*user, found->pw_uid, found->pw_gid};
  if (group && !group->empty()) {
    ::group group_entry{};
    ::group* group_found = nullptr;
    if (::getgrnam_r(group->c_str(), &group_entry, buffer.data(), buffer.size(), &group_found) != 0 ||
        group_found == nullptr) {
      return Error{std::string(kGroupKey) + ": no group '" + *group + "' on this host"};
    }
    account.gid = group_found->gr_gid;
  }
  return std::optional<AgentAccount>(account);
}

std::vector<std::string> capabilities_needed(const std::vector<std::string>& modules, bool raise_priority) {
  std::vector<std::string> needed = {"cap_dac_read_search", "cap_sys_ptrace"};
  if (std::any_of(modules.begin(), modules.end(), needs_fanotify)) needed.push_back("cap_sys_admin");
  if (raise_priority) needed.push_back("cap_sys_nice");
  return needed;
}

Status hand_over_files(const Paths& paths, const AgentAccount& account) {
  for (const auto& dir : {paths.data_dir, paths.run_dir, paths.config_dir}) {
    if (Status given = give_tree(dir, account, false); !given.ok()) return given;
  }
  // The logs keep their group (LogGroup), which may read them.
  if (Status given = give_tree(paths.log_dir, account, true); !given.ok()) return given;
  return paths.root == "/" ? hand_over_service_cgroup(account) : Status::Ok();
}

Status drop_privileges(const AgentAccount& account, const std::vector<std::string>& capabilities) {
  std::vector<cap_value_t> values;
  for (const auto& name : capabilities) {
    cap_value_t value{};
    if (::cap_from_name(name.c_str(), &value) != 0) return Error{"unknown capability " + name};
    values.push_back(value);
  }
  if (::prctl(PR_SET_KEEPCAPS, 1) != 0) return Error{"cannot keep capabilities: " + error_text(errno)};
  if (::initgroups(account.user.c_str(), account.gid) != 0 || ::setgid(account.gid) != 0 ||
      ::setuid(account.uid) != 0) {
    return Error{"cannot become " + account.user + ": " + error_text(errno)};
  }
  std::unique_ptr<std::remove_pointer_t<cap_t>, decltype(&::cap_free)> caps(::cap_init(), &::cap_free);
  if (!values.empty() &&
      (::cap_set_flag(caps.get(), CAP_PERMITTED, static_cast<int>(values.size()), values.data(), CAP_SET) != 0 ||
       ::cap_set_flag(caps.get(), CAP_EFFECTIVE, static_cast<int>(values.size()), values.data(), CAP_SET) != 0)) {
    return Error{"cannot build the capability set: " + error_text(errno)};
  }
  if (::cap_set_proc(caps.get()) != 0) return Error{"cannot set capabilities: " + error_text(errno)};
  ::prctl(PR_SET_KEEPCAPS, 0);
  // A change of credentials clears the parent-death signal: the worker must still die with its supervisor.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  return Status::Ok();
}

}  // namespace vigil
