#include "link/platform_upload_target.h"

namespace vigil {

UploadResult upload_to_platform(PlatformConnection& connection, const LinkSettings& settings,
                                const OutboxEntry& entry) {
  v1::UploadRequest request;
  request.set_protocol(v1::PROTOCOL_1);
  request.set_agent_id(settings.agent_id);
  request.set_agent_token(settings.agent_token);
  request.set_sequence(entry.sequence);
  request.set_module(entry.module);
  request.set_kind(entry.kind);
  request.set_created_at(entry.created_at);
  request.set_payload(entry.payload);
  auto reply =
      connection.post<v1::UploadResponse>(PlatformConnection::Channel::kUpload, "/v1/upload", request, "upload");
  if (!reply.ok()) {
    // 400, 413, 422: this entry will never be taken as it is.
    bool for_good = reply.code() == ErrorCode::kInvalidArgument;
    return for_good ? UploadResult::refused(reply.error()) : UploadResult::retry(reply.error());
  }
  if (reply.value().acknowledged_sequence() != entry.sequence) {
    return UploadResult::retry("the platform acknowledged sequence " +
                               std::to_string(reply.value().acknowledged_sequence()) + " for " +
                               std::to_string(entry.sequence));
  }
  return UploadResult::delivered();
}

}  // namespace vigil
