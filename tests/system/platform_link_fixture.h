// The fixture of the platform link's end-to-end tests: a vigil-platform on
// 127.0.0.1 with a fast profile, a testscan manifest and testscan activated,
// and an agent root with the test scanner installed.
#pragma once

#include <fstream>
#include <sstream>

#include "daemon_fixture.h"
#include "platform_process.h"
#include "store/config_table.h"
#include "store/state_store.h"

namespace vigil::test {

namespace fs = std::filesystem;

class PlatformLinkFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    platform_ = std::make_unique<PlatformProcess>(dir_.path() / "platform");
    ASSERT_TRUE(platform_->serving()) << platform_->log();
    publish_manifest("row t a one\nrow t b two\n");
    ASSERT_EQ(platform_->admin({"activate", "--key", platform_->activation_id(), "--module", "testscan"}).exit_code, 0);
    // After the manifest: the platform knows of module testscan.
    auto profile = dir_.path() / "fast.json";
    std::ofstream(profile) << R"({"checkin_interval": 1, "scan_interval": {"testscan": 3600}})";
    ASSERT_EQ(
        platform_
            ->admin({"profile-set", "--name", "fast", "--file", profile.string(), "--key", platform_->activation_id()})
            .exit_code,
        0);
    prepare_agent(agent_root());
  }

  fs::path agent_root() const { return dir_.path() / "agent"; }

  void prepare_agent(const fs::path& root) {
    install_plugins(root, {plugin("test_scanner")});
    set_config(root, "LinkBackoffMaxSeconds", "1");
  }
  static void set_config(const fs::path& root, const std::string& key, const std::string& value) {
    auto store = StateStore::open(root / "var/lib/vigil/config.db");
    ASSERT_TRUE(store.ok()) << store.error();
    ASSERT_TRUE(store.value()->config().set(key, value).ok());
  }
  void publish_manifest(const std::string& text) {
    auto file = dir_.path() / ("manifest-" + std::to_string(++manifests_));
    std::ofstream(file) << text;
    auto made = platform_->admin({"manifest-set", "--module", "testscan", "--file", file.string()});
    ASSERT_EQ(made.exit_code, 0) << made.err;
  }
  CommandResult provision(const fs::path& root, const PlatformProcess& platform, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"provision", "CustomerId=" + platform.customer_id(),
                                     "ActivationId=" + platform.activation_id(), "WebServiceUri=" + platform.url(),
                                     "CaBundle=" + platform.ca_bundle()};
    args.insert(args.end(), extra.begin(), extra.end());
    return vigilctl(root, args);
  }
  static json status_of(const fs::path& root) {
    auto result = vigilctl(root, {"status", "--json"});
    return result.exit_code == 0 ? json::parse(result.out) : json();
  }
  static std::string agent_id_of(const fs::path& root) {
    json status = status_of(root);
    return status.is_object() ? status.value("agent_id", "") : "";
  }
  static std::string read_text(const fs::path& file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  json agents() const { return platform_->admin_json({"agents"}); }
  json agent_record(const std::string& id) const {
    json list = agents();
    for (const auto& agent : list) {
      if (agent["agent_id"] == id) return agent;
    }
    return nullptr;
  }
  json platform_results(const std::string& id) const {
    return platform_->admin_json({"results", "--agent", id})["results"];
  }
  // The agent's latest snapshot rows of testscan in the platform's shape.
  static json agent_rows(const fs::path& root) {
    auto result = vigilctl(root, {"results", "--module", "testscan", "--json"});
    json rows = json::object();
    if (result.exit_code != 0) return rows;
    json report = json::parse(result.out);
    for (const auto& row : report["rows"]) {
      rows["testscan"][row["table"].get<std::string>()].push_back({{"key", row["key"]}, {"values", row["values"]}});
    }
    return rows;
  }
  void start_agent(const fs::path& root) {
    daemon_ = std::make_unique<Daemon>(root);
    ASSERT_TRUE(daemon_->ready()) << daemon_->log();
  }

  TempDir dir_;
  std::unique_ptr<PlatformProcess> platform_;
  std::unique_ptr<Daemon> daemon_;
  int manifests_ = 0;
};

}  // namespace vigil::test
