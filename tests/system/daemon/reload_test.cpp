// Reloading plugins through a real vigild runs the new code: the version the
// plugin reports changes and the worker maps the new image, not the old one.
// A plugin glibc cannot unload is swapped by restarting the worker, and a
// plugin file overwritten in place while loaded does not crash the worker.
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include <vigil/plugin.h>

#include "daemon_fixture.h"

namespace vigil::test {
namespace {

const std::filesystem::path kPluginDir = "usr/lib/vigil/plugins";

class Reload : public ::testing::Test {
 protected:
  const std::filesystem::path& root() const { return root_.path(); }
  void start() {
    daemon_ = std::make_unique<Daemon>(root());
    ASSERT_TRUE(daemon_->ready()) << daemon_->log();
  }
  std::string daemon_log() const {
    std::ifstream file(root() / "var/log/vigil/vigild.log");
    return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  }
  json plugins() { return json::parse(vigilctl(root(), {"plugins", "--json"}).out, nullptr, false); }
  std::string version_of(const std::string& module) {
    json all = plugins();
    for (const auto& entry : all) {
      if (entry.value("module", "") == module) return entry["version"];
    }
    return "";
  }
  int64_t worker_pid() {
    json status = json::parse(vigilctl(root(), {"status", "--json"}).out, nullptr, false);
    if (status.is_discarded() || !status["daemon"].value("running", false)) return -1;
    return status["daemon"]["pid"].get<int64_t>();
  }
  // The files (path and inode) the worker maps whose path names `file_name`:
  // the host maps a private copy, <data dir>/plugin-images/<N>-<file_name>,
  // N new for every load.
  std::set<std::string> mapped_images(const std::string& file_name) {
    std::ifstream maps("/proc/" + std::to_string(worker_pid()) + "/maps");
    std::set<std::string> images;
    for (std::string line; std::getline(maps, line);) {
      if (line.find(file_name) == std::string::npos) continue;
      std::istringstream fields(line);
      std::string range, perms, offset, device, inode, path;
      fields >> range >> perms >> offset >> device >> inode;
      std::getline(fields >> std::ws, path);
      images.insert(path + " inode " + inode);
    }
    return images;
  }
  // Installs `from` as `name` the way docs/plugin-sdk.md says: a copy under a
  // temporary name, renamed over the old file.
  void install_atomically(const std::filesystem::path& from, const std::string& name) {
    auto temporary = root() / kPluginDir / ("." + name + ".new");
    std::filesystem::copy_file(from, temporary, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::rename(temporary, root() / kPluginDir / name);
  }
  // Expects `module`, loaded from `file_name`, to run the new image after
  // `plugins reload` in the same worker: the version it reports is `version`
  // and none of the old image's mappings is left.
  void expect_reload_runs_new_code(const std::string& module, const std::string& file_name,
                                   const std::string& version) {
    auto before = mapped_images(file_name);
    ASSERT_FALSE(before.empty()) << file_name << " is not mapped";
    int64_t worker = worker_pid();
    auto reloaded = vigilctl(root(), {"plugins", "reload", module});
    ASSERT_EQ(reloaded.exit_code, 0) << reloaded.err;
    EXPECT_EQ(version_of(module), version) << module;
    EXPECT_EQ(worker_pid(), worker) << module << ": reloaded in the same worker";
    auto after = mapped_images(file_name);
    EXPECT_FALSE(after.empty()) << file_name;
    for (const auto& image : before) EXPECT_EQ(after.count(image), 0u) << image << ": old image still mapped";
  }

  TempDir root_;
  std::unique_ptr<Daemon> daemon_;
};

// A copy of `file` whose version string `from` reads `to` (same length): a
// version bump of a shipped plugin without building it twice.
std::filesystem::path bumped_copy(const std::filesystem::path& file, const std::string& from, const std::string& to,
                                  const std::filesystem::path& dir) {
  std::ifstream in(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The literal as the compiler stores it: NUL before (end of the previous string) and after.
  std::string needle = std::string(1, '\0') + from + '\0', patch = std::string(1, '\0') + to + '\0';
  size_t replaced = 0;
  for (size_t at = bytes.find(needle); at != std::string::npos; at = bytes.find(needle, at + 1), ++replaced) {
    bytes.replace(at, patch.size(), patch);
  }
  EXPECT_GT(replaced, 0u) << "no version string " << from << " in " << file;
  auto out = dir / file.filename();
  std::ofstream(out, std::ios::binary) << bytes;
  return out;
}

TEST_F(Reload, TestPluginReloadedAfterAVersionBump_RunsTheNewVersion) {
  install_plugins(root(), {plugin("test_scanner")});
  start();
  EXPECT_EQ(version_of("testscan"), "0.1.0");
  install_atomically(plugin("test_scanner_v2"), "test_scanner.so");
  expect_reload_runs_new_code("testscan", "test_scanner.so", "0.2.0");
  // And the new code scans.
  std::ofstream(root() / "m") << "row t a 1\n";
  ASSERT_EQ(vigilctl(root(), {"manifest", "set", "--module", "testscan", "--file", (root() / "m").string()}).exit_code,
            0);
  auto scanned = vigilctl(root(), {"demand", "--type", "testscan", "--wait"});
  EXPECT_EQ(scanned.exit_code, 0) << scanned.err;
}

TEST_F(Reload, EveryShippedPluginReloadedAfterAVersionBump_RunsTheNewVersion) {
  const std::vector<std::pair<std::string, std::filesystem::path>> shipped = {
      {"inv", INVENTORY_PLUGIN_PATH}, {"vm", VM_PLUGIN_PATH},   {"pc", PC_PLUGIN_PATH},
      {"sca", SCA_PLUGIN_PATH},       {"udc", UDC_PLUGIN_PATH}, {"fim", FIM_PLUGIN_PATH}};
  std::vector<std::filesystem::path> files;
  for (const auto& [module, file] : shipped) files.push_back(file);
  install_plugins(root(), files);
  start();
  auto bumped_dir = root() / "bumped";
  std::filesystem::create_directories(bumped_dir);
  for (const auto& [module, file] : shipped) {
    std::string version = version_of(module);
    ASSERT_EQ(version.size(), 5u) << module << " reports '" << version << "'";
    std::string bumped = version.substr(0, 4) + "9";
    install_atomically(bumped_copy(file, version, bumped, bumped_dir), file.filename().string());
    expect_reload_runs_new_code(module, file.filename().string(), bumped);
  }
  EXPECT_EQ(daemon_log().find("old code still loaded"), std::string::npos) << daemon_log();
}

TEST_F(Reload, PluginWithGnuUniqueSymbols_IsSwappedByRestartingTheWorker) {
  install_plugins(root(), {plugin("test_scanner_unique")});
  start();
  EXPECT_EQ(version_of("testscan"), "0.1.0");
  int64_t first_worker = worker_pid();
  install_atomically(plugin("test_scanner_unique_v2"), "test_scanner_unique.so");
  auto reloaded = vigilctl(root(), {"plugins", "reload", "testscan"});
  ASSERT_EQ(reloaded.exit_code, 0) << reloaded.err << daemon_->log();
  EXPECT_NE(reloaded.out.find("by restarting the worker: module 'testscan': old code still loaded: it defines"),
            std::string::npos)
      << reloaded.out;
  EXPECT_NE(worker_pid(), first_worker);
  EXPECT_EQ(version_of("testscan"), "0.2.0");
  std::string log = daemon_log();
  EXPECT_NE(log.find("module 'testscan': old code still loaded: it defines "), std::string::npos) << log;
  EXPECT_NE(log.find("GNU unique symbol(s) (first: "), std::string::npos) << log;
  EXPECT_NE(log.find("restarting the worker to run the new code"), std::string::npos) << log;
  EXPECT_EQ(log.find("restarted by the supervisor"), std::string::npos) << "a requested restart is no crash";
}

TEST_F(Reload, UnloadLeavingOldCode_MakesTheNextLoadRestartTheWorker) {
  install_plugins(root(), {plugin("test_scanner_unique")});
  start();
  int64_t first_worker = worker_pid();
  auto unloaded = vigilctl(root(), {"plugins", "unload", "testscan"});
  ASSERT_EQ(unloaded.exit_code, 0) << unloaded.err;
  EXPECT_NE(unloaded.err.find("old code still loaded"), std::string::npos) << unloaded.err;
  EXPECT_EQ(version_of("testscan"), "");
  EXPECT_EQ(worker_pid(), first_worker);  // unloaded, not restarted: nothing runs the old code
  install_atomically(plugin("test_scanner_unique_v2"), "test_scanner_unique.so");
  auto reloaded = vigilctl(root(), {"plugins", "reload"});
  ASSERT_EQ(reloaded.exit_code, 0) << reloaded.err;
  EXPECT_NE(worker_pid(), first_worker);
  EXPECT_EQ(version_of("testscan"), "0.2.0");
}

TEST_F(Reload, WithoutSupervisor_AReloadThatCannotUnloadFailsWithTheReason) {
  install_plugins(root(), {plugin("test_scanner_unique")});
  daemon_ = std::make_unique<Daemon>(root(), std::vector<std::string>{"--no-supervisor"});
  ASSERT_TRUE(daemon_->ready()) << daemon_->log();
  auto reloaded = vigilctl(root(), {"plugins", "reload", "testscan"});
  EXPECT_EQ(reloaded.exit_code, 1);
  EXPECT_NE(reloaded.err.find("old code still loaded"), std::string::npos) << reloaded.err;
  EXPECT_NE(reloaded.err.find("restart vigild to run the new code"), std::string::npos) << reloaded.err;
  EXPECT_EQ(worker_pid(), daemon_->pid());  // still the same, only process
}

TEST_F(Reload, CopyOverALoadedPlugin_DoesNotCrashTheWorker) {
  install_plugins(root(), {plugin("test_scanner")});
  start();
  int64_t worker = worker_pid();
  std::ofstream(root() / "m") << "row t a 1\n";
  ASSERT_EQ(vigilctl(root(), {"manifest", "set", "--module", "testscan", "--file", (root() / "m").string()}).exit_code,
            0);
  ASSERT_EQ(vigilctl(root(), {"demand", "--type", "testscan", "--wait"}).exit_code, 0);
  // In place: same inode, truncated and rewritten under the running code.
  auto copied =
      run({"/bin/cp", plugin("test_scanner_v2").string(), (root() / kPluginDir / "test_scanner.so").string()});
  ASSERT_EQ(copied.exit_code, 0) << copied.err;
  auto scanned = vigilctl(root(), {"demand", "--type", "testscan", "--wait"});
  EXPECT_EQ(scanned.exit_code, 0) << scanned.err;
  EXPECT_EQ(worker_pid(), worker);
  EXPECT_EQ(version_of("testscan"), "0.1.0");  // the copy it runs is its own
  ASSERT_EQ(vigilctl(root(), {"plugins", "reload", "testscan"}).exit_code, 0);
  EXPECT_EQ(version_of("testscan"), "0.2.0");
  EXPECT_EQ(worker_pid(), worker);
}

TEST_F(Reload, AbiMismatchRefusal_NamesBothVersions) {
  install_plugins(root(), {plugin("broken_negotiate"), plugin("test_scanner")});
  start();
  std::string host = std::to_string(VIGIL_ABI_VERSION_MAJOR) + "." + std::to_string(VIGIL_ABI_VERSION_MINOR);
  json all = plugins();
  ASSERT_EQ(all.size(), 2u) << all.dump();
  EXPECT_EQ(all[1]["state"], "refused");
  EXPECT_NE(all[1]["reason"].get<std::string>().find(
                "ABI negotiation failed (ABI mismatch): the plugin speaks ABI 2.0, the host speaks ABI " + host),
            std::string::npos)
      << all[1]["reason"];
}

}  // namespace
}  // namespace vigil::test
