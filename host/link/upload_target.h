// Where outbox entries are delivered. The platform link is one target; until
// it exists, DirectoryUploadTarget delivers into a local directory.
// upload() is called on a worker thread, one entry at a time, oldest first.
// It must be idempotent: the same sequence number may be delivered again
// after a crash between delivery and acknowledgement.
#pragma once

#include <filesystem>
#include <string>

#include "base/status.h"
#include "link/platform_link.h"
#include "store/state_store.h"

namespace vigil {

class UploadTarget {
 public:
  virtual ~UploadTarget() = default;
  // Delivers the entry; OK means the receiver has it durably (acknowledged).
  virtual Status upload(const OutboxEntry& entry) = 0;
  virtual std::string describe() const = 0;
};

// Writes each entry to <dir>/<sequence>.json (sequence zero-padded) via a
// temp file, fsync and rename: a file present is a file complete.
class DirectoryUploadTarget : public UploadTarget {
 public:
  explicit DirectoryUploadTarget(std::filesystem::path dir) : dir_(std::move(dir)) {}
  Status upload(const OutboxEntry& entry) override;
  std::string describe() const override { return "directory " + dir_.string(); }

 private:
  std::filesystem::path dir_;
};

// Delivers to the platform once one is configured (vigilctl provision), to
// the directory until then (a standalone agent).
class PlatformUploadTarget : public UploadTarget {
 public:
  PlatformUploadTarget(PlatformLink& link, std::filesystem::path standalone_dir)
      : link_(link), standalone_(std::move(standalone_dir)) {}
  Status upload(const OutboxEntry& entry) override {
    return link_.configured() ? link_.upload(entry) : standalone_.upload(entry);
  }
  std::string describe() const override { return link_.configured() ? "platform" : standalone_.describe(); }

 private:
  PlatformLink& link_;
  DirectoryUploadTarget standalone_;
};

}  // namespace vigil
