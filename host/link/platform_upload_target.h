// Delivers to the platform once one is configured (vigilctl provision), to
// the directory until then (a standalone agent).
#pragma once

#include "link/platform_link.h"
#include "outbox/upload_target.h"

namespace vigil {

class PlatformUploadTarget : public UploadTarget {
 public:
  PlatformUploadTarget(PlatformLink& link, std::filesystem::path standalone_dir)
      : link_(link), standalone_(std::move(standalone_dir)) {}
  UploadResult upload(const OutboxEntry& entry) override {
    return link_.configured() ? link_.upload(entry) : standalone_.upload(entry);
  }
  std::string describe() const override { return link_.configured() ? "platform" : standalone_.describe(); }

 private:
  PlatformLink& link_;
  DirectoryUploadTarget standalone_;
};

}  // namespace vigil
