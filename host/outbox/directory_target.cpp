// Local directory upload target: atomic, durable, idempotent by sequence.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "base/error_text.h"
#include "delta/payload_json.h"
#include "outbox/upload_target.h"

namespace vigil {
namespace {

Status write_all(int fd, const std::string& data) {
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error{error_text(errno)};
    written += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

UploadResult DirectoryUploadTarget::upload(const OutboxEntry& entry) {
  auto document = payload_json(entry);
  if (!document.ok()) return UploadResult::refused(document.error());
  std::error_code error;
  std::filesystem::create_directories(dir_, error);
  if (error) return UploadResult::retry("upload directory " + dir_.string() + ": " + error.message());
  char name[32];
  std::snprintf(name, sizeof(name), "%020lld.json", static_cast<long long>(entry.sequence));
  auto final_path = dir_ / name;
  auto temp_path = dir_ / (std::string(name) + ".tmp");

  int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return UploadResult::retry("cannot create " + temp_path.string() + ": " + error_text(errno));
  Status written = write_all(fd, document.value().dump());
  if (written.ok() && ::fsync(fd) != 0) written = Error{error_text(errno)};
  ::close(fd);
  if (!written.ok()) return UploadResult::retry("cannot write " + temp_path.string() + ": " + written.error());
  if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
    return UploadResult::retry("cannot rename to " + final_path.string() + ": " + error_text(errno));
  }
  int dir_fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);  // make the rename itself durable
    ::close(dir_fd);
  }
  return UploadResult::delivered();
}

}  // namespace vigil
