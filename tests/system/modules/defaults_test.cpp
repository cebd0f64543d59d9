// Default manifests through a real vigild on a standalone agent: the plugins'
// defaults (installed beside them as the build tree and the package put them)
// are scanned at once for inv, sca and fim; a local manifest replaces a
// default and removing it brings the default back; pc and udc, which ship
// none, and sca on an OS it has no policy for say so instead of planning a
// scan. The OS is a fake os-release under --root, read before the machine's.
#include <set>

#include "daemon_fixture.h"

namespace vigil::test {
namespace {

namespace fs = std::filesystem;

// Where the build tree puts the defaults: beside the module plugins.
const fs::path kBuiltDefaults = fs::path(INVENTORY_PLUGIN_PATH).parent_path() / "defaults";

class DefaultManifests : public ::testing::Test {
 protected:
  // An agent with `plugins` and the defaults beside them, on an OS of `id` and `version`.
  void start(const std::vector<fs::path>& plugins, const std::string& id, const std::string& version) {
    install_plugins(agent(), plugins);
    fs::copy(kBuiltDefaults, agent() / "usr/lib/vigil/plugins/defaults", fs::copy_options::recursive);
    fs::create_directories(agent() / "etc");
    std::ofstream(agent() / "etc/os-release") << "ID=" << id << "\nVERSION_ID=\"" << version << "\"\n";
    // FIM inspects a small tree of its own: the default's paths under fim.Root.
    for (const char* dir : {"etc", "usr/bin", "usr/sbin", "usr/lib/systemd/system", "boot/grub"}) {
      fs::create_directories(system() / dir);
    }
    std::ofstream(system() / "etc/hostname") << "vigil-test\n";
    std::ofstream(system() / "etc/adjtime") << "0.0 0 0.0\n";  // rewritten by the clock: left out
    std::ofstream(system() / "etc/.hosts.swp") << "swap";      // an editor's: left out
    std::ofstream(system() / "usr/bin/tool") << "#!/bin/sh\n";
    std::ofstream(system() / "boot/grub/grubenv") << "saved_entry=0\n";  // rewritten at boot: left out
    set_agent_config(agent(), "fim.Root", system().string());
    daemon_ = std::make_unique<Daemon>(agent());
    ASSERT_TRUE(daemon_->ready()) << daemon_->log();
  }
  fs::path agent() const { return dir_.path() / "agent"; }
  fs::path system() const { return dir_.path() / "system"; }
  json module_status(const std::string& module) {
    auto result = vigilctl(agent(), {"status", "--json"});
    json all = json::parse(result.out, nullptr, false);
    if (!all.is_object()) return nullptr;
    for (const auto& entry : all["modules"]) {
      if (entry["module"] == module) return entry;
    }
    return nullptr;
  }
  // The id of the module's last snapshot, 0 before its first.
  int64_t snapshot_id(const std::string& module) {
    json status = module_status(module);
    return status.is_object() && status["last_snapshot"].is_object() ? status["last_snapshot"]["id"].get<int64_t>() : 0;
  }
  // The rows of the module's latest snapshot.
  json rows(const std::string& module) {
    auto results = vigilctl(agent(), {"results", "--module", module, "--json", "--limit", "10000"});
    EXPECT_EQ(results.exit_code, 0) << results.err;
    json report = json::parse(results.out, nullptr, false);
    return report.is_object() ? report["rows"] : json::array();
  }
  std::set<std::string> tables(const std::string& module) {
    std::set<std::string> found;
    for (const auto& row : rows(module)) found.insert(row["table"].get<std::string>());
    return found;
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(DefaultManifests, AFreshStandaloneAgentScansInvScaAndFimAndSaysPcAndUdcHaveNoPolicy) {
  start({INVENTORY_PLUGIN_PATH, SCA_PLUGIN_PATH, FIM_PLUGIN_PATH, PC_PLUGIN_PATH, UDC_PLUGIN_PATH}, "debian", "12");
  // Nobody asked: the defaults are scanned at once, as first interval scans.
  ASSERT_TRUE(
      eventually([&] { return snapshot_id("inv") > 0 && snapshot_id("sca") > 0 && snapshot_id("fim") > 0; }, 120))
      << vigilctl(agent(), {"status"}).out << daemon_->log();
  for (const char* module : {"inv", "sca", "fim"}) {
    json status = module_status(module);
    EXPECT_EQ(status["manifest_source"], "default") << status.dump();
    EXPECT_FALSE(status["next_interval_scan"].is_null()) << status.dump();
    EXPECT_FALSE(status.contains("no_manifest")) << status.dump();
  }
  // inv: every table it has (the unit test holds the default to sources()).
  EXPECT_TRUE(tables("inv").count("packages") && tables("inv").count("listening_ports")) << rows("inv").dump();
  // sca: the Debian 12 policy, picked by os-release.
  bool debian_policy = false;
  for (const auto& row : rows("sca")) {
    debian_policy |= row["table"] == "scores" && row["key"]["policy"] == "cis-debian12-level1";
  }
  EXPECT_TRUE(debian_policy) << rows("sca").dump();
  // fim: the default's paths, without the files the system rewrites itself.
  std::set<std::string> paths;
  for (const auto& row : rows("fim")) paths.insert(row["key"]["path"].get<std::string>());
  EXPECT_TRUE(paths.count("/etc/hostname") && paths.count("/usr/bin/tool")) << rows("fim").dump();
  for (const char* left_out : {"/etc/adjtime", "/etc/.hosts.swp", "/boot/grub/grubenv"}) {
    EXPECT_EQ(paths.count(left_out), 0u) << left_out;
  }
  auto demand = vigilctl(agent(), {"demand", "--type", "inv", "--wait"});
  EXPECT_EQ(demand.exit_code, 0) << demand.err;

  // pc and udc ship nothing: no scan planned, and status says what to do.
  const std::string no_policy = "no policy: give one with vigilctl manifest set or the platform";
  for (const char* module : {"pc", "udc"}) {
    json status = module_status(module);
    EXPECT_EQ(status["no_manifest"], no_policy) << status.dump();
    EXPECT_TRUE(status["next_interval_scan"].is_null()) << status.dump();
    EXPECT_TRUE(status["manifest_source"].is_null()) << status.dump();
    EXPECT_TRUE(status["last_snapshot"].is_null()) << status.dump();
    auto refused = vigilctl(agent(), {"demand", "--type", module});
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_NE(refused.err.find(no_policy), std::string::npos) << refused.err;
  }
  auto status_text = vigilctl(agent(), {"status"}).out;
  EXPECT_NE(status_text.find(no_policy), std::string::npos) << status_text;

  // vigilctl plugins shows each default's version: its file's SHA-256, shortened.
  json plugins = json::parse(vigilctl(agent(), {"plugins", "--json"}).out);
  for (const auto& plugin : plugins) {
    if (plugin["module"] == "sca") {
      ASSERT_EQ(plugin["default_manifests"].size(), 1u) << plugin.dump();
      std::string file = plugin["default_manifests"][0]["file"];
      EXPECT_EQ(file, (agent() / "usr/lib/vigil/plugins/defaults/sca/debian-12/sca.manifest").string());
      std::string sha256 = run({"/usr/bin/sha256sum", file}).out.substr(0, 12);
      EXPECT_EQ(plugin["default_manifests"][0]["version"], sha256);
    }
    if (plugin["module"] == "pc") {
      EXPECT_TRUE(plugin["default_manifests"].empty()) << plugin.dump();
      EXPECT_EQ(plugin["no_default_manifest"], no_policy);
    }
  }
  auto plugins_text = vigilctl(agent(), {"plugins"}).out;
  EXPECT_NE(plugins_text.find("DEFAULT MANIFEST"), std::string::npos) << plugins_text;
}

TEST_F(DefaultManifests, ALocalManifestReplacesTheDefaultAndRemovingItBringsTheDefaultBack) {
  start({INVENTORY_PLUGIN_PATH}, "debian", "12");
  ASSERT_TRUE(eventually([&] { return snapshot_id("inv") > 0; }, 60)) << daemon_->log();
  EXPECT_GT(tables("inv").size(), 1u);

  auto manifest = dir_.path() / "inv.manifest";
  std::ofstream(manifest) << "os\n";
  auto set = vigilctl(agent(), {"manifest", "set", "--module", "inv", "--file", manifest.string()});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(module_status("inv")["manifest_source"], "local");
  auto scanned = vigilctl(agent(), {"demand", "--type", "inv", "--wait"});
  ASSERT_EQ(scanned.exit_code, 0) << scanned.err;
  EXPECT_EQ(tables("inv"), std::set<std::string>{"os"});

  int64_t before = snapshot_id("inv");
  auto removed = vigilctl(agent(), {"manifest", "remove", "--module", "inv"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_NE(removed.out.find("now in force: default manifest"), std::string::npos) << removed.out;
  EXPECT_EQ(module_status("inv")["manifest_source"], "default");
  // The default is scanned at once, as a new manifest is.
  ASSERT_TRUE(eventually([&] { return snapshot_id("inv") > before && module_status("inv")["state"] == "idle"; }, 60))
      << daemon_->log();
  EXPECT_GT(tables("inv").size(), 1u);
  EXPECT_TRUE(tables("inv").count("packages"));

  auto again = vigilctl(agent(), {"manifest", "remove", "--module", "inv"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("module 'inv' has no stored manifest to remove"), std::string::npos) << again.err;
}

TEST_F(DefaultManifests, AnOsWithoutAPolicyIsNamedInStatus) {
  start({INVENTORY_PLUGIN_PATH, SCA_PLUGIN_PATH}, "plan9", "4");
  const std::string expected =
      "no policy for plan9-4: give one with vigilctl manifest set or the platform (the plugin's defaults are for "
      "debian-12)";
  json sca = module_status("sca");
  EXPECT_EQ(sca["no_manifest"], expected) << sca.dump();
  EXPECT_TRUE(sca["next_interval_scan"].is_null()) << sca.dump();
  auto status_text = vigilctl(agent(), {"status"}).out;
  EXPECT_NE(status_text.find("no policy for plan9-4"), std::string::npos) << status_text;
  auto refused = vigilctl(agent(), {"demand", "--type", "sca", "--wait"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find(expected), std::string::npos) << refused.err;
  // Inventory's default is for every OS.
  EXPECT_EQ(module_status("inv")["manifest_source"], "default");
}

}  // namespace
}  // namespace vigil::test
