// Dropping root: with `User` (and `Group`) configured, vigild-worker starts as
// root, makes its files private, loads the plugins, hands its directories to
// that account and becomes it, keeping only the capabilities the loaded
// modules need (docs/installing.md). The supervisor stays root to restart it.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/paths.h"
#include "vigil/result/result.h"

namespace vigil {

inline constexpr const char* kUserKey = "User";
inline constexpr const char* kGroupKey = "Group";

struct AgentAccount {
  std::string user;
  uid_t uid = 0;
  gid_t gid = 0;  // `Group`, else the user's primary group
};

// The account `User`/`Group` name; nullopt when User is unset. An unknown name
// is an error naming the key.
Result<std::optional<AgentAccount>> agent_account(const std::optional<std::string>& user,
                                                  const std::optional<std::string>& group);

// Capability names (as capabilities(7) spells them) the agent keeps with
// `modules` loaded: CAP_DAC_READ_SEARCH (modules read every file),
// CAP_SYS_PTRACE (and every process's /proc entries), CAP_SYS_ADMIN with fim
// (fanotify names the process behind a change only to it; open_by_handle_at
// needs CAP_DAC_READ_SEARCH), CAP_SYS_NICE for a negative ProcessPriority.
std::vector<std::string> capabilities_needed(const std::vector<std::string>& modules, bool raise_priority);

// Gives the state, run and log directories (and what is in them) and the
// configuration directory to the account; the log group is kept. Under
// systemd, also the service's delegated cgroup.
Status hand_over_files(const Paths& paths, const AgentAccount& account);

// Becomes the account (its supplementary groups too), keeping `capabilities`
// effective and permitted, none inheritable or ambient: commands the modules
// run get no privilege (UseSudo is for that).
Status drop_privileges(const AgentAccount& account, const std::vector<std::string>& capabilities);

}  // namespace vigil
