// Fuzzes what the agent takes from the platform: every reply message, the
// desired state it turns into configuration, gzip bodies and platform URLs.
// Whatever arrives, the agent must come out with an error or a sane value.
#include <cstdint>
#include <string>

#include "link/platform_link.h"
#include "vigil/net/wire.h"

namespace v1 = ::vigil::agent::v1;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  v1::ProvisionResponse provision;
  if (provision.ParseFromString(input)) {
    auto changes = vigil::desired_state_config(provision.state(), {{"inv.ScanInterval", "60"}, {"LogLevel", "3"}});
    for (const auto& [key, value] : changes) {
      if (key.empty() || key.find('\n') != std::string::npos) __builtin_trap();
    }
  }
  v1::CheckinResponse checkin;
  (void)checkin.ParseFromString(input);
  v1::ManifestResponse manifest;
  (void)manifest.ParseFromString(input);
  v1::UploadResponse upload;
  (void)upload.ParseFromString(input);
  auto unpacked = vigil::wire::gunzip(input);
  if (unpacked.ok() && unpacked.value().size() > vigil::wire::kMaxBodyBytes) __builtin_trap();
  auto url = vigil::wire::parse_url(input);
  if (url.ok() && (url.value().host.empty() || url.value().port == 0)) __builtin_trap();
  return 0;
}
