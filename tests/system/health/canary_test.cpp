// vigilctl health --canary against a real vigild with the FIM module and the
// sample platform over TLS on 127.0.0.1: a new file under the watched tree
// reaches the platform as its event (each leg timed; the EDR legs are "not
// available"), and the canary fails naming the file leg once the platform
// deactivates FIM.
#include <chrono>
#include <fstream>
#include <iostream>

#include "daemon_fixture.h"
#include "platform_process.h"

namespace vigil::test {
namespace {

namespace fs = std::filesystem;

class Canary : public ::testing::Test {
 protected:
  void SetUp() override {
    platform_ = std::make_unique<PlatformProcess>(dir_.path() / "platform");
    ASSERT_TRUE(platform_->serving()) << platform_->log();
    auto profile = dir_.path() / "fast.json";
    std::ofstream(profile) << R"({"checkin_interval": 1})";
    ASSERT_EQ(platform_->admin({"profile-set", "--name", "fast", "--file", profile.string(), "--key", key()}).exit_code,
              0);
    // Only *.conf files are watched: the canary's file must be named to match.
    auto manifest = dir_.path() / "fim.yaml";
    std::ofstream(manifest) << "paths:\n  - {path: /etc/app, include: ['*.conf']}\n";
    ASSERT_EQ(platform_->admin({"manifest-set", "--module", "fim", "--file", manifest.string()}).exit_code, 0);
    ASSERT_EQ(platform_->admin({"activate", "--key", key(), "--module", "fim"}).exit_code, 0);
    fs::create_directories(system() / "etc/app");
    std::ofstream(system() / "etc/app/a.conf") << "one";
    install_plugins(root(), {FIM_PLUGIN_PATH});
    set_agent_config(root(), "fim.Root", system().string());
    set_agent_config(root(), "LinkBackoffMaxSeconds", "1");
    daemon_ = std::make_unique<Daemon>(root());
    ASSERT_TRUE(daemon_->ready()) << daemon_->log();
    auto provisioned = vigilctl(root(), {"provision", "CustomerId=" + platform_->customer_id(), "ActivationId=" + key(),
                                         "WebServiceUri=" + platform_->url(), "CaBundle=" + platform_->ca_bundle()});
    ASSERT_EQ(provisioned.exit_code, 0) << provisioned.err << daemon_->log();
    // FIM watches in real time from its first scan of the platform's manifest on.
    ASSERT_TRUE(eventually(
        [&] {
          if (fim_state("last_snapshot").is_object()) return true;
          vigilctl(root(), {"demand", "--type", "fim", "--wait"});  // fails until the manifest is there
          return fim_state("last_snapshot").is_object();
        },
        60))
        << daemon_->log();
  }

  std::string key() const { return platform_->activation_id(); }
  fs::path root() const { return dir_.path() / "agent"; }
  fs::path system() const { return dir_.path() / "system"; }
  // A field of the fim module's entry in vigilctl status, null when absent.
  json fim_state(const std::string& field) const {
    json status = json::parse(vigilctl(root(), {"status", "--json"}).out, nullptr, false);
    if (!status.is_object()) return nullptr;
    for (const auto& module : status["modules"]) {
      if (module["module"] == "fim") return module.value(field, json());
    }
    return nullptr;
  }
  json canary_step(const json& report) const {
    for (const auto& step : report["steps"]) {
      if (step["name"] == "canary") return step;
    }
    return nullptr;
  }

  TempDir dir_;
  std::unique_ptr<PlatformProcess> platform_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(Canary, PassesAgainstTheSamplePlatform_EachLegTimed) {
  auto started = std::chrono::steady_clock::now();
  auto run = vigilctl(root(), {"health", "--canary", "--json"});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  json report = json::parse(run.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << run.out << run.err;
  EXPECT_EQ(run.exit_code, 0) << report.dump(2) << daemon_->log();
  EXPECT_EQ(report["overall"], "Good") << report.dump(2);
  json legs = canary_step(report)["details"]["legs"];
  ASSERT_EQ(legs.size(), 3u) << report.dump(2);
  json file = legs[0];
  EXPECT_EQ(file["leg"], "file");
  EXPECT_EQ(file["outcome"], "pass") << file.dump();
  std::string path = file.value("path", "");
  EXPECT_EQ(path.rfind("/etc/app/vigil-canary-", 0), 0u) << file.dump();
  EXPECT_TRUE(path.ends_with(".conf")) << file.dump();
  EXPECT_EQ(file["action"], "created") << file.dump();
  EXPECT_GE(file["round_trip_ms"].get<int64_t>(), file["agent_ms"].get<int64_t>()) << file.dump();
  EXPECT_FALSE(fs::exists(system() / path.substr(1)));  // the canary removed its file
  for (size_t leg = 1; leg < 3; ++leg) {
    EXPECT_EQ(legs[leg]["outcome"], "not available") << legs[leg].dump();
    EXPECT_EQ(legs[leg]["detail"].get<std::string>().rfind("no EDR module", 0), 0u) << legs[leg].dump();
  }
  EXPECT_EQ(legs[1]["leg"], "process");
  EXPECT_EQ(legs[2]["leg"], "socket");
  // The platform holds the event the canary found.
  bool held = false;
  json events =
      platform_->admin_json({"events", "--agent", report["ids"]["agent_id"].get<std::string>(), "--module", "fim"});
  for (const auto& event : events) held |= event["event"]["values"]["path"] == path;
  EXPECT_TRUE(held);
  std::cout << "[ MEASURE ] canary: file leg " << file["round_trip_ms"] << " ms from the write to the platform "
            << "holding the event (the agent saw it after " << file["agent_ms"] << " ms); vigilctl health --canary "
            << seconds << " s in all\n";

  auto console = vigilctl(root(), {"health", "--canary"});
  EXPECT_NE(console.out.find("11. Canary"), std::string::npos) << console.out;
  EXPECT_NE(console.out.find("file (FIM): pass: created /etc/app/vigil-canary-"), std::string::npos) << console.out;
  EXPECT_NE(console.out.find("process (EDR): not available: no EDR module"), std::string::npos) << console.out;
}

TEST_F(Canary, FailsNamingTheFileLegWhenFimIsDeactivated) {
  ASSERT_EQ(platform_->admin({"deactivate", "--key", key(), "--module", "fim"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return fim_state("state") == "disabled"; })) << daemon_->log();
  auto run = vigilctl(root(), {"health", "--canary", "--json", "--canary-wait", "5"});
  json report = json::parse(run.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << run.out << run.err;
  EXPECT_EQ(run.exit_code, 4) << report.dump(2);
  EXPECT_EQ(report["overall"], "Bad");
  json failed;
  for (const auto& error : report["errors"]) {
    if (error["code"] == "canary-failed") failed = error;
  }
  ASSERT_TRUE(failed.is_object()) << report.dump(2);
  EXPECT_EQ(failed["severity"], "critical");
  EXPECT_NE(failed["description"].get<std::string>().find("file (FIM) leg failed: FIM is not active"),
            std::string::npos)
      << failed.dump();
  EXPECT_NE(failed["fix"].get<std::string>().find("admin activate"), std::string::npos) << failed.dump();
  json legs = canary_step(report)["details"]["legs"];
  EXPECT_EQ(legs[0]["outcome"], "fail");
  EXPECT_EQ(legs[1]["outcome"], "not available");  // never a pass, never a failure
}

}  // namespace
}  // namespace vigil::test
