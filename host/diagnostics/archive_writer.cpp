#include "diagnostics/archive_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <ctime>

#include "base/error_text.h"

namespace vigil::diagnostics {

Result<std::unique_ptr<ArchiveWriter>> ArchiveWriter::create(const std::filesystem::path& file) {
  // Created 0600 by us, so libarchive never makes it readable to others, even for a moment.
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Error{"cannot create " + file.string() + ": " + error_text(errno)};
  std::unique_ptr<ArchiveWriter> writer(new ArchiveWriter(file));
  writer->fd_ = fd;
  writer->archive_ = archive_write_new();
  archive_write_add_filter_gzip(writer->archive_);
  archive_write_set_format_pax_restricted(writer->archive_);
  if (archive_write_open_fd(writer->archive_, fd) != ARCHIVE_OK) {
    std::string why = archive_error_string(writer->archive_) ? archive_error_string(writer->archive_) : "unknown";
    return Error{"cannot write the archive " + file.string() + ": " + why};
  }
  return writer;
}

ArchiveWriter::~ArchiveWriter() {
  if (!closed_) (void)close();
  if (archive_) archive_write_free(archive_);
  if (fd_ >= 0) ::close(fd_);
}

Status ArchiveWriter::add(const std::string& name, std::string_view content) {
  archive_entry* entry = archive_entry_new();
  archive_entry_set_pathname(entry, name.c_str());
  archive_entry_set_size(entry, static_cast<la_int64_t>(content.size()));
  archive_entry_set_filetype(entry, AE_IFREG);
  archive_entry_set_perm(entry, 0600);
  archive_entry_set_mtime(entry, std::time(nullptr), 0);
  bool written =
      archive_write_header(archive_, entry) == ARCHIVE_OK &&
      archive_write_data(archive_, content.data(), content.size()) == static_cast<la_ssize_t>(content.size());
  archive_entry_free(entry);
  if (!written) {
    return Error{"cannot add " + name + " to " + file_.string() + ": " +
                 (archive_error_string(archive_) ? archive_error_string(archive_) : "unknown")};
  }
  return Status::Ok();
}

Status ArchiveWriter::close() {
  closed_ = true;
  bool finished = archive_write_close(archive_) == ARCHIVE_OK;
  std::string why = archive_error_string(archive_) ? archive_error_string(archive_) : "unknown";
  bool flushed = ::fsync(fd_) == 0;
  bool released = ::close(fd_) == 0;
  fd_ = -1;
  if (!finished) return Error{"cannot finish " + file_.string() + ": " + why};
  if (!flushed || !released) return Error{"cannot write " + file_.string() + ": " + error_text(errno)};
  return Status::Ok();
}

}  // namespace vigil::diagnostics
