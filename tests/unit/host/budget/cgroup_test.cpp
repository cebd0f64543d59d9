// Budgets of the commands scans run: the cgroup v2 probe against fake trees
// in a temp dir, then commands in real cgroups (a sub-hierarchy of its own per
// test process, skipped with the reason when this machine has none) and under
// the process-group fallback. CPU shares are measured from the reaped
// children's rusage, independently of the mechanism that held them.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "budget/cgroup_support.h"
#include "budget/command_cgroup.h"
#include "budget/spawn.h"
#include "exec/command_runner.h"
#include "test_support.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;
using budget::Mode;

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// A cgroup v2 tree made of plain files: the probe reads and writes it as it
// would the kernel's, and the test decides what the "kernel" answers.
class FakeTree : public ::testing::Test {
 protected:
  fs::path root() const { return dir_.path() / "cg"; }
  std::string v2_line(const std::string& options = "rw,relatime") const {
    return "41 31 0:38 / " + root().string() + " " + options + " - cgroup2 cgroup2 rw\n";
  }
  std::string v1_line(const std::string& controller) const {
    return "32 31 0:29 / " + (dir_.path() / controller).string() + " rw,relatime - cgroup cgroup rw," + controller +
           "\n";
  }
  // A cgroup directory as the kernel would make it.
  void cgroup_dir(const fs::path& path, const std::string& controllers, bool freeze = true, bool kill = true) {
    write_file(path / "cgroup.procs", "");
    write_file(path / "cgroup.controllers", controllers);
    write_file(path / "cgroup.subtree_control", "");
    write_file(path / "cpu.stat", "usage_usec 0\n");
    if (freeze) write_file(path / "cgroup.freeze", "0");
    if (kill) write_file(path / "cgroup.kill", "");
  }
  budget::ProbeInput input(const std::string& mountinfo, const std::string& release = "6.1.0") const {
    budget::ProbeInput in{mountinfo, "0::/\n", release};
    in.check_start = false;
    return in;
  }

  test::TempDir dir_;
};

TEST_F(FakeTree, NoCgroupV2Mounted_Signals) {
  auto support = budget::probe(input(v1_line("cpu")));
  EXPECT_EQ(support.mode, Mode::kSignals);
  EXPECT_EQ(support.description, "signals: no cgroup v2 mounted (/proc/self/mountinfo)");
}

TEST_F(FakeTree, ReadOnlyMount_Signals) {
  cgroup_dir(root(), "cpu memory pids");
  auto support = budget::probe(input(v2_line("ro,nosuid")));
  EXPECT_EQ(support.mode, Mode::kSignals);
  EXPECT_EQ(support.description, "signals: cgroup v2 at " + root().string() + " is mounted read-only");
}

TEST_F(FakeTree, KernelBefore5_7_Signals) {
  cgroup_dir(root(), "cpu memory pids");
  auto support = budget::probe(input(v2_line(), "5.4.0-150-generic"));
  EXPECT_EQ(support.mode, Mode::kSignals);
  EXPECT_EQ(support.description,
            "signals: kernel 5.4.0-150-generic cannot start a command inside a cgroup (needs 5.7)");
}

TEST_F(FakeTree, CannotCreateVigilCgroup_SignalsSaysWhy) {
  write_file(root(), "not a directory");
  auto support = budget::probe(input(v2_line()));
  EXPECT_EQ(support.mode, Mode::kSignals);
  EXPECT_EQ(support.description, "signals: cannot create " + (root() / "vigil").string() + ": Not a directory");
}

TEST_F(FakeTree, AllControllers_KernelHoldsEverything) {
  cgroup_dir(root(), "cpuset cpu io memory pids");
  cgroup_dir(root() / "vigil", "cpu memory pids");
  auto support = budget::probe(input(v2_line()));
  ASSERT_EQ(support.mode, Mode::kCgroup) << support.description;
  EXPECT_EQ(support.base, root() / "vigil");
  EXPECT_TRUE(support.cpu_max && support.memory_max && support.pids_max && support.kill);
  EXPECT_EQ(support.description, "cgroup v2 at " + (root() / "vigil").string() +
                                     ": CPU by cpu.max; memory.max; pids.max; leftovers killed by cgroup.kill");
  // Each controller is written on its own so that one refusal does not hide the others.
  std::ifstream control(root() / "vigil" / "cgroup.subtree_control");
  std::string last;
  control >> last;
  EXPECT_EQ(last, "+pids");
}

