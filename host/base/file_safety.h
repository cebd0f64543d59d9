// Which files a root daemon may trust, and keeping its own files private
// (docs/security.md).
//
// Trust is the rule sudo applies to its plugins and sshd to its key files: a
// file runs or configures the agent only if nobody but root and the agent's
// user could have written it, that is, the file and every directory on its
// path (and on its real path, when symlinks lead elsewhere) is owned by root,
// by this process's user or by the agent's account (User, once the agent has
// dropped to it) and is not writable by group or others. A directory
// with the sticky bit owned by root (like /tmp) passes: nobody else can
// rename or replace an entry there.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "base/paths.h"
#include "vigil/result/result.h"

namespace vigil {

enum class Secrecy {
  kPublic,  // anyone may read it (a plugin, a CA bundle)
  kSecret,  // group and others may not read it either (a key)
};

// Why `file` may not be trusted, naming the path, its owner and mode; "" when
// it may. A file that does not exist is not this function's business: "".
std::string why_untrusted(const std::filesystem::path& file, Secrecy secrecy = Secrecy::kPublic);

// The developer override: build trees in shared or group-writable folders.
// Only a relocated root (--root, never "/") may turn it on, with
// VIGIL_ALLOW_UNSAFE_FILES=1 in the environment. Returns what to log, loudly,
// once ("" when the override is off and was not asked for).
std::string configure_unsafe_file_override(const Paths& paths);
bool unsafe_files_allowed();

// Learns the agent's account from the owner of the state directory (the agent
// gives it to its User, and only root could have): its files are trusted too.
// vigilctl and vigild-worker call it at start.
void trust_agent_account(const Paths& paths);

// why_untrusted() as a decision: an error naming `what` and the reason; under
// the developer override the value is the warning to log instead ("" when the
// file is simply safe).
Result<std::string> check_trusted(const std::filesystem::path& file, std::string_view what,
                                  Secrecy secrecy = Secrecy::kPublic);

// Removes from `path`'s mode every permission bit outside `most` (e.g. 0600
// for a database, 0750 for a directory). Returns what changed ("" when
// nothing did, or `path` does not exist), for the log.
Result<std::string> tighten_mode(const std::filesystem::path& path, mode_t most);

// Creates the directory `dir` (and its parents) when missing, then tightens it
// to `most`. Returns what changed, as tighten_mode does.
Result<std::string> private_directory(const std::filesystem::path& dir, mode_t most);

}  // namespace vigil
