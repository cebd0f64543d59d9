// Small host pieces: path layout under --root, log configuration parsing.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "base/paths.h"
#include "control_socket/control_protocol.h"
#include "control_socket/control_server.h"
#include "exec/command_runner.h"
#include "log/log_manager.h"
#include "test_support.h"

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

TEST(LogConfig, LevelsAndDestinationsAreValidated) {
  EXPECT_EQ(parse_log_level("0").value(), 0);
  EXPECT_EQ(parse_log_level("5").value(), 5);
  EXPECT_FALSE(parse_log_level("6").ok());
  EXPECT_FALSE(parse_log_level("").ok());
  EXPECT_NE(parse_log_level("x").error().find("LogLevel"), std::string::npos);
  EXPECT_EQ(parse_log_destination("syslog").value(), LogDestination::kSyslog);
  EXPECT_FALSE(parse_log_destination("File").ok());
  EXPECT_EQ(to_spdlog_level(0), spdlog::level::critical);
  EXPECT_EQ(to_spdlog_level(5), spdlog::level::trace);
}

TEST(ControlPeer, OnlyRootAndTheDaemonUserAreAllowed) {
  EXPECT_TRUE(ControlServer::peer_allowed(0, 1000));
  EXPECT_TRUE(ControlServer::peer_allowed(1000, 1000));
  EXPECT_FALSE(ControlServer::peer_allowed(1001, 1000));
}

TEST(CommandPath, WorldWritableAndMissingDirectoriesAreLeftOut) {
  test::TempDir dir;
  auto safe = dir.path() / "safe";
  auto open_to_all = dir.path() / "open";
  std::filesystem::create_directories(safe);
  std::filesystem::create_directories(open_to_all);
  std::filesystem::permissions(open_to_all, std::filesystem::perms::all);
  std::string path = sanitized_path({safe.string(), open_to_all.string(), (dir.path() / "missing").string()});
  EXPECT_EQ(path, safe.string());
  EXPECT_EQ(sanitized_path(standard_path_directories()).find("/tmp"), std::string::npos);
}

TEST(ControlProtocol, RequestsAreObjectsNamingACommand) {
  EXPECT_TRUE(parse_control_request(R"({"command":"status"})").ok());
  EXPECT_NE(parse_control_request("not json").error().find("one JSON object per line"), std::string::npos);
  EXPECT_FALSE(parse_control_request("[1,2]").ok());
  EXPECT_NE(parse_control_request(R"({"command":7})").error().find("\"command\" must be a string"), std::string::npos);
  EXPECT_FALSE(parse_control_request("{\"command\":\"\xff\"}").ok());
}

}  // namespace
}  // namespace vigil