// This machine's layout: cpu, memory and pids bound to cgroup v1, cgroup v2 beside them.
TEST_F(FakeTree, Hybrid_ControllersBoundToV1_FreezeHoldsTheCpu) {
  cgroup_dir(root(), "hugetlb");
  cgroup_dir(root() / "vigil", "");
  auto support = budget::probe(input(v1_line("cpu") + v1_line("memory") + v1_line("pids") + v2_line()));
  ASSERT_EQ(support.mode, Mode::kCgroup) << support.description;
  EXPECT_FALSE(support.cpu_max || support.memory_max || support.pids_max);
  EXPECT_TRUE(support.freeze);
  auto v1 = [&](const std::string& controller) { return (dir_.path() / controller).string(); };
  EXPECT_EQ(support.description, "cgroup v2 at " + (root() / "vigil").string() +
                                     ": CPU held by cgroup.freeze (no cpu.max: cpu controller bound to cgroup v1 at " +
                                     v1("cpu") + "); no memory.max (memory controller bound to cgroup v1 at " +
                                     v1("memory") + "); no pids.max (pids controller bound to cgroup v1 at " +
                                     v1("pids") + "); leftovers killed by cgroup.kill");
}

TEST_F(FakeTree, ControllerOfferedButNotReachingVigil_Said) {
  cgroup_dir(root(), "cpu pids");
  cgroup_dir(root() / "vigil", "pids", true, false);
  auto support = budget::probe(input(v2_line()));
  ASSERT_EQ(support.mode, Mode::kCgroup) << support.description;
  EXPECT_FALSE(support.cpu_max);
  EXPECT_TRUE(support.pids_max);
  EXPECT_NE(support.description.find("no cpu.max: cpu controller not enabled in " + (root() / "vigil").string()),
            std::string::npos)
      << support.description;
  EXPECT_NE(support.description.find("no memory.max (memory controller not offered in " +
                                     (root() / "cgroup.controllers").string() + ")"),
            std::string::npos)
      << support.description;
  EXPECT_NE(support.description.find("leftovers killed one by one (no cgroup.kill: needs 5.14)"), std::string::npos);
}

TEST_F(FakeTree, NoCpuControllerAndNoFreezer_Signals) {
  cgroup_dir(root(), "pids");
  cgroup_dir(root() / "vigil", "pids", false);
  auto support = budget::probe(input(v2_line()));
  EXPECT_EQ(support.mode, Mode::kSignals);
  EXPECT_EQ(support.description, "signals: cgroup v2 at " + (root() / "vigil").string() +
                                     " has no cpu.max (cpu controller not offered in " +
                                     (root() / "cgroup.controllers").string() + ") and no cgroup.freeze (needs 5.2)");
}

// Not allowed at the top of the hierarchy, vigil uses the cgroup delegated to it.
TEST_F(FakeTree, TopNotWritable_DelegatedCgroupUsed) {
  cgroup_dir(root(), "cpu memory pids");
  fs::create_directories(root() / "vigil");  // a directory, but no cgroup the kernel lets us write
  cgroup_dir(root() / "service" / "vigil", "cpu memory pids");
  auto in = input(v2_line());
  in.self_cgroup = "12:pids:/\n0::/service\n";
  auto support = budget::probe(in);
  ASSERT_EQ(support.mode, Mode::kCgroup) << support.description;
  EXPECT_EQ(support.base, root() / "service" / "vigil");
}

TEST(CgroupValues, CpuMaxOverA100msPeriod) {
  EXPECT_EQ(budget::cpu_max_value(25), "25000 100000");
  EXPECT_EQ(budget::cpu_max_value(1), "1000 100000");
  EXPECT_EQ(budget::cpu_max_value(0), "1000 100000");
  EXPECT_EQ(budget::cpu_max_value(100), "max 100000");
}

TEST(CgroupValues, ModuleNameIsOneSafeDirectory) {
  EXPECT_EQ(budget::cgroup_name("inv"), "inv");
  EXPECT_EQ(budget::cgroup_name("../etc"), "___etc");
  EXPECT_EQ(budget::cgroup_name(""), "_");
}

// A command's CPU share of one core, from the children it left to reap.
struct Measured {
  CommandOutcome outcome;
  std::string output;
  std::vector<std::string> error_lines;
  double cpu_seconds = 0;
  double wall_seconds = 0;
  double share() const { return 100.0 * cpu_seconds / wall_seconds; }
};

Measured run_measured(CommandRequest request) {
  Measured measured;
  request.on_output = [&](std::string_view chunk) { measured.output += chunk; };
  request.on_error_line = [&](std::string_view line) { measured.error_lines.emplace_back(line); };
  double cpu_start = test::children_cpu_seconds();
  auto wall_start = std::chrono::steady_clock::now();
  measured.outcome = run_command(request);
  measured.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  measured.cpu_seconds = test::children_cpu_seconds() - cpu_start;
  return measured;
}

