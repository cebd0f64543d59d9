// Loader and registry: ABI negotiation, every refusal, unload and reload.
#include <fstream>

#include "plugin_fixture.h"
#include "sched/scan_runner.h"
#include "store/config_table.h"
#include "store/plugin_state.h"
#include "store/snapshots.h"

namespace vigil {
namespace {

using test::test_plugin;

class Registry : public test::PluginFixture {
 protected:
  // Loads `name` and returns the refusal reason ("" when it loaded).
  std::string load(const std::string& name) {
    auto loaded = registry_->load_file(test_plugin(name));
    return loaded.ok() ? "" : loaded.error();
  }
  // The instance test plugin's record of which entry point ran ("start", "stop").
  std::string instance_state(const std::string& key) {
    return store_->plugin_state().get("instplug", key).value().value_or("<unset>");
  }
  // Runs the instance test plugin's one manifest; the value its handler emitted.
  std::string instance_scan() {
    ScanRequest request;
    request.manifests = {Manifest{"instplug", "instplug", "1", ""}};
    ScanOutcome outcome = run_scan(registry_->find("instplug"), request, *store_);
    if (!outcome.status.ok()) return outcome.status.error();
    auto latest = store_->snapshots().latest("instplug").value();
    auto rows = store_->snapshots().rows(latest->id, std::nullopt).value();
    return rows.size() == 1 ? rows[0].values : "rows: " + std::to_string(rows.size());
  }
};

TEST_F(Registry, CppPlugin_RegistersHandlersCpuLimitAndKey) {
  ASSERT_EQ(load("test_scanner"), "");
  auto plugin = registry_->find("testscan");
  ASSERT_TRUE(plugin);
  EXPECT_EQ(plugin->display_name(), "Test Scanner");
  EXPECT_EQ(plugin->version(), "0.1.0");
  EXPECT_EQ(plugin->abi_version(), VIGIL_ABI_VERSION);
  EXPECT_EQ(plugin->kind(), VIGIL_MODULE_SCAN);
  EXPECT_EQ(plugin->context().default_cpu_limit, 40);
  EXPECT_EQ(plugin->context().on_demand_key, "TestScan");
  EXPECT_EQ(plugin->manifest_types(), std::vector<std::string>{"testscan"});
}

TEST_F(Registry, CPluginOfAnOlderMinor_LoadsAsRealtimeModule) {
  ASSERT_EQ(load("c_plugin"), "");
  auto plugin = registry_->find("cplug");
  ASSERT_TRUE(plugin);
  EXPECT_EQ(plugin->kind(), VIGIL_MODULE_REALTIME);
  EXPECT_EQ(plugin->abi_version(), VIGIL_MAKE_ABI_VERSION(1, 0));
  // Its descriptor ends at on_shutdown: the 1.4 entry point past it (a tripwire) is never called.
  plugin.reset();
  auto detached = registry_->detach("cplug");
  ASSERT_TRUE(detached);
  Status gone = detached->unload();
  EXPECT_TRUE(gone.ok()) << gone.error();
}

TEST_F(Registry, PluginOfAbi14_GetsItsInstanceBackInItsHandlerAndOnDestroy) {
  ASSERT_EQ(load("instance_plugin"), "");
  EXPECT_EQ(registry_->find("instplug")->abi_version(), VIGIL_ABI_VERSION);
  EXPECT_EQ(instance_state("start"), "on_create");
  EXPECT_EQ(instance_scan(), R"({"user":"instance"})");
  auto detached = registry_->detach("instplug");
  ASSERT_TRUE(detached);
  ASSERT_TRUE(detached->unload().ok());
  EXPECT_EQ(instance_state("stop"), "on_destroy");
}

TEST_F(Registry, PluginAnsweringAbi13_RunsThroughTheOldEntryPointsThoughItHasTheNewOnes) {
  ASSERT_EQ(load("instance_plugin_1_3"), "");
  EXPECT_EQ(registry_->find("instplug")->abi_version(), VIGIL_MAKE_ABI_VERSION(1, 3));
  EXPECT_EQ(instance_state("start"), "on_init");
  EXPECT_EQ(instance_scan(), R"({"user":"instance"})");
  auto detached = registry_->detach("instplug");
  ASSERT_TRUE(detached);
  ASSERT_TRUE(detached->unload().ok());
  EXPECT_EQ(instance_state("stop"), "on_shutdown");
}

TEST_F(Registry, Unload_OfAPluginBuiltWithVigilAddPlugin_LeavesNoCodeMapped) {
  ASSERT_EQ(load("test_scanner"), "");
  auto plugin = registry_->detach("testscan");
  ASSERT_TRUE(plugin);
  EXPECT_EQ(plugin->unload_blocker(), "");
  Status gone = plugin->unload();
  EXPECT_TRUE(gone.ok()) << gone.error();
}

TEST_F(Registry, Unload_OfAPluginWithGnuUniqueSymbols_SaysTheOldCodeStaysAndWhy) {
  ASSERT_EQ(load("test_scanner_unique"), "");
  auto plugin = registry_->detach("testscan");
  ASSERT_TRUE(plugin);
  Status gone = plugin->unload();
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().rfind("old code still loaded: it defines ", 0), 0u) << gone.error();
  EXPECT_NE(gone.error().find(" GNU unique symbol(s) (first: "), std::string::npos) << gone.error();
  EXPECT_NE(gone.error().find("which glibc never unloads; build it with vigil_add_plugin"), std::string::npos);
}

TEST_F(Registry, MissingEntrySymbol_IsRefused) {
  EXPECT_NE(load("broken_no_entry").find("no exported 'vigil_plugin_negotiate' symbol"), std::string::npos);
}

TEST_F(Registry, OtherAbiMajor_IsRefused) {
  std::string host = std::to_string(VIGIL_ABI_VERSION_MAJOR) + "." + std::to_string(VIGIL_ABI_VERSION_MINOR);
  EXPECT_NE(load("broken_major").find("plugin speaks ABI 2.0, the host speaks ABI " + host), std::string::npos);
}

TEST_F(Registry, DescriptorStructTooSmall_IsRefused) {
  EXPECT_NE(load("broken_short_struct").find("struct_size 16 is smaller"), std::string::npos);
}

TEST_F(Registry, FailedNegotiation_IsRefused) {
  EXPECT_NE(load("broken_negotiate")
                .find("ABI negotiation failed (ABI mismatch): the plugin speaks ABI 2.0, the host speaks ABI " +
                      std::to_string(VIGIL_ABI_VERSION_MAJOR) + "." + std::to_string(VIGIL_ABI_VERSION_MINOR)),
            std::string::npos);
}

TEST_F(Registry, InitFailure_IsRefused) {
  EXPECT_NE(load("broken_init_fails")
                .find("module 'broken' failed to initialise (internal error): refusing to start: required resource "
                      "missing"),
            std::string::npos);
  EXPECT_FALSE(registry_->find("broken"));
}

TEST_F(Registry, CppPluginThrowingAVigilErrorFromInit_IsRefusedWithItsStatusAndMessage) {
  ASSERT_TRUE(store_->config().set("testscan.RefuseInit", "1").ok());
  EXPECT_NE(
      load("test_scanner").find("module 'testscan' failed to initialise (not found): init failed: told to refuse"),
      std::string::npos);
}

TEST_F(Registry, InvalidModuleName_IsRefused) {
  EXPECT_NE(load("broken_bad_name").find("invalid module name 'Bad Name'"), std::string::npos);
}

TEST_F(Registry, DuplicateModule_IsRefusedBeforeItsInitRuns) {
  ASSERT_EQ(load("test_scanner"), "");
  EXPECT_NE(load("test_scanner_duplicate").find("duplicate module 'testscan'"), std::string::npos);
  EXPECT_EQ(registry_->find("testscan")->file(), test_plugin("test_scanner"));
}

TEST_F(Registry, ManifestTypeHandledTwice_IsRefused) {
  ASSERT_EQ(load("test_scanner"), "");
  EXPECT_NE(load("test_scanner_conflict").find("manifest type 'testscan' is already handled by module 'testscan'"),
            std::string::npos);
  EXPECT_FALSE(registry_->find("testscan_conflict"));
}

TEST_F(Registry, TextFileNamedSo_IsRefusedAsNotALibrary) {
  auto fake = dir_.path() / "garbage.so";
  std::ofstream(fake) << "#!/bin/sh\necho not a library\n";
  auto loaded = registry_->load_file(fake);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().find("not a loadable shared library"), std::string::npos) << loaded.error();
}

