// A gzip-compressed tar archive written with libarchive, one member at a
// time from memory; the file is created 0600 (it holds logs).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "vigil/result/result.h"

struct archive;

namespace vigil::diagnostics {

class ArchiveWriter {
 public:
  static Result<std::unique_ptr<ArchiveWriter>> create(const std::filesystem::path& file);
  ~ArchiveWriter();
  ArchiveWriter(const ArchiveWriter&) = delete;
  ArchiveWriter& operator=(const ArchiveWriter&) = delete;

  // Adds a regular file `name` (a relative path inside the archive).
  Status add(const std::string& name, std::string_view content);
  // Writes the archive's end; the file is complete only after it.
  Status close();

 private:
  explicit ArchiveWriter(std::filesystem::path file) : file_(std::move(file)) {}
  std::filesystem::path file_;
  archive* archive_ = nullptr;
  int fd_ = -1;  // libarchive writes to it but leaves closing it to us
  bool closed_ = false;
};

}  // namespace vigil::diagnostics