// About 0.9 s of CPU each (copying 24 GB from /dev/zero to /dev/null): long
// enough that the burst before the first pause is a small part of the share.
const std::string kBurner = "dd if=/dev/zero of=/dev/null bs=64k count=360000 2>/dev/null";
constexpr int kLimit = 25;
// The share must not exceed the limit by more than this (CPU time comes in 10 ms ticks).
constexpr double kAbove = 8;
// Nor fall far below it: being paused for good is no budget either (a busy machine may give less).
constexpr double kBelow = 13;

// Without a cgroup the process group is paused; children that stay in it are held.
TEST(CommandBudget, Signals_ChildrenInTheProcessGroup_AreHeld) {
  budget::Support signals;
  CommandRequest request;
  request.argv = {"sh", "-c", kBurner + " & " + kBurner + " & wait"};
  request.cpu_limit = kLimit;
  request.timeout = std::chrono::seconds(60);
  request.budget = &signals;
  auto run = run_measured(request);
  ASSERT_TRUE(run.outcome.status.ok()) << run.outcome.status.error();
  std::cout << "signals: " << run.cpu_seconds << " s CPU over " << run.wall_seconds << " s: " << run.share()
            << " % of one core (limit " << kLimit << " %)\n";
  EXPECT_LE(run.share(), kLimit + kAbove);
  EXPECT_GE(run.share(), kLimit - kBelow);
}

// Real cgroups, in a sub-hierarchy of this test process's own.
class RealCgroup : public ::testing::Test {
 protected:
  void SetUp() override {
    support_ = budget::probe(budget::this_machine("vigil-test-" + std::to_string(::getpid())));
    if (support_.mode != Mode::kCgroup)
      GTEST_SKIP() << "no cgroup for commands on this machine: " << support_.description;
    std::cout << support_.description << "\n";
  }
  void TearDown() override {
    if (support_.base.empty()) return;
    std::error_code ignored;
    for (const auto& entry : fs::directory_iterator(support_.base, ignored)) {
      if (entry.is_directory()) ::rmdir(entry.path().c_str());
    }
    ::rmdir(support_.base.c_str());
  }
  CommandRequest request(const std::string& script) const {
    CommandRequest request;
    request.argv = {"sh", "-c", script};
    request.module = "budget-test";
    request.timeout = std::chrono::seconds(60);
    request.budget = &support_;
    return request;
  }
  // The command cgroups left below the module's.
  size_t cgroups_left() const {
    size_t count = 0;
    std::error_code ignored;
    for (const auto& entry : fs::directory_iterator(support_.base / "budget-test", ignored)) {
      count += entry.is_directory() ? 1 : 0;
    }
    return count;
  }
  static bool running(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string pid_field, name, state;
    return stat >> pid_field >> name >> state && state != "Z";
  }

  budget::Support support_;
};

TEST_F(RealCgroup, CommandStartsInItsOwnCgroup) {
  auto run = run_measured(request("cat /proc/self/cgroup"));
  ASSERT_TRUE(run.outcome.status.ok()) << run.outcome.status.error();
  EXPECT_NE(run.output.find("/" + support_.base.filename().string() + "/budget-test/cmd-" + std::to_string(::getpid())),
            std::string::npos)
      << run.output;
  EXPECT_EQ(cgroups_left(), 0u);
}

// Grandchildren that left the process group (setsid) are still in the cgroup:
// the signals fallback can neither see nor pause them (they would use two
// cores here), the cgroup holds them.
TEST_F(RealCgroup, GrandchildrenLeavingTheProcessGroup_AreHeld) {
  auto command = request("setsid sh -c '" + kBurner + " & " + kBurner + " & wait' & wait");
  command.cpu_limit = kLimit;
  auto run = run_measured(command);
  ASSERT_TRUE(run.outcome.status.ok()) << run.outcome.status.error();
  std::cout << "cgroup: " << run.cpu_seconds << " s CPU over " << run.wall_seconds << " s: " << run.share()
            << " % of one core (limit " << kLimit << " %)\n";
  EXPECT_LE(run.share(), kLimit + kAbove);
  EXPECT_GE(run.share(), kLimit - kBelow);
  EXPECT_EQ(cgroups_left(), 0u);
}

// `sh -c 'setsid sleep 600 & echo $!; …'`: the grandchild's pid on stdout, its output elsewhere.
const std::string kEscapee = "setsid sleep 600 >/dev/null 2>&1 & echo $!";