TEST_F(Registry, SystemLibraryThatIsNotAPlugin_IsRefused) {
  auto loaded = registry_->load_file(VIGIL_NON_PLUGIN_LIBRARY);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().find("not a Vigil plugin"), std::string::npos) << loaded.error();
}

TEST_F(Registry, LoadDirectory_LoadsGoodPluginsAndRecordsEveryRefusal) {
  auto dir = dir_.path() / "plugins";
  std::filesystem::create_directories(dir);
  for (const char* name : {"test_scanner", "c_plugin", "broken_major", "broken_no_entry", "broken_init_fails"}) {
    std::filesystem::copy_file(test_plugin(name), dir / (std::string(name) + ".so"));
  }
  std::ofstream(dir / "README.txt") << "not a plugin and not *.so: ignored";
  EXPECT_EQ(registry_->load_directory(dir), 2u);
  auto records = registry_->records();
  ASSERT_EQ(records.size(), 5u);
  EXPECT_TRUE(records[0].loaded);
  EXPECT_TRUE(records[1].loaded);
  for (size_t i = 2; i < records.size(); ++i) {
    EXPECT_FALSE(records[i].loaded);
    EXPECT_FALSE(records[i].reason.empty());
  }
  // A second pass loads nothing new and does not duplicate refusals.
  EXPECT_EQ(registry_->load_directory(dir), 0u);
  EXPECT_EQ(registry_->records().size(), 5u);
}

TEST_F(Registry, UnloadThenReload_WorksAndKeepsPluginState) {
  ASSERT_EQ(load("test_scanner"), "");
  ASSERT_TRUE(store_->plugin_state().set("testscan", "k", "v").ok());
  auto detached = registry_->detach("testscan");
  ASSERT_TRUE(detached);
  EXPECT_FALSE(registry_->find("testscan"));
  detached->wait_idle();
  detached.reset();
  ASSERT_EQ(load("test_scanner"), "");
  EXPECT_TRUE(registry_->find("testscan"));
  EXPECT_EQ(store_->plugin_state().get("testscan", "k").value(), std::optional<std::string>("v"));
}

}  // namespace
}  // namespace vigil
