// Provisioning: obtaining the agent's identity (agent id and token) from the
// platform on first start, on a clone (the machine's fingerprint changed), on
// a migration (server, customer or activation changed), and when the platform
// asks. A reinstall offers back the id the host id file kept.
#pragma once

#include <optional>
#include <string>

#include "base/paths.h"
#include "link/identity.h"
#include "link/link_settings.h"
#include "link/platform_connection.h"
#include "log/log_manager.h"
#include "store/state_store.h"
#include "vigil/agent/v1/agent.pb.h"
#include "vigil/result/result.h"

namespace vigil {

namespace v1 = ::vigil::agent::v1;

// Why the agent must provision now ("new", "migrated", "cloned", the
// platform's reason); nullopt when its identity is current.
std::optional<std::string> provisioning_reason(const LinkSettings& settings, const link::MachineFacts& facts);

class Provisioner {
 public:
  Provisioner(Paths paths, StateStore& store, LogManager& logs, PlatformConnection& connection)
      : paths_(std::move(paths)), store_(store), logs_(logs), connection_(connection) {}

  // Asks the platform for an identity and saves it in one transaction (a new
  // agent id drops what the old one had uploaded). The reply may carry a
  // desired state, for the caller to apply.
  Result<v1::ProvisionResponse> provision(const LinkSettings& settings, const link::MachineFacts& facts,
                                          const std::string& reason);

 private:
  Result<v1::ProvisionRequest> build_request(const LinkSettings& settings, const link::MachineFacts& facts,
                                             const std::string& reason, const std::filesystem::path& host_id_path);
  Status save_identity(const v1::ProvisionResponse& response, const LinkSettings& settings,
                       const link::MachineFacts& facts);

  Paths paths_;
  StateStore& store_;
  LogManager& logs_;
  PlatformConnection& connection_;
};

}  // namespace vigil