TEST_F(RealCgroup, Timeout_KillsGrandchildThatLeftTheGroup) {
  auto command = request(kEscapee + "; wait");
  command.timeout = std::chrono::seconds(1);
  auto run = run_measured(command);
  ASSERT_FALSE(run.outcome.status.ok());
  EXPECT_EQ(run.outcome.status.code(), ErrorCode::kTimedOut) << run.outcome.status.error();
  pid_t grandchild = std::atoi(run.output.c_str());
  ASSERT_GT(grandchild, 0) << run.output;
  EXPECT_FALSE(running(grandchild));
  EXPECT_EQ(cgroups_left(), 0u);
}

TEST_F(RealCgroup, Cancel_KillsGrandchildThatLeftTheGroup) {
  std::atomic<bool> cancelled{false};
  auto command = request(kEscapee + "; wait");
  command.cancelled = &cancelled;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    cancelled = true;
  });
  auto run = run_measured(command);
  canceller.join();
  ASSERT_FALSE(run.outcome.status.ok());
  EXPECT_EQ(run.outcome.status.code(), ErrorCode::kCancelled) << run.outcome.status.error();
  pid_t grandchild = std::atoi(run.output.c_str());
  ASSERT_GT(grandchild, 0) << run.output;
  EXPECT_FALSE(running(grandchild));
  EXPECT_EQ(cgroups_left(), 0u);
}

// What a finished command leaves running goes with its cgroup.
TEST_F(RealCgroup, Leftovers_KilledAndCgroupRemoved) {
  auto run = run_measured(request(kEscapee));
  ASSERT_TRUE(run.outcome.status.ok()) << run.outcome.status.error();
  EXPECT_EQ(run.outcome.exit_code, 0);
  pid_t grandchild = std::atoi(run.output.c_str());
  ASSERT_GT(grandchild, 0) << run.output;
  EXPECT_FALSE(running(grandchild));
  EXPECT_EQ(cgroups_left(), 0u);
}

// A vigild that crashed may have left a command frozen: the next one removes it.
TEST_F(RealCgroup, StaleCgroupOfDeadVigild_KilledAndRemoved) {
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ASSERT_GT(dead, 0);
  ::waitpid(dead, nullptr, 0);
  fs::path stale = support_.base / "budget-test" / ("cmd-" + std::to_string(dead) + "-0");
  fs::create_directories(stale);
  int cgroup_fd = ::open(stale.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int dev_null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  char sleep_path[] = "/bin/sleep";
  char seconds[] = "600";
  char* argv[] = {sleep_path, seconds, nullptr};
  char* envp[] = {nullptr};
  auto spawned = budget::spawn_in_cgroup({sleep_path, argv, envp, dev_null, dev_null}, cgroup_fd);
  ::close(cgroup_fd);
  ::close(dev_null);
  ASSERT_TRUE(spawned.ok()) << spawned.error();
  std::ofstream(stale / "cgroup.freeze") << "1";

  budget::CommandCgroup::remove_stale(support_);
  int status = 0;
  ASSERT_EQ(::waitpid(spawned.value(), &status, 0), spawned.value());
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_FALSE(fs::exists(stale));
}

TEST_F(RealCgroup, PidsMax_RefusesForksAndSaysSo) {
  if (!support_.pids_max) GTEST_SKIP() << "pids.max unavailable: " << support_.description;
  auto command = request("for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait");
  command.pids_max = 4;
  auto run = run_measured(command);
  ASSERT_TRUE(run.outcome.status.ok()) << run.outcome.status.error();
  bool said = false;
  for (const auto& line : run.error_lines) said = said || line.find("pids.max (4) reached") != std::string::npos;
  EXPECT_TRUE(said);
}

TEST_F(RealCgroup, MemoryMax_KernelKillsAndSaysSo) {
  if (!support_.memory_max) GTEST_SKIP() << "memory.max unavailable: " << support_.description;
  // dd fills a 256 MiB buffer; the cgroup allows 32 MiB.
  auto command = request("dd if=/dev/zero of=/dev/null bs=256M count=1");
  command.memory_max_bytes = int64_t{32} << 20;
  auto run = run_measured(command);
  ASSERT_TRUE(run.outcome.status.ok()) << run.outcome.status.error();
  EXPECT_EQ(run.outcome.exit_code, 128 + SIGKILL);
  bool said = false;
  for (const auto& line : run.error_lines) said = said || line.find("memory.max") != std::string::npos;
  EXPECT_TRUE(said);
}

}  // namespace
}  // namespace vigil
