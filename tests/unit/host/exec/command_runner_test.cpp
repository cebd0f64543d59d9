// The command runner: the PATH it searches (never a world-writable
// directory), commands run through a prefix, and no command left behind.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "budget/cgroup_support.h"
#include "exec/command_runner.h"
#include "test_support.h"

namespace vigil {
namespace {

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
    ASSERT_TRUE(outcome.status.ok()) << outcome.status.error();
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
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.error();
  std::string probe = (dir.path() / "vigil-probe").string();
  EXPECT_EQ(output, "sudo:-n " + probe + " a b;c\nprobe:a b;c\n");
  request.prefix = {"no-such-sudo"};
  outcome = run_command(request);
  ASSERT_FALSE(outcome.status.ok());
  EXPECT_EQ(outcome.status.code(), ErrorCode::kNotFound);
  EXPECT_NE(outcome.status.error().find("SudoCommand 'no-such-sudo' not found"), std::string::npos)
      << outcome.status.error();
}

// A callback that throws out of run_command leaves no command running and no
// zombie: the runner kills the command and reaps it on the way out. (With
// signals, where no cgroup's removal would kill what is left.)
TEST(CommandRunner, ACallbackThatThrowsLeavesNoCommandBehind) {
  const std::string marker = "31.4159";  // sleep's argument names the command in /proc
  budget::Support signals;
  CommandRequest request;
  request.budget = &signals;
  request.argv = {"/bin/sh", "-c", "echo ready; exec sleep " + marker};
  request.on_output = [](std::string_view) { throw std::runtime_error("the plugin refused the output"); };
  EXPECT_THROW(run_command(request), std::runtime_error);
  auto running = [&] {
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      std::ifstream in(entry.path() / "cmdline");
      std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (cmdline.find(marker) != std::string::npos && cmdline.find("sleep") != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_FALSE(running()) << "the command outlived the exception";
  EXPECT_LE(::waitpid(-1, nullptr, WNOHANG), 0) << "a child was left unreaped";
}

}  // namespace
}  // namespace vigil
