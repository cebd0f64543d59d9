// Small host pieces: path layout under --root, log configuration parsing.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

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

// An executable script at `path` printing `text`.
void write_script(const std::filesystem::path& path, const std::string& body) {
  std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
}

TEST(CommandPath, RelativeEntriesAndDuplicatesAreLeftOut) {
  test::TempDir dir;
  std::string safe = dir.path().string();
  EXPECT_EQ(sanitized_path({"", ".", "bin", safe, safe}), safe);
}

// What a module runs by name is never found in a world-writable directory,
// sticky or not, even when it comes first: a binary planted there is not run.
TEST(CommandPath, APlantedBinaryInAWorldWritableDirectoryIsNotRun) {
  test::TempDir dir;
  auto planted = dir.path() / "open";
  auto safe = dir.path() / "safe";
  std::filesystem::create_directories(planted);
  std::filesystem::create_directories(safe);
  write_script(planted / "vigil-probe", "echo planted");
  write_script(safe / "vigil-probe", "echo safe; echo \"$PATH\"");
  for (auto mode : {std::filesystem::perms::all, std::filesystem::perms::all | std::filesystem::perms::sticky_bit}) {
    std::filesystem::permissions(planted, mode);
    CommandRequest request;
    request.argv = {"vigil-probe"};
    request.search_path = {planted.string(), ".", safe.string()};
    request.environment = {"PATH=" + planted.string()};  // no way around the sanitised PATH
    std::string output;
    request.on_output = [&](std::string_view chunk) { output += chunk; };
    CommandOutcome outcome = run_command(request);
    ASSERT_EQ(outcome.status, VIGIL_OK) << outcome.error;
    EXPECT_EQ(output, "safe\n" + safe.string() + "\n");
  }
  std::filesystem::permissions(planted, std::filesystem::perms::owner_all);
}

// UseSudo: the command runs through SudoCommand's words, by its absolute path, with no shell.
TEST(CommandPath, APrefixRunsTheCommandByItsAbsolutePath) {
  test::TempDir dir;
  write_script(dir.path() / "fake-sudo", "echo \"sudo:$*\"; shift; exec \"$@\"");  // shift: -n
  write_script(dir.path() / "vigil-probe", "echo \"probe:$1\"");
  CommandRequest request;
  request.argv = {"vigil-probe", "a b;c"};
  request.prefix = {"fake-sudo", "-n"};
  request.search_path = {dir.path().string()};
  std::string output;
  request.on_output = [&](std::string_view chunk) { output += chunk; };
  CommandOutcome outcome = run_command(request);
  ASSERT_EQ(outcome.status, VIGIL_OK) << outcome.error;
  std::string probe = (dir.path() / "vigil-probe").string();
  EXPECT_EQ(output, "sudo:-n " + probe + " a b;c\nprobe:a b;c\n");
  request.prefix = {"no-such-sudo"};
  outcome = run_command(request);
  EXPECT_EQ(outcome.status, VIGIL_E_NOT_FOUND);
  EXPECT_NE(outcome.error.find("SudoCommand 'no-such-sudo' not found"), std::string::npos) << outcome.error;
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
