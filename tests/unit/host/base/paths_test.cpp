// Paths: the layout under --root, and where the root comes from.
#include "base/paths.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace vigil {
namespace {

TEST(Paths, Root_RelocatesEveryDefaultPath) {
  Paths paths = Paths::under("/tmp/r");
  EXPECT_EQ(paths.config_dir, "/tmp/r/etc/vigil");
  EXPECT_EQ(paths.state_db(), "/tmp/r/var/lib/vigil/config.db");
  EXPECT_EQ(paths.log_dir, "/tmp/r/var/log/vigil");
  EXPECT_EQ(paths.plugin_dir, "/tmp/r/usr/lib/vigil/plugins");
  EXPECT_EQ(paths.control_socket(), "/tmp/r/run/vigil/vigild.sock");
}

TEST(Paths, Resolve_OptionBeatsEnvironmentBeatsDefault) {
  ::setenv("VIGIL_ROOT", "/from/env", 1);
  EXPECT_EQ(Paths::resolve(std::string("/from/option")).root, "/from/option");
  EXPECT_EQ(Paths::resolve(std::nullopt).root, "/from/env");
  ::unsetenv("VIGIL_ROOT");
  EXPECT_EQ(Paths::resolve(std::nullopt).root, "/");
}

}  // namespace
}  // namespace vigil
