// The link's pure parts: identity helpers and how a desired state becomes
// configuration.
#include <gtest/gtest.h>

#include <fstream>

#include "link/identity.h"
#include "link/platform_link.h"
#include "test_support.h"
#include "vigil/crypto/random.h"

namespace vigil {
namespace {

TEST(Identity, FingerprintFollowsMachineIdProductUuidAndMacs) {
  test::TempDir root;
  std::filesystem::create_directories(root.path() / "etc");
  std::filesystem::create_directories(root.path() / "sys/class/net/eth0");
  std::filesystem::create_directories(root.path() / "sys/class/net/lo");
  std::ofstream(root.path() / "sys/class/net/eth0/address") << "52:54:00:12:34:56\n";
  std::ofstream(root.path() / "sys/class/net/lo/address") << "00:00:00:00:00:00\n";
  std::ofstream(root.path() / "etc/machine-id") << "aaaa\n";
  auto first = link::read_machine_facts(root.path());
  EXPECT_EQ(first.mac_addresses, std::vector<std::string>{"52:54:00:12:34:56"});
  EXPECT_EQ(first.fingerprint.size(), 32u);
  EXPECT_EQ(link::read_machine_facts(root.path()).fingerprint, first.fingerprint);
  std::ofstream(root.path() / "etc/machine-id") << "bbbb\n";
  EXPECT_NE(link::read_machine_facts(root.path()).fingerprint, first.fingerprint);
  std::ofstream(root.path() / "etc/machine-id") << "aaaa\n";
  std::ofstream(root.path() / "sys/class/net/eth0/address") << "52:54:00:12:34:57\n";
  EXPECT_NE(link::read_machine_facts(root.path()).fingerprint, first.fingerprint);
}

TEST(Identity, HostIdFileLivesUnderTheSearchDir) {
  test::TempDir root;
  auto file = link::host_id_file(root.path(), "/opt/state/");
  EXPECT_EQ(file, root.path() / "opt/state/vigil/hostid");
  EXPECT_EQ(link::host_id_file(root.path(), ""), root.path() / "etc/vigil/hostid");
  EXPECT_FALSE(link::read_host_id(file));
  std::string id = crypto::random_uuid();
  ASSERT_TRUE(link::write_host_id(file, id).ok());
  EXPECT_EQ(link::read_host_id(file), id);
  std::ofstream(file) << "garbage\n";
  EXPECT_FALSE(link::read_host_id(file));
}

TEST(DesiredState, BecomesConfigAndDropsWhatTheProfileNoLongerCarries) {
  v1::DesiredState state;
  state.set_version("v7");
  state.add_activated_modules("vm");
  state.add_activated_modules("inv");
  state.add_activated_modules("inv");
  state.add_activated_modules("bad name\n");
  v1::Profile& profile = *state.mutable_profile();
  profile.set_name("servers");
  profile.set_checkin_interval_seconds(120);
  (*profile.mutable_scan_interval_seconds())["inv"] = 3600;
  (*profile.mutable_cpu_limit_percent())["inv"] = 40;
  (*profile.mutable_cpu_limit_percent())["vm"] = 400;  // out of range: ignored
  profile.set_log_level(-1);
  auto changes = desired_state_config(state, {{"vm.ScanInterval", "60"}, {"LogLevel", "4"}, {"AgentId", "x"}});
  std::map<std::string, std::optional<std::string>> applied;
  for (const auto& [key, value] : changes) applied[key] = value;  // later entries win, as in one transaction
  EXPECT_EQ(applied["vm.ScanInterval"], std::nullopt);
  EXPECT_EQ(applied["inv.ScanInterval"], "3600");
  EXPECT_EQ(applied["inv.CpuLimit"], "40");
  EXPECT_EQ(applied.count("vm.CpuLimit"), 0u);
  EXPECT_EQ(applied["CheckinInterval"], "120");
  EXPECT_EQ(applied.count("LogLevel"), 0u);  // -1: left alone
  EXPECT_EQ(applied.count("AgentId"), 0u);
  EXPECT_EQ(applied["ActivatedModules"], R"(["inv","vm"])");
  EXPECT_EQ(applied["StateVersion"], "v7");
  EXPECT_EQ(applied["Profile"], "servers");
}

// A profile's log level is taken back when the profile drops it; a local change made since stays.
TEST(DesiredState, ALogLevelTheProfileDropsReturnsToTheDefaultUnlessChangedLocally) {
  v1::DesiredState state;
  state.mutable_profile()->set_log_level(5);
  auto set = desired_state_config(state, {});
  std::map<std::string, std::optional<std::string>> applied(set.begin(), set.end());
  EXPECT_EQ(applied["LogLevel"], "5");
  EXPECT_EQ(applied["ProfileLogLevel"], "5");

  state.mutable_profile()->set_log_level(-1);
  auto dropped = desired_state_config(state, {{"LogLevel", "5"}, {"ProfileLogLevel", "5"}});
  applied = {dropped.begin(), dropped.end()};
  ASSERT_EQ(applied.count("LogLevel"), 1u);
  EXPECT_EQ(applied["LogLevel"], std::nullopt);
  EXPECT_EQ(applied["ProfileLogLevel"], std::nullopt);

  auto changed_locally = desired_state_config(state, {{"LogLevel", "2"}, {"ProfileLogLevel", "5"}});
  applied = {changed_locally.begin(), changed_locally.end()};
  EXPECT_EQ(applied.count("LogLevel"), 0u);
  EXPECT_EQ(applied["ProfileLogLevel"], std::nullopt);
}

}  // namespace
}  // namespace vigil
