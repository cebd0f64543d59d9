// The commands a check-in reply carries (scan now, re-provision, rotate the
// token, uninstall), carried out on the link's thread. An unknown kind is
// refused (with its outcome): a newer platform may send kinds this agent
// lacks. Each outcome goes back to the platform (command_outcomes.h).
#pragma once

#include "link/command_outcomes.h"
#include "link/link_delegate.h"
#include "log/log_manager.h"
#include "store/state_store.h"
#include "vigil/agent/v1/agent.pb.h"

namespace vigil {

class PlatformCommands {
 public:
  PlatformCommands(StateStore& store, LogManager& logs, LinkDelegate& delegate, CommandOutcomes& outcomes)
      : store_(store), logs_(logs), delegate_(delegate), outcomes_(outcomes) {}

  void carry_out(const v1::Command& command);

 private:
  void scan_now(uint64_t id, const v1::ScanNow& scan);
  void reprovision(uint64_t id, const v1::Reprovision& reprovision);
  void rotate_token(uint64_t id, const v1::RotateToken& rotation);
  void uninstall(uint64_t id);

  StateStore& store_;
  LogManager& logs_;
  LinkDelegate& delegate_;
  CommandOutcomes& outcomes_;
};

}  // namespace vigil
