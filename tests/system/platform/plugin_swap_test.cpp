// Plugin swaps end to end (docs/design/self-patch.md §5): a real vigild and
// vigil-platform over TLS on 127.0.0.1. The platform publishes a new version
// of the test scanner; the agent stages it, swaps it in without restarting,
// watches it on probation, and reverts it when it fails to start, fails its
// first scan or crashes the worker in it. The operator's upgrade and
// rollback, and a slot or factory file changed on disk, are covered too.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <thread>

#include "platform_link_fixture.h"
#include "store/plugin_slots.h"

namespace vigil::test {
namespace {

class PluginSwapTest : public PlatformLinkFixture {
 protected:
  void SetUp() override {
    PlatformLinkFixture::SetUp();
    if (HasFatalFailure()) return;
    publish_manifest("version\nstate swap kept\n");
    set_config(agent_root(), "PluginProbeWindow", "2");
  }

  json updates() { return status_of(agent_root())["platform"]["updates"]; }
  json slot_row() {
    json plugins = updates().value("plugins", json::array());
    return plugins.empty() ? json::object() : plugins[0];
  }
  int64_t worker_pid() { return status_of(agent_root())["daemon"].value("pid", int64_t{0}); }
  // The version the last scan of testscan reported, and the plugin state it read back.
  std::string scanned(const char* what) {
    json rows = agent_rows(agent_root());
    if (!rows.contains("testscan")) return "";
    const json& table = rows["testscan"][what == std::string("version") ? "version" : "state"];
    if (!table.is_array() || table.empty()) return "";
    return table[0]["values"].value(what == std::string("version") ? "value" : "previous", "");
  }
  std::string loaded_version() {
    auto result = vigilctl(agent_root(), {"plugins", "--json"});
    if (result.exit_code != 0) return "";
    for (const auto& plugin : json::parse(result.out)) {
      if (plugin.value("module", "") == "testscan") return plugin.value("version", "");
    }
    return "";
  }
  json history() {
    auto result = vigilctl(agent_root(), {"plugins", "history", "testscan", "--json"});
    return result.exit_code == 0 ? json::parse(result.out) : json::array();
  }
  void auto_upgrade() {
    auto profile = dir_.path() / "auto.json";
    std::ofstream(profile) << R"({"checkin_interval": 1, "scan_interval": {"testscan": 3600}, "auto_upgrade": true})";
    ASSERT_EQ(platform_->admin({"profile-set", "--name", "fast", "--file", profile.string()}).exit_code, 0);
  }
  // Provisioned, first scan done by version 0.1.0.
  void start_provisioned() {
    start_agent(agent_root());
    ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0) << daemon_->log();
    ASSERT_TRUE(eventually([&] { return scanned("version") == "0.1.0"; })) << daemon_->log();
  }
  json publish(const std::string& plugin_name) {
    return platform_->admin_json(
        {"package-set", "--module", "testscan", "--file", plugin(plugin_name).string(), "--version", "0.2.0"});
  }
  // 0.2.0 swapped in automatically and past probation; then the agent stops.
  void swap_to_v2_then_stop() {
    auto_upgrade();
    start_provisioned();
    publish("test_scanner_v2");
    ASSERT_TRUE(eventually([&] {
      json row = slot_row();
      return row.value("active", "") == "a" && row.value("state", "") == "stable";
    })) << updates().dump(2);
    daemon_.reset();
  }
  // A bad 0.2.0 is swapped in automatically, reverted with `reason`, and never tried again.
  void expect_reverted(const std::string& plugin_name, const std::string& reason) {
    auto_upgrade();
    start_provisioned();
    publish(plugin_name);
    ASSERT_TRUE(eventually([&] {
      json last = history();
      return !last.empty() && last[0].value("outcome", "") == "reverted";
    })) << daemon_->log();
    json line = history()[0];
    EXPECT_EQ(line["to"], "0.2.0");
    if (line["revert_ms"].get<int64_t>() >= 0)
      std::cout << "revert (failure seen to the old version loaded) took " << line["revert_ms"] << " ms\n";
    EXPECT_NE(line["reason"].get<std::string>().find(reason), std::string::npos) << line.dump();
    // The old version runs and scans again.
    ASSERT_TRUE(eventually([&] {
      json row = slot_row();
      return row.value("active", "") == "factory" && row.value("state", "") == "stable";
    })) << updates().dump(2);
    EXPECT_TRUE(eventually([&] { return loaded_version() == "0.1.0"; }, 40)) << daemon_->log();
    // The platform learns it at a check-in.
    std::string agent_id = agent_id_of(agent_root());
    EXPECT_TRUE(eventually([&] {
      json record = agent_record(agent_id);
      if (!record.is_object() || !record["modules"].is_array() || record["modules"].empty()) return false;
      return record["modules"][0].value("last_upgrade", json::object()).value("outcome", "") == "reverted";
    })) << agent_record(agent_id).dump(2);
    // Many check-ins later: not swapped to again.
    std::this_thread::sleep_for(std::chrono::seconds(3));
    EXPECT_EQ(history().size(), 1u) << history().dump(2);
    EXPECT_EQ(slot_row().value("active", ""), "factory");
    EXPECT_NE(vigilctl(agent_root(), {"status"}).out.find("last: 0.2.0 reverted"), std::string::npos);
  }
};

// The operator swaps to the staged version: same worker, plugin state kept,
// v2 scanning, probation passed; then rolls back, and v2 is not taken again.
TEST_F(PluginSwapTest, ANewVersionIsSwappedInWithoutARestartAndRolledBackByTheOperator) {
  start_provisioned();
  int64_t pid = worker_pid();
  publish("test_scanner_v2");
  ASSERT_TRUE(eventually([&] { return slot_row().value("state", "") == "staged"; })) << updates().dump(2);
  // AutoUpgrade is off (the profile says nothing): staged waits for the operator.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(slot_row().value("active", ""), "factory");

  auto swapped = vigilctl(agent_root(), {"plugins", "upgrade", "testscan"});
  ASSERT_EQ(swapped.exit_code, 0) << swapped.err << daemon_->log();
  EXPECT_NE(swapped.out.find("testscan: now runs 0.2.0 (slot a), swapped in "), std::string::npos) << swapped.out;
  EXPECT_EQ(worker_pid(), pid);
  // The probe scan runs v2, which reads the state v1 stored.
  ASSERT_TRUE(eventually([&] { return scanned("version") == "0.2.0"; })) << daemon_->log();
  EXPECT_EQ(scanned("previous"), "kept");
  ASSERT_TRUE(eventually([&] { return slot_row().value("state", "") == "stable"; })) << updates().dump(2);
  json line = history()[0];
  EXPECT_EQ(line["outcome"], "active") << line.dump();
  EXPECT_EQ(line["from"], "0.1.0");
  EXPECT_EQ(line["to"], "0.2.0");
  EXPECT_GE(line["swap_ms"].get<int64_t>(), 0);
  std::cout << "swap (command to 0.2.0 initialised) took " << line["swap_ms"] << " ms\n";
  // The file and the metadata of the check that staged it (timestamp, snapshot, targets at least).
  const int64_t file_size = static_cast<int64_t>(fs::file_size(plugin("test_scanner_v2")));
  EXPECT_GT(line["bytes_downloaded"].get<int64_t>(), file_size) << line.dump();
  EXPECT_LT(line["bytes_downloaded"].get<int64_t>(), file_size + 64 * 1024) << line.dump();
  std::cout << "upgrade downloaded " << line["bytes_downloaded"] << " bytes (plugin file " << file_size << ")\n";
  EXPECT_EQ(worker_pid(), pid);

  auto rolled_back = vigilctl(agent_root(), {"plugins", "rollback", "testscan"});
  ASSERT_EQ(rolled_back.exit_code, 0) << rolled_back.err << daemon_->log();
  ASSERT_TRUE(eventually([&] { return slot_row().value("active", "") == "factory"; })) << updates().dump(2);
  EXPECT_EQ(loaded_version(), "0.1.0");
  EXPECT_EQ(history()[0]["outcome"], "rolled back");
  // The platform still offers 0.2.0: neither staged nor swapped to again.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(slot_row().value("active", ""), "factory");
  auto again = vigilctl(agent_root(), {"plugins", "upgrade", "testscan"});
  EXPECT_NE(again.exit_code, 0);
  auto text = vigilctl(agent_root(), {"plugins", "history", "testscan"});
  EXPECT_NE(text.out.find("rolled back"), std::string::npos) << text.out;
  EXPECT_EQ(worker_pid(), pid);
}

TEST_F(PluginSwapTest, AVersionThatFailsToStartIsReverted) {
  expect_reverted("test_scanner_v2_init", "failed to initialise");
}

TEST_F(PluginSwapTest, AVersionWhoseFirstScanFailsIsReverted) {
  expect_reverted("test_scanner_v2_scan_fail", "its first scan failed: ");
  EXPECT_TRUE(eventually([&] { return scanned("version") == "0.1.0"; }));
}

// The new version kills the worker in its first scan: the next worker, not the
// plugin, decides; the death is charged to the version, not to the module.
TEST_F(PluginSwapTest, AVersionThatCrashesTheWorkerIsRevertedByTheNextWorker) {
  expect_reverted("test_scanner_v2_scan_crash", "while it was on probation");
  EXPECT_NE(daemon_->log().find("charged to the plugin version"), std::string::npos) << daemon_->log();
  json modules = status_of(agent_root())["modules"];
  for (const auto& module : modules) EXPECT_NE(module.value("state", ""), "quarantined");
}

// What runs is checked against the signed sha256 at every load: a slot file
// changed on disk is refused (the factory file runs), and a factory file a
// package upgrade replaced takes over from the slot.
// The new version's first scan never reaches a checkpoint: cancelling it
// cannot work, so the worker stuck in it is replaced (killed after a grace).
TEST_F(PluginSwapTest, AVersionWhoseFirstScanHangsIsRevertedThroughANewWorker) {
  expect_reverted("test_scanner_v2_scan_hang", "its first scan did not end within the probation window");
  EXPECT_NE(daemon_->log().find("does not end its scan"), std::string::npos) << daemon_->log();
}

// vigild killed with its worker mid-swap and on probation, then the worker
// alone killed on probation: each start settles the slot row before any
// plugin loads. (Read from the store: the agent answers nothing during an init.)
TEST_F(PluginSwapTest, KillsDuringASwapOrItsProbationLeaveAConsistentSlot) {
  set_config(agent_root(), "PluginProbeWindow", "600");
  auto_upgrade();
  start_provisioned();
  auto stored_row = [&]() -> PluginSlotState {
    auto store = StateStore::open(agent_root() / "var/lib/vigil/config.db");
    if (!store.ok()) return {};
    auto row = store.value()->plugin_slots().get("testscan");
    return row.ok() && row.value() ? *row.value() : PluginSlotState{};
  };
  auto kill_vigild = [&] {
    ::kill(daemon_->pid(), SIGKILL);  // the worker follows (parent-death signal)
    daemon_.reset();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  };
  publish("test_scanner_v2_slow_init");
  ASSERT_TRUE(eventually([&] { return stored_row().state == "swapping"; })) << daemon_->log();
  kill_vigild();
  start_agent(agent_root());
  // Not the new version's fault: the old one ran, and the swap was offered again.
  ASSERT_TRUE(eventually([&] {
    PluginSlotState row = stored_row();
    return row.state == "probing" && row.active == "a";
  })) << daemon_->log();
  ASSERT_TRUE(eventually([&] { return history().size() >= 1; }));
  EXPECT_EQ(history()[0]["outcome"], "interrupted") << history().dump(2);
  EXPECT_NE(history()[0]["reason"].get<std::string>().find("(1 of 3)"), std::string::npos);

  // Killed on probation with the worker: a clean slate (no death seen), so probation starts afresh.
  kill_vigild();
  start_agent(agent_root());
  EXPECT_EQ(loaded_version(), "0.2.0");
  EXPECT_EQ(stored_row().state, "probing");

  // The worker alone dies on probation: the next worker reverts before loading it.
  int64_t worker = worker_pid();
  ASSERT_GT(worker, 0);
  ::kill(static_cast<pid_t>(worker), SIGKILL);
  ASSERT_TRUE(eventually([&] { return !history().empty() && history()[0]["outcome"] == "reverted"; }))
      << daemon_->log();
  EXPECT_NE(history()[0]["reason"].get<std::string>().find("while it was on probation"), std::string::npos);
  EXPECT_TRUE(eventually([&] { return loaded_version() == "0.1.0"; })) << daemon_->log();
  EXPECT_EQ(stored_row().active, "factory");
  EXPECT_EQ(stored_row().state, "stable");
}

// The profile decides: automatic swaps wait for the upgrade window; a pinned
// module runs its pinned version (a downgrade too) whatever the current one is.
TEST_F(PluginSwapTest, TheUpgradeWindowAndPinsDecideWhatRuns) {
  auto profile = [&](const std::string& extra) {
    auto file = dir_.path() / "policy.json";
    std::ofstream(file) << R"({"checkin_interval": 1, "scan_interval": {"testscan": 3600}, "auto_upgrade": true)"
                        << extra << "}";
    auto set = platform_->admin({"profile-set", "--name", "fast", "--file", file.string()});
    ASSERT_EQ(set.exit_code, 0) << set.err;
  };
  // A one-minute window twelve hours from now.
  std::time_t later = std::time(nullptr) + 12 * 3600;
  std::tm local{};
  localtime_r(&later, &local);
  char window[32];
  std::snprintf(window, sizeof(window), "%02d:%02d-%02d:%02d", local.tm_hour, local.tm_min, local.tm_hour,
                (local.tm_min + 1) % 60);
  profile(std::string(R"(, "upgrade_window": ")") + window + "\"");
  start_provisioned();
  platform_->admin_json(
      {"package-set", "--module", "testscan", "--file", plugin("test_scanner").string(), "--version", "0.1.0"});
  publish("test_scanner_v2");
  ASSERT_TRUE(eventually([&] { return slot_row().value("state", "") == "staged"; })) << updates().dump(2);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(slot_row().value("active", ""), "factory") << "swapped outside the upgrade window";

  // Pinned to what runs: the staged 0.2.0 is not taken, even with the window gone.
  profile(R"(, "plugin_pins": {"testscan": "0.1.0"})");
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(slot_row().value("active", ""), "factory");
  EXPECT_EQ(loaded_version(), "0.1.0");

  // No pin: the current version.
  profile("");
  ASSERT_TRUE(eventually([&] { return loaded_version() == "0.2.0"; })) << updates().dump(2) << daemon_->log();
  ASSERT_TRUE(eventually([&] { return slot_row().value("state", "") == "stable"; })) << updates().dump(2);

  // Pinned to the older version: downloaded into the other slot and swapped to.
  profile(R"(, "plugin_pins": {"testscan": "0.1.0"})");
  ASSERT_TRUE(eventually([&] { return loaded_version() == "0.1.0"; })) << updates().dump(2) << daemon_->log();
  EXPECT_EQ(slot_row().value("active", ""), "b");

  // Pinned to what the platform does not offer: said so, nothing changes.
  profile(R"(, "plugin_pins": {"testscan": "9.9"})");
  ASSERT_TRUE(eventually([&] { return updates().value("staging_errors", json::object()).contains("testscan"); }))
      << updates().dump(2);
  EXPECT_EQ(updates()["staging_errors"]["testscan"], "pinned to testscan 9.9, which the platform does not offer");
  EXPECT_EQ(loaded_version(), "0.1.0");
}

// A file the agent does not take is named with the reason, never silently passed over.
TEST_F(PluginSwapTest, AFileForAnotherArchitectureIsNamedNotTaken) {
  auto_upgrade();
  start_provisioned();
  auto riscv = riscv64_plugin("test_scanner_v2", dir_.path() / "riscv64.so");
  auto published = platform_->admin(
      {"package-set", "--module", "testscan", "--file", riscv.string(), "--version", "0.2.0", "--arch", "riscv64"});
  ASSERT_EQ(published.exit_code, 0) << published.err;
  ASSERT_TRUE(eventually([&] { return updates().contains("passed_over"); })) << updates().dump(2);
  EXPECT_NE(updates()["passed_over"].value("testscan 0.2.0 (riscv64)", "").find("another architecture"),
            std::string::npos)
      << updates().dump(2);
  EXPECT_NE(vigilctl(agent_root(), {"status"}).out.find("testscan 0.2.0 (riscv64) offered, not taken: "),
            std::string::npos);
  EXPECT_EQ(loaded_version(), "0.1.0");
}

TEST_F(PluginSwapTest, FilesChangedOnDiskAreNeverRunFromASlot) {
  swap_to_v2_then_stop();
  if (HasFatalFailure()) return;
  fs::path slot = agent_root() / "var/lib/vigil/plugin-slots/testscan/a.so";
  {
    std::fstream file(slot, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(-1, std::ios::end);
    file.put('\x5a');
  }
  start_agent(agent_root());
  json line = history()[0];
  EXPECT_EQ(line["outcome"], "refused") << line.dump();
  EXPECT_NE(line["reason"].get<std::string>().find(slot.string()), std::string::npos) << line.dump();
  EXPECT_NE(line["reason"].get<std::string>().find("is not the"), std::string::npos) << line.dump();
  EXPECT_EQ(slot_row().value("active", ""), "factory");
  EXPECT_EQ(loaded_version(), "0.1.0");
}

TEST_F(PluginSwapTest, AFactoryFileAPackageReplacedRunsInsteadOfTheSlot) {
  swap_to_v2_then_stop();
  if (HasFatalFailure()) return;
  // Other bytes, still a loadable plugin: what a package upgrade of the agent does.
  std::ofstream(agent_root() / "usr/lib/vigil/plugins/test_scanner.so", std::ios::app | std::ios::binary) << '\n';
  start_agent(agent_root());
  json line = history()[0];
  EXPECT_EQ(line["outcome"], "replaced by package") << line.dump();
  EXPECT_EQ(slot_row().value("active", ""), "factory");
  EXPECT_EQ(loaded_version(), "0.1.0");
}

}  // namespace
}  // namespace vigil::test
