// Tightening the agent's files at start (see private_files.h).
#include "agent/private_files.h"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <vector>

#include "base/error_text.h"
#include "base/file_safety.h"
#include "settings/reader.h"

namespace vigil {
namespace {

constexpr mode_t kLogDirectoryMode = S_ISGID | 0750;

void note(PrivateFilesReport& report, const Result<std::string>& change) {
  if (!change.ok()) {
    report.problems.push_back(change.error());
  } else if (!change.value().empty()) {
    report.changes.push_back(change.value());
  }
}

std::optional<gid_t> group_id(const std::string& name) {
  group entry{};
  group* found = nullptr;
  std::vector<char> buffer(16384);
  if (::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  return found->gr_gid;
}

// The group the logs belong to; nullopt keeps the files' current group.
std::optional<gid_t> log_group_id(const std::optional<std::string>& setting, PrivateFilesReport& report) {
  std::string name = setting.value_or(settings::setting(kLogGroupKey).default_value);
  auto gid = group_id(name);
  if (!gid && setting) report.problems.push_back(std::string(kLogGroupKey) + ": no group '" + name + "' on this host");
  // Only root may give its files to a group it is not in; a test run as a
  // user keeps its own group unless it asked for one.
  if (gid && !setting && ::geteuid() != 0) return std::nullopt;
  return gid;
}

void give_to_group(const std::filesystem::path& path, gid_t gid, PrivateFilesReport& report) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0 || S_ISLNK(info.st_mode) || info.st_gid == gid) return;
  if (::lchown(path.c_str(), static_cast<uid_t>(-1), gid) != 0) {
    report.problems.push_back("cannot give " + path.string() + " to group " + std::to_string(gid) + ": " +
                              error_text(errno));
  }
}

}  // namespace

void make_logs_private(const std::filesystem::path& dir, const std::optional<std::string>& log_group,
                       PrivateFilesReport& report) {
  std::error_code error;
  bool existed = std::filesystem::exists(dir, error);
  std::filesystem::create_directories(dir, error);
  if (error) {
    report.problems.push_back("cannot create " + dir.string() + ": " + error.message());
    return;
  }
  auto gid = log_group_id(log_group, report);
  if (gid) give_to_group(dir, *gid, report);
  struct stat info {};
  if (::stat(dir.c_str(), &info) == 0 && (info.st_mode & 07777) != kLogDirectoryMode) {
    if (::chmod(dir.c_str(), kLogDirectoryMode) != 0) {
      report.problems.push_back("cannot set " + dir.string() + " to mode 2750: " + error_text(errno));
    } else if (existed) {
      char text[64];
      std::snprintf(text, sizeof text, " from mode %04o to 2750", static_cast<unsigned>(info.st_mode & 07777));
      report.changes.push_back("set " + dir.string() + text);
    }
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (!entry.is_regular_file(error)) continue;
    if (gid) give_to_group(entry.path(), *gid, report);
    note(report, tighten_mode(entry.path(), 0640));
  }
}

void make_state_private(const Paths& paths, PrivateFilesReport& report) {
  note(report, private_directory(paths.data_dir, 0700));
  for (const char* suffix : {"", "-wal", "-shm"}) {
    note(report, tighten_mode(paths.state_db().string() + suffix, 0600));
  }
  note(report, private_directory(paths.config_dir, 0750));
  note(report, private_directory(paths.run_dir, 0755));
}

}  // namespace vigil
