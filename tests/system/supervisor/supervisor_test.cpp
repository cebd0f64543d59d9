// The supervisor: a dead worker is restarted, and a plugin that keeps killing
// the agent is quarantined while the rest keeps working.
#include <signal.h>

#include <chrono>
#include <thread>

#include "agent/supervisor.h"
#include "daemon_fixture.h"

namespace vigil {
namespace {

using nlohmann::json;
using test::eventually;
using test::vigilctl;

class Supervisor : public test::DaemonFixture {
 protected:
  int64_t worker_pid() {
    auto result = vigilctl(root(), {"status", "--json"});
    if (result.exit_code != 0) return -1;
    json parsed = json::parse(result.out, nullptr, false);
    if (parsed.is_discarded() || !parsed["daemon"].value("running", false)) return -1;
    return parsed["daemon"]["pid"].get<int64_t>();
  }
  std::string refusal(const std::string& file_name) {
    json plugins = json::parse(vigilctl(root(), {"plugins", "--json"}).out, nullptr, false);
    if (plugins.is_discarded()) return "";
    for (const auto& plugin : plugins) {
      if (plugin["state"] == "refused" && plugin["file"].get<std::string>().find(file_name) != std::string::npos) {
        return plugin["reason"];
      }
    }
    return "";
  }
};

TEST_F(Supervisor, KilledWorker_IsRestartedBehindTheSameSupervisor) {
  int64_t first = worker_pid();
  ASSERT_GT(first, 0);
  EXPECT_NE(first, daemon_->pid());  // the agent runs in a child of the supervisor
  ::kill(static_cast<pid_t>(first), SIGKILL);
  ASSERT_TRUE(eventually([&] {
    int64_t now = worker_pid();
    return now > 0 && now != first;
  }));
  EXPECT_NE(daemon_log().find("restarted by the supervisor: worker killed by signal 9"), std::string::npos);
  EXPECT_EQ(daemon_->stop(), 0);  // SIGTERM to the supervisor stops both, cleanly
}

TEST_F(Supervisor, WhileTheWorkerIsRestarted_StatusSaysWhyAndWhenNotNotRunning) {
  auto restarting = [&] {
    auto result = vigilctl(root(), {"status", "--json"});
    json parsed = json::parse(result.out, nullptr, false);
    return result.exit_code == 0 && parsed.is_object() ? parsed["daemon"].value("restarting", json()) : json();
  };
  int64_t first = worker_pid();
  ASSERT_GT(first, 0);
  auto killed_at = std::chrono::system_clock::now();
  ::kill(static_cast<pid_t>(first), SIGKILL);
  // The supervisor waits 0.5 s before it starts the next worker: that is the window.
  json restart;
  ASSERT_TRUE(eventually([&] { return (restart = restarting()).is_object(); }, 5));
  EXPECT_EQ(restart["reason"], "worker killed by signal 9");
  EXPECT_LE(restart["next_start_in_seconds"].get<double>(), 0.5);
  EXPECT_NEAR(restart["died_at"].get<double>(), std::chrono::system_clock::to_time_t(killed_at), 2);
  int64_t second = 0;
  ASSERT_TRUE(eventually([&] { return (second = worker_pid()) > 0 && second != first; }));
  EXPECT_TRUE(restarting().is_null());  // the new worker answers
  // and the supervisor drops the note once it reports ready (just after its socket is up).
  EXPECT_TRUE(eventually([&] { return !std::filesystem::exists(root() / "run/vigil/restarting"); }, 5));

  // The second death in a row waits 1 s: the text says the same.
  ::kill(static_cast<pid_t>(second), SIGKILL);
  std::string text, said;
  ASSERT_TRUE(eventually(
      [&] {
        auto shown = vigilctl(root(), {"status"});
        text = shown.out;
        said = shown.err;
        return text.find("vigild:   restarting: ") != std::string::npos;
      },
      5))
      << text;
  EXPECT_NE(said.find("vigild is restarting its worker; read from the state store"), std::string::npos) << said;
  EXPECT_NE(text.find("vigild:   restarting: worker killed by signal 9 at "), std::string::npos) << text;
  EXPECT_TRUE(text.find(", next start in 1.0 s\n") != std::string::npos ||
              text.find(", next start in 0.") != std::string::npos ||
              text.find(", a new worker is starting\n") != std::string::npos)
      << text;
  EXPECT_EQ(text.find("not running"), std::string::npos) << text;
  ASSERT_TRUE(eventually([&] { return worker_pid() > 0; }));

  // A note no supervisor holds (one killed with SIGKILL) is not believed.
  EXPECT_EQ(daemon_->stop(), 0);
  EXPECT_FALSE(std::filesystem::exists(root() / "run/vigil/restarting"));
  std::ofstream(root() / "run/vigil/restarting") << "worker killed by signal 9\n1\n2\n";
  EXPECT_NE(vigilctl(root(), {"status"}).out.find("vigild:   not running\n"), std::string::npos);
}

TEST_F(Supervisor, PluginThatCrashesTheAgent_IsQuarantinedAndReleasable) {
  // Its first interval scan starts at once and kills the worker, every time.
  // The reply may be lost: the worker can die before it is written.
  auto stored = vigilctl(root(), {"manifest", "set", "--module", "testscan", "--file", write_manifest("crash\n")});
  ASSERT_TRUE(stored.exit_code == 0 || stored.err.find("End of file") != std::string::npos) << stored.err;
  ASSERT_TRUE(eventually([&] { return refusal("test_scanner").find("is quarantined") != std::string::npos; }, 30))
      << daemon_log();
  EXPECT_NE(refusal("test_scanner").find("crashed 3 times"), std::string::npos);
  EXPECT_NE(daemon_log().find("while running module 'testscan' (crash 3 of 3"), std::string::npos);
  // The crash is in the module's own log too, with what it was doing.
  EXPECT_NE(read_text(root() / "var/log/vigil/testscan.log").find("in module testscan during interval scan"),
            std::string::npos);
  // The rest of the agent works meanwhile.
  json plugins = json::parse(vigilctl(root(), {"plugins", "--json"}).out);
  EXPECT_EQ(plugins[0]["module"], "cplug");
  EXPECT_EQ(plugins[0]["state"], "loaded");
  // The quarantined module stays in sight, with the reason.
  json quarantined = module_status("testscan");
  ASSERT_FALSE(quarantined.is_null()) << status().dump();
  EXPECT_EQ(quarantined["state"], "quarantined");
  EXPECT_NE(quarantined["reason"].get<std::string>().find("crashed 3 times"), std::string::npos);
  EXPECT_NE(vigilctl(root(), {"status"}).out.find("quarantined: testscan: "), std::string::npos);

  // Fixed (here: a harmless manifest, staged while quarantined), the module is
  // released and runs again, its demand key reset.
  auto fixed = vigilctl(root(), {"manifest", "set", "--module", "testscan", "--file", write_manifest("row t a 1\n")});
  ASSERT_EQ(fixed.exit_code, 0) << fixed.err;
  ASSERT_EQ(vigilctl(root(), {"keys", "set", "ScanOnDemand/TestScan", "ScanOnDemand", "2"}).exit_code, 0);
  auto released = vigilctl(root(), {"plugins", "release", "testscan"});
  ASSERT_EQ(released.exit_code, 0) << released.err;
  EXPECT_EQ(vigilctl(root(), {"keys", "get", "ScanOnDemand/TestScan", "ScanOnDemand"}).out, "0\n");
  EXPECT_TRUE(eventually([&] {
    json entry = module_status("testscan");
    return !entry.is_null() && entry["last_snapshot"].is_object();
  }));
  EXPECT_EQ(vigilctl(root(), {"plugins", "release", "testscan"}).exit_code, 1);  // nothing left to release
}

TEST_F(Supervisor, CrashingDemand_FailsOnceNamingTheCrashAndIsNotRunAgain) {
  // A completed scan first, so that no interval scan is due: only the demand runs the crash.
  ASSERT_EQ(scan("row t a 1\n").exit_code, 0);
  // A new manifest is scanned at once; the crashing one comes while that scan
  // runs, so the demand queued behind it is the first scan to read it.
  auto slow = vigilctl(root(), {"manifest", "set", "--module", "testscan", "--file", write_manifest("sleep 3000\n")});
  ASSERT_EQ(slow.exit_code, 0) << slow.err;
  ASSERT_TRUE(eventually([&] {
    json entry = module_status("testscan");
    return entry.is_object() && entry.value("state", "") == "collecting";
  }));
  auto stored = vigilctl(root(), {"manifest", "set", "--module", "testscan", "--file", write_manifest("crash\n")});
  ASSERT_EQ(stored.exit_code, 0) << stored.err;
  int64_t first = worker_pid();
  auto demanded = vigilctl(root(), {"demand", "--type", "testscan", "--wait"});
  EXPECT_EQ(demanded.exit_code, 1);
  EXPECT_NE(demanded.err.find("failed: worker crashed (signal 6) in module testscan during scan ControlId "),
            std::string::npos)
      << demanded.out << demanded.err;
  EXPECT_NE(worker_pid(), first);
  // Not run again by the new worker: one crash, charged once, no quarantine.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  std::string log = daemon_log();
  EXPECT_NE(log.find("while running module 'testscan' (crash 1 of 3"), std::string::npos) << log;
  EXPECT_EQ(log.find("crash 2 of 3"), std::string::npos) << log;
  EXPECT_NE(log.find("the demand of module 'testscan' that crashed the last worker is not run again"),
            std::string::npos);
  EXPECT_NE(read_text(root() / "var/log/vigil/testscan.log")
                .find("worker crashed (signal 6) in module testscan during scan ControlId "),
            std::string::npos);
  json entry = module_status("testscan");
  ASSERT_FALSE(entry.is_null());
  EXPECT_EQ(entry["state"], "idle");
}

TEST_F(Supervisor, CrashDuringUnload_IsReportedButNotCharged) {
  test::set_agent_config(root(), "testscan.CrashOnUnload", "1");
  restart();
  int64_t first = worker_pid();
  // The reply may be lost: the worker dies before it is written.
  auto unloaded = vigilctl(root(), {"plugins", "unload", "testscan"});
  ASSERT_TRUE(unloaded.exit_code == 0 || unloaded.err.find("End of file") != std::string::npos) << unloaded.err;
  ASSERT_TRUE(eventually([&] {
    int64_t now = worker_pid();
    return now > 0 && now != first;
  }));
  std::string log = daemon_log();
  EXPECT_NE(log.find("module 'testscan' was being unloaded (not charged)"), std::string::npos) << log;
  EXPECT_EQ(log.find("crash 1 of 3"), std::string::npos) << log;
  EXPECT_NE(read_text(root() / "var/log/vigil/testscan.log").find("in module testscan during unload"),
            std::string::npos);
}

TEST_F(Supervisor, WorkerPastItsMemoryLimit_IsRestartedAndTheModuleCharged) {
  // Well above an idle worker's RSS even under a sanitizer's shadow memory.
  test::set_agent_config(root(), "WorkerMemoryLimit", "384MiB");
  restart();
  EXPECT_NE(daemon_log().find("WorkerMemoryLimit: 384 MiB"), std::string::npos);
  int64_t first = worker_pid();
  ASSERT_GT(first, 0);
  // Its first interval scan starts at once and holds 768 MiB until the supervisor's next look.
  auto stored = vigilctl(
      root(), {"manifest", "set", "--module", "testscan", "--file", write_manifest("hold 768\nsleep 20000\n")});
  ASSERT_EQ(stored.exit_code, 0) << stored.err;
  ASSERT_TRUE(eventually([&] {
    return daemon_log().find("while running module 'testscan' (crash 1 of 3") != std::string::npos;
  })) << daemon_log();
  EXPECT_NE(daemon_log().find("restarted by the supervisor: worker passed WorkerMemoryLimit 384 MiB (rss "),
            std::string::npos);
  EXPECT_NE(daemon_->log().find("vigild: worker passed WorkerMemoryLimit 384 MiB (rss "), std::string::npos);
  EXPECT_TRUE(eventually([&] {
    int64_t now = worker_pid();
    return now > 0 && now != first;
  }));
}

TEST(SupervisorMemoryLimit, AcceptsBytesAndUnitsOfPowersOf1024) {
  EXPECT_EQ(parse_memory_size("536870912").value(), int64_t{512} << 20);
  EXPECT_EQ(parse_memory_size("512MiB").value(), int64_t{512} << 20);
  EXPECT_EQ(parse_memory_size(" 512 m ").value(), int64_t{512} << 20);
  EXPECT_EQ(parse_memory_size("1G").value(), int64_t{1} << 30);
  EXPECT_EQ(parse_memory_size("64kb").value(), 64 << 10);
  EXPECT_EQ(parse_memory_size("0").value(), 0);
  for (const char* bad : {"", "MiB", "-1", "12 parsecs", "1.5G", "99999999999999999999", "9999999999999G"}) {
    EXPECT_FALSE(parse_memory_size(bad).ok()) << bad;
  }
  EXPECT_EQ(memory_size_text(int64_t{512} << 20), "512 MiB");
  EXPECT_EQ(memory_size_text(1536), "1536 bytes");
}

TEST_F(Supervisor, SupervisorMapsNoneOfTheAgentsLibraries) {
  std::ifstream maps("/proc/" + std::to_string(daemon_->pid()) + "/maps");
  std::stringstream text;
  text << maps.rdbuf();
  ASSERT_FALSE(text.str().empty());
  for (const char* library : {"libsqlite3", "libprotobuf", "libssl", "libspdlog", "test_scanner"}) {
    EXPECT_EQ(text.str().find(library), std::string::npos) << library;
  }
}

}  // namespace
}  // namespace vigil
