// The platform link's fixture (a platform with the test module activated, an
// agent root ready to provision against it), for the health and diagnostics
// system tests.
#pragma once

#include "platform_link_fixture.h"

namespace vigil::test {

class HealthTest : public PlatformLinkFixture {
 protected:
  std::filesystem::path root() const { return agent_root(); }

  // A provisioned agent whose module scanned and uploaded once.
  void start_provisioned_agent() {
    start_agent(root());
    if (HasFatalFailure()) return;
    auto provisioned = provision(root(), *platform_);
    ASSERT_EQ(provisioned.exit_code, 0) << provisioned.err << daemon_->log();
    ASSERT_TRUE(eventually([&] {
      json status = status_of(root());
      if (!status.is_object()) return false;
      for (const auto& module : status["modules"]) {
        if (module["module"] == "testscan" && !module["last_snapshot"].is_null() &&
            module["last_snapshot"]["state"] == "acknowledged" && status["platform"].contains("last_checkin")) {
          return true;
        }
      }
      return false;
    })) << daemon_->log();
  }
};

}  // namespace vigil::test
