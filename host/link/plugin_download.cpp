#include "link/plugin_download.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>

#include "base/error_text.h"
#include "vigil/agent/v1/agent.pb.h"
#include "vigil/tuf/updater.h"

namespace vigil {

namespace fs = std::filesystem;
namespace v1 = ::vigil::agent::v1;

namespace {

constexpr uint64_t kChunkBytes = 1 << 20;
constexpr int64_t kMaxPluginBytes = int64_t{64} << 20;

// Closes on every way out.
struct Descriptor {
  int fd;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

Status sync_directory(const fs::path& dir) {
  Descriptor directory{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (directory.fd < 0 || ::fsync(directory.fd) != 0) {
    return Error{dir.string() + ": cannot sync: " + error_text(errno), ErrorCode::kIo};
  }
  return Status::Ok();
}

}  // namespace

Result<int64_t> download_plugin(PlatformConnection& connection, const LinkSettings& settings,
                                const PluginDownload& download) {
  const std::string what = "plugin " + download.module + " " + download.version;
  const int64_t length = download.target.length;
  auto sha256 = download.target.hashes.find("sha256");
  if (sha256 == download.target.hashes.end()) return Error{what + " refused: targets lists no sha256 for it"};
  if (length <= 0 || length > kMaxPluginBytes) {
    return Error{what + " refused: " + std::to_string(length) + " bytes (at most 64 MiB)", ErrorCode::kInvalidArgument};
  }
  fs::path dir = download.slot_file.parent_path();
  std::error_code error;
  fs::create_directories(dir, error);
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, error);
  if (error) return Error{dir.string() + ": " + error.message(), ErrorCode::kIo};
  // The partial file is named after the file it holds: only the same file
  // resumes, and partial files of any other one for this slot go.
  const std::string slot_name = download.slot_file.filename().string();
  fs::path partial = download.slot_file.string() + "." + sha256->second.substr(0, 16) + ".partial";
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    std::string name = entry.path().filename().string();
    if (name.starts_with(slot_name + ".") && name.ends_with(".partial") && entry.path() != partial) {
      fs::remove(entry.path(), error);
    }
  }
  Descriptor file{::open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)};
  if (file.fd < 0) return Error{partial.string() + ": cannot open: " + error_text(errno), ErrorCode::kIo};
  off_t have = ::lseek(file.fd, 0, SEEK_END);
  if (have < 0 || have > length) {
    if (::ftruncate(file.fd, 0) != 0) return Error{partial.string() + ": " + error_text(errno), ErrorCode::kIo};
    have = 0;
  }
  const off_t resumed_at = have;
  struct statvfs space {};
  if (::fstatvfs(file.fd, &space) == 0) {
    uint64_t free_bytes = static_cast<uint64_t>(space.f_bavail) * space.f_frsize;
    uint64_t needed = static_cast<uint64_t>(length - have);
    if (free_bytes < needed + free_bytes / 10) {
      return Error{what + ": " + std::to_string(needed) + " bytes needed in " + dir.string() + ", " +
                       std::to_string(free_bytes) + " free",
                   ErrorCode::kIo};
    }
  }

  int64_t fetched = 0;
  while (have < length) {
    v1::PluginPackageRequest request;
    request.set_protocol(v1::PROTOCOL_1);
    request.set_agent_id(settings.agent_id);
    request.set_agent_token(settings.agent_token);
    request.set_module(download.module);
    request.set_sha256(sha256->second);
    request.set_offset(static_cast<uint64_t>(have));
    request.set_max_bytes(kChunkBytes);
    auto reply = connection.post<v1::PluginPackageResponse>(PlatformConnection::Channel::kLink, "/v1/plugin-package",
                                                            request, "plugin package");
    if (!reply.ok())
      return Error{what + ": download stopped at byte " + std::to_string(have) + ": " + reply.error(), reply.code()};
    const v1::PluginPackageResponse& chunk = reply.value();
    if (chunk.offset() != static_cast<uint64_t>(have) || chunk.library().empty() ||
        chunk.total_length() != static_cast<uint64_t>(length) ||
        static_cast<int64_t>(chunk.library().size()) > length - have) {
      fs::remove(partial, error);  // a platform that sends the wrong bytes starts the next try from zero
      return Error{what + " refused: the platform sent bytes " + std::to_string(chunk.offset()) + "+" +
                       std::to_string(chunk.library().size()) + " of a " + std::to_string(chunk.total_length()) +
                       "-byte file for bytes " + std::to_string(have) + " of " + std::to_string(length),
                   ErrorCode::kInvalidArgument};
    }
    if (::pwrite(file.fd, chunk.library().data(), chunk.library().size(), have) !=
        static_cast<ssize_t>(chunk.library().size())) {
      return Error{partial.string() + ": cannot write: " + error_text(errno), ErrorCode::kIo};
    }
    have += static_cast<off_t>(chunk.library().size());
    fetched += static_cast<int64_t>(chunk.library().size());
  }
  if (::fsync(file.fd) != 0) return Error{partial.string() + ": cannot sync: " + error_text(errno), ErrorCode::kIo};

  // Checked from disk, as it will be loaded.
  if (Status verified = tuf::verify_target_file(partial, download.target); !verified) {
    fs::remove(partial, error);
    // Bytes kept from an earlier attempt may be what is wrong: once more from the start before refusing.
    if (resumed_at > 0) {
      return Error{what + ": the resumed download does not match (" + verified.error() + "); it starts again",
                   ErrorCode::kUnavailable};
    }
    return Error{what + " refused: " + verified.error(), verified.code()};
  }
  if (::rename(partial.c_str(), download.slot_file.c_str()) != 0) {
    return Error{download.slot_file.string() + ": cannot rename the download onto it: " + error_text(errno),
                 ErrorCode::kIo};
  }
  if (Status synced = sync_directory(dir); !synced) return synced.failure();
  return fetched;
}

}  // namespace vigil
