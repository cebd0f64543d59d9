// A platform with the test module activated and an agent root ready to
// provision against it, for the health and diagnostics system tests.
#pragma once

#include <fstream>
#include <memory>

#include "daemon_fixture.h"
#include "platform_process.h"

namespace vigil::test {

class HealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    platform_ = std::make_unique<PlatformProcess>(dir_.path() / "platform");
    ASSERT_TRUE(platform_->serving()) << platform_->log();
    auto profile = dir_.path() / "fast.json";
    std::ofstream(profile) << R"({"checkin_interval": 1, "scan_interval": {"testscan": 3600}})";
    ASSERT_EQ(
        platform_
            ->admin({"profile-set", "--name", "fast", "--file", profile.string(), "--key", platform_->activation_id()})
            .exit_code,
        0);
    auto manifest = dir_.path() / "manifest";
    std::ofstream(manifest) << "row t a one\nrow t b two\n";
    ASSERT_EQ(platform_->admin({"manifest-set", "--module", "testscan", "--file", manifest.string()}).exit_code, 0);
    ASSERT_EQ(platform_->admin({"activate", "--key", platform_->activation_id(), "--module", "testscan"}).exit_code, 0);
    install_plugins(root(), {plugin("test_scanner")});
    set_agent_config(root(), "LinkBackoffMaxSeconds", "1");
  }

  std::filesystem::path root() const { return dir_.path() / "agent"; }

  // A provisioned agent whose module scanned and uploaded once.
  void start_provisioned_agent() {
    daemon_ = std::make_unique<Daemon>(root());
    ASSERT_TRUE(daemon_->ready()) << daemon_->log();
    auto provisioned = vigilctl(
        root(), {"provision", "CustomerId=" + platform_->customer_id(), "ActivationId=" + platform_->activation_id(),
                 "WebServiceUri=" + platform_->url(), "CaBundle=" + platform_->ca_bundle()});
    ASSERT_EQ(provisioned.exit_code, 0) << provisioned.err << daemon_->log();
    ASSERT_TRUE(eventually([&] {
      auto status = vigilctl(root(), {"status", "--json"});
      json parsed = json::parse(status.out, nullptr, false);
      if (!parsed.is_object()) return false;
      for (const auto& module : parsed["modules"]) {
        if (module["module"] == "testscan" && !module["last_snapshot"].is_null() &&
            module["last_snapshot"]["state"] == "acknowledged" && parsed["platform"].contains("last_checkin")) {
          return true;
        }
      }
      return false;
    })) << daemon_->log();
  }

  TempDir dir_;
  std::unique_ptr<PlatformProcess> platform_;
  std::unique_ptr<Daemon> daemon_;
};

}  // namespace vigil::test
