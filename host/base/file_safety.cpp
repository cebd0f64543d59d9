// Trusted files and private modes (see file_safety.h).
#include "base/file_safety.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "base/error_text.h"

namespace vigil {
namespace {

std::atomic<bool> unsafe_allowed{false};
std::atomic<uid_t> agent_uid{0};  // root: no account of its own

std::string mode_text(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

std::string user_text(uid_t uid) {
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(4096);
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
    return std::string(found->pw_name) + " (uid " + std::to_string(uid) + ")";
  }
  return "uid " + std::to_string(uid);
}

// Why one path element fails the rule ("" when it passes). `is_file` is the
// element the caller asked about; the others are the directories above it.
std::string why_element_untrusted(const std::filesystem::path& path, const struct stat& info, bool is_file,
                                  Secrecy secrecy) {
  if (info.st_uid != 0 && info.st_uid != ::geteuid() && info.st_uid != agent_uid) {
    return path.string() + " is owned by " + user_text(info.st_uid) + ", not by root or the agent's user";
  }
  bool writable = (info.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  if (S_ISDIR(info.st_mode)) {
    bool sticky_root = (info.st_mode & S_ISVTX) != 0 && info.st_uid == 0;
    if (writable && !sticky_root) {
      return "directory " + path.string() + " is writable by group or others (mode " + mode_text(info.st_mode) + ")";
    }
    return "";
  }
  if (!is_file) return path.string() + " is not a directory";
  if (writable) return path.string() + " is writable by group or others (mode " + mode_text(info.st_mode) + ")";
  if (secrecy == Secrecy::kSecret && (info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return path.string() + " is readable by group or others (mode " + mode_text(info.st_mode) +
           "): a secret must be 0600";
  }
  return "";
}

// Checks the directories above `file`, nearest first (stat follows symlinks,
// so a symlinked directory is judged by what it points at).
std::string why_ancestors_untrusted(const std::filesystem::path& file) {
  for (auto dir = file.parent_path(); !dir.empty(); dir = dir.parent_path()) {
    struct stat info {};
    if (::stat(dir.c_str(), &info) != 0) return "cannot stat " + dir.string() + ": " + error_text(errno);
    if (std::string why = why_element_untrusted(dir, info, false, Secrecy::kPublic); !why.empty()) return why;
    if (dir == dir.root_path()) break;
  }
  return "";
}

}  // namespace

std::string why_untrusted(const std::filesystem::path& file, Secrecy secrecy) {
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(file, error).lexically_normal();
  if (error) return "cannot resolve " + file.string() + ": " + error.message();
  struct stat info {};
  if (::stat(absolute.c_str(), &info) != 0) return errno == ENOENT ? "" : "cannot stat " + absolute.string();
  if (std::string why = why_element_untrusted(absolute, info, true, secrecy); !why.empty()) return why;
  // The path as written: whoever can write one of its directories can swap a symlink in it.
  if (std::string why = why_ancestors_untrusted(absolute); !why.empty()) return why;
  // The real path, when symlinks lead elsewhere.
  std::filesystem::path real = std::filesystem::canonical(absolute, error);
  if (error) return "cannot resolve " + absolute.string() + ": " + error.message();
  if (real != absolute) return why_ancestors_untrusted(real);
  return "";
}

std::string configure_unsafe_file_override(const Paths& paths) {
  unsafe_allowed = false;
  const char* asked = std::getenv("VIGIL_ALLOW_UNSAFE_FILES");
  if (asked == nullptr || std::string_view(asked) != "1") return "";
  std::error_code ignored;
  if (std::filesystem::weakly_canonical(paths.root, ignored) == "/") {
    return "VIGIL_ALLOW_UNSAFE_FILES=1 is ignored: the developer override exists only for --root test trees";
  }
  unsafe_allowed = true;
  return "DEVELOPER OVERRIDE (VIGIL_ALLOW_UNSAFE_FILES=1, root " + paths.root.string() +
         "): plugins and configuration files that others can write are accepted; never use this on a real host";
}

void trust_agent_account(const Paths& paths) {
  struct stat info {};
  agent_uid = ::stat(paths.data_dir.c_str(), &info) == 0 ? info.st_uid : 0;
}

bool unsafe_files_allowed() {
  return unsafe_allowed;
}

Result<std::string> check_trusted(const std::filesystem::path& file, std::string_view what, Secrecy secrecy) {
  std::string why = why_untrusted(file, secrecy);
  if (why.empty()) return std::string();
  if (unsafe_files_allowed()) return "developer override: " + std::string(what) + " accepted although " + why;
  return Error{std::string(what) + " " + file.string() + " refused: " + why};
}

Result<std::string> tighten_mode(const std::filesystem::path& path, mode_t most) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return std::string();
    return Error{"cannot stat " + path.string() + ": " + error_text(errno)};
  }
  if (S_ISLNK(info.st_mode)) return std::string();  // its target is judged where it is used
  mode_t mode = info.st_mode & 07777;
  if ((mode & ~most) == 0) return std::string();
  if (::chmod(path.c_str(), mode & most) != 0) {
    return Error{"cannot tighten " + path.string() + " to mode " + mode_text(mode & most) + ": " + error_text(errno)};
  }
  return "tightened " + path.string() + " from mode " + mode_text(mode) + " to " + mode_text(mode & most);
}

Result<std::string> private_directory(const std::filesystem::path& dir, mode_t most) {
  std::error_code error;
  std::filesystem::create_directories(dir.parent_path(), error);
  // Created with its final mode, so a fresh install reports no change.
  if (!error && ::mkdir(dir.c_str(), most & 0777) != 0 && errno != EEXIST) error.assign(errno, std::generic_category());
  if (error) return Error{"cannot create " + dir.string() + ": " + error.message()};
  return tighten_mode(dir, most);
}

}  // namespace vigil
