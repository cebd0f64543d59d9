// Where outbox entries are delivered: the platform link, or a local
// directory for a standalone agent. upload() is called on a worker thread,
// one entry at a time. It must be idempotent: the same sequence may be
// delivered again after a crash between delivery and acknowledgement.
#pragma once

#include <filesystem>
#include <string>

#include "store/outbox.h"

namespace vigil {

struct UploadResult {
  enum class Outcome {
    kDelivered,  // the receiver has it durably
    kRetry,      // not delivered for now (network, 5xx, 429, authentication): try again, in order
    kRefused,    // the receiver refuses this entry for good (400, 413, 422)
  };
  Outcome outcome = Outcome::kRetry;
  std::string error;  // why it was not delivered

  static UploadResult delivered() { return {Outcome::kDelivered, {}}; }
  static UploadResult retry(std::string why) { return {Outcome::kRetry, std::move(why)}; }
  static UploadResult refused(std::string why) { return {Outcome::kRefused, std::move(why)}; }
  bool ok() const { return outcome == Outcome::kDelivered; }
};

class UploadTarget {
 public:
  virtual ~UploadTarget() = default;
  virtual UploadResult upload(const OutboxEntry& entry) = 0;
  virtual std::string describe() const = 0;
};

// Writes each entry, as JSON for people and scripts, to
// <dir>/<sequence>.json (sequence zero-padded) via a temp file, fsync and
// rename: a file present is a file complete.
class DirectoryUploadTarget : public UploadTarget {
 public:
  explicit DirectoryUploadTarget(std::filesystem::path dir) : dir_(std::move(dir)) {}
  UploadResult upload(const OutboxEntry& entry) override;
  std::string describe() const override { return "directory " + dir_.string(); }

 private:
  std::filesystem::path dir_;
};

}  // namespace vigil
