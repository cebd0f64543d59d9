// Shared set-up for tests that load real plugin libraries into a registry.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "log/log_manager.h"
#include "plugin/registry.h"
#include "store/state_store.h"
#include "test_support.h"

namespace vigil::test {

inline std::filesystem::path test_plugin(const std::string& name) {
  return std::filesystem::path(TEST_PLUGIN_DIR) / (name + ".so");
}

class PluginFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(StateStore::open(dir_.path() / "config.db").value());
    logs_ = std::make_unique<LogManager>(dir_.path() / "log", 5, LogDestination::kFile, false);
    registry_ = std::make_unique<PluginRegistry>(PluginServices{store_.get(), logs_.get(), {}, 0, nullptr, {}});
  }

  // The refusal reason recorded for `file`, or "" when it loaded.
  std::string refusal(const std::filesystem::path& file) const {
    for (const auto& record : registry_->records()) {
      if (record.file == file && !record.loaded) return record.reason;
    }
    return "";
  }

  TempDir dir_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<LogManager> logs_;
  std::unique_ptr<PluginRegistry> registry_;
};

}  // namespace vigil::test
