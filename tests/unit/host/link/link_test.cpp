// The link's pure parts: platform URLs, gzip bodies, identity helpers and how
// a desired state becomes configuration.
#include <gtest/gtest.h>

#include <fstream>

#include "link/identity.h"
#include "link/platform_link.h"
#include "test_support.h"
#include "vigil/crypto/random.h"
#include "vigil/net/wire.h"

namespace vigil {
namespace {

TEST(PlatformUrl, AcceptsHttpsHostsPortsAndPrefixes) {
  auto url = wire::parse_url("https://platform.example:8443/agents/");
  ASSERT_TRUE(url.ok()) << url.error();
  EXPECT_EQ(url.value().host, "platform.example");
  EXPECT_EQ(url.value().port, 8443);
  EXPECT_EQ(url.value().prefix, "/agents");
  EXPECT_EQ(wire::parse_url("https://127.0.0.1").value().port, 443);
  auto v6 = wire::parse_url("https://[::1]:9000");
  ASSERT_TRUE(v6.ok()) << v6.error();
  EXPECT_EQ(v6.value().host, "::1");
  EXPECT_EQ(v6.value().to_string(), "https://[::1]:9000");
}

TEST(PlatformUrl, RefusesEverythingElseNamingWhy) {
  for (const char* bad :
       {"http://127.0.0.1", "https://", "https://:443", "https://host:0", "https://host:70000", "https://host:12ab",
        "https://user@host", "https://host/a?b", "https://[::1", "https://ho st", "ftp://x"}) {
    auto url = wire::parse_url(bad);
    EXPECT_FALSE(url.ok()) << bad;
    if (!url.ok()) {
      EXPECT_NE(url.error().find(bad), std::string::npos);
    }
  }
}

TEST(Gzip, RoundTripsAndRefusesCorruptOrTruncatedBodies) {
  std::string text;
  for (int i = 0; i < 10000; ++i) text += "row " + std::to_string(i) + "\n";
  auto packed = wire::gzip(text);
  ASSERT_TRUE(packed.ok());
  EXPECT_LT(packed.value().size(), text.size() / 3);
  EXPECT_EQ(wire::gunzip(packed.value()).value(), text);
  EXPECT_FALSE(wire::gunzip(packed.value().substr(0, packed.value().size() / 2)).ok());
  EXPECT_FALSE(wire::gunzip("plain text").ok());
  EXPECT_FALSE(wire::gunzip(packed.value() + "trailing").ok());
}

TEST(Gzip, RefusesABombPastTheBodyLimit) {
  auto bomb = wire::gzip(std::string(wire::kMaxBodyBytes + 1, '\0'));
  ASSERT_TRUE(bomb.ok());
  EXPECT_LT(bomb.value().size(), size_t{1} << 20);
  auto unpacked = wire::gunzip(bomb.value());
  ASSERT_FALSE(unpacked.ok());
  EXPECT_NE(unpacked.error().find("larger than"), std::string::npos);
}

TEST(Identity, UuidsAreVersion4AndValidated) {
  std::string id = crypto::random_uuid();
  EXPECT_TRUE(crypto::is_uuid(id)) << id;
  EXPECT_EQ(id[14], '4');
  EXPECT_NE(crypto::random_uuid(), id);
  EXPECT_FALSE(crypto::is_uuid("not-a-uuid"));
  EXPECT_FALSE(crypto::is_uuid(id + "0"));
}

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

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

TEST(Protocol, UnknownFieldsFromANewerPeerAreKeptNotErrors) {
  v1::CheckinResponse response;
  response.set_send_module_status(true);
  std::string wire_bytes = response.SerializeAsString();
  wire_bytes += std::string("\xa8\x06\x2a", 3);  // field 101, varint 42: something a later revision added
  v1::CheckinResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire_bytes));
  EXPECT_TRUE(parsed.send_module_status());
  EXPECT_EQ(parsed.SerializeAsString(), wire_bytes);
}

}  // namespace
}  // namespace vigil
