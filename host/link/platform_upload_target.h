// Uploads: an outbox entry goes to the platform once one is configured
// (vigilctl provision), to the directory until then (a standalone agent).
#pragma once

#include "link/link_settings.h"
#include "link/platform_connection.h"
#include "link/platform_link.h"
#include "outbox/upload_target.h"
#include "store/outbox.h"

namespace vigil {

// Delivers one entry over the upload connection. OK = acknowledged; 400, 413
// and 422 are refusals for good; anything else may pass later.
UploadResult upload_to_platform(PlatformConnection& connection, const LinkSettings& settings, const OutboxEntry& entry);

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
