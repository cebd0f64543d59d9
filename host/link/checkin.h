// One check-in: the agent reports its modules (in full only when they
// changed), its outbox and the commands it carried out; the platform answers
// with a desired state to apply and commands to carry out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "link/desired_state.h"
#include "link/identity.h"
#include "link/link_delegate.h"
#include "link/link_settings.h"
#include "link/link_status.h"
#include "link/platform_commands.h"
#include "link/platform_connection.h"
#include "store/state_store.h"
#include "vigil/result/result.h"

namespace vigil {

class Checkin {
 public:
  Checkin(StateStore& store, LogManager& logs, LinkDelegate& delegate, LinkStatus& status,
          PlatformConnection& connection, DesiredStateApplier& desired_state, CommandOutcomes& outcomes)
      : store_(store),
        logs_(logs),
        delegate_(delegate),
        status_(status),
        connection_(connection),
        desired_state_(desired_state),
        outcomes_(outcomes),
        commands_(store, logs, delegate, outcomes) {}

  // Returns whether the platform sent anything to act on (check in again soon).
  Result<bool> check_in(const LinkSettings& settings, const link::MachineFacts& facts);
  // The last check-in of an agent being uninstalled (CheckinRequest.leaving):
  // it reports the commands carried out and nothing else.
  Status leave(const LinkSettings& settings, const link::MachineFacts& facts);
  // A new identity: the platform has no module statuses and awaits no commands of it.
  void forget();
  // The platform's newest update timestamp version, as the last reply announced it.
  uint64_t announced_update() const { return announced_update_; }

 private:
  v1::CheckinRequest build_request(const LinkSettings& settings, const link::MachineFacts& facts,
                                   const std::string& status_digest);
  // Carries out the reply's commands once each, even across a restart.
  void carry_out(const v1::CheckinResponse& response, const LinkSettings& settings);

  StateStore& store_;
  LogManager& logs_;
  LinkDelegate& delegate_;
  LinkStatus& status_;
  PlatformConnection& connection_;
  DesiredStateApplier& desired_state_;
  CommandOutcomes& outcomes_;
  PlatformCommands commands_;
  std::string last_status_digest_;  // of the module statuses the platform has
  std::vector<uint64_t> done_commands_;
  uint64_t announced_update_ = 0;
};

}  // namespace vigil
