// A real vigild on a temp root with the test plugins, for integration tests.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "store/config_table.h"
#include "store/state_store.h"
#include "test_support.h"

namespace vigil::test {

using nlohmann::json;

inline std::filesystem::path plugin(const std::string& name) {
  return std::filesystem::path(TEST_PLUGIN_DIR) / (name + ".so");
}

// A copy of a test plugin at `copy` claiming to be built for riscv64 (its ELF
// header's e_machine): what a cross build gives, and no test machine runs.
inline std::filesystem::path riscv64_plugin(const std::string& name, const std::filesystem::path& copy) {
  std::filesystem::copy_file(plugin(name), copy, std::filesystem::copy_options::overwrite_existing);
  std::fstream patch(copy, std::ios::in | std::ios::out | std::ios::binary);
  patch.seekp(18);             // e_machine, little-endian
  patch.write("\xf3\x00", 2);  // EM_RISCV
  return copy;
}

class DaemonFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    install_plugins(root(), {plugin("test_scanner"), plugin("c_plugin"), plugin("broken_major")});
    daemon_ = std::make_unique<Daemon>(root());
    ASSERT_TRUE(daemon_->ready()) << daemon_->log();
  }
  const std::filesystem::path& root() const { return dir_.path(); }
  std::string write_manifest(const std::string& text) {
    auto path = root() / ("manifest-" + std::to_string(++manifests_));
    std::ofstream(path) << text;
    return path.string();
  }
  // Stores `manifest` for testscan and runs an on-demand scan of it to completion.
  CommandResult scan(const std::string& manifest) {
    auto stored = vigilctl(root(), {"manifest", "set", "--module", "testscan", "--file", write_manifest(manifest)});
    EXPECT_EQ(stored.exit_code, 0) << stored.err;
    return vigilctl(root(), {"demand", "--type", "testscan", "--wait"});
  }
  json json_of(const CommandResult& result) {
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return json::parse(result.out, nullptr, false);
  }
  // The status entry of `module` (null when absent), or the whole status.
  json status() { return json_of(vigilctl(root(), {"status", "--json"})); }
  json module_status(const std::string& module) {
    json all = status();  // named: iterating a member of a temporary would dangle
    for (const auto& entry : all["modules"]) {
      if (entry["module"] == module) return entry;
    }
    return nullptr;
  }
  void restart() {
    daemon_.reset();
    daemon_ = std::make_unique<Daemon>(root());
    ASSERT_TRUE(daemon_->ready()) << daemon_->log();
  }
  std::string daemon_log() const { return read_text(root() / "var/log/vigil/vigild.log"); }
  static std::string read_text(const std::filesystem::path& path) {
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  int manifests_ = 0;
};

// Polls `condition` every 10 ms for up to `seconds`; true once it holds.
inline bool eventually(const std::function<bool()>& condition, int seconds = 20) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

// Writes one config value into the agent's state store under `root` (before vigild starts).
inline void set_agent_config(const std::filesystem::path& root, const std::string& key, const std::string& value) {
  auto store = StateStore::open(root / "var/lib/vigil/config.db");
  ASSERT_TRUE(store.ok()) << store.error();
  ASSERT_TRUE(store.value()->config().set(key, value).ok());
}

// The delta of the newest delta entry a standalone agent delivered to its
// upload directory (<root>/var/lib/vigil/uploaded); null when there is none.
inline json last_uploaded_delta(const std::filesystem::path& root) {
  std::vector<std::filesystem::path> uploads;
  std::error_code missing;
  for (const auto& file : std::filesystem::directory_iterator(root / "var/lib/vigil/uploaded", missing)) {
    uploads.push_back(file);
  }
  std::sort(uploads.rbegin(), uploads.rend());
  for (const auto& upload : uploads) {
    std::ifstream in(upload);
    json entry = json::parse(in, nullptr, false);
    if (entry.is_object() && entry.contains("delta")) return entry["delta"];
  }
  return nullptr;
}

}  // namespace vigil::test
