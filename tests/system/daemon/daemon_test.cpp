// A real vigild on a temp root, driven with vigilctl over its control socket.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <thread>

#include <vigil/plugin.h>

#include "daemon_fixture.h"

namespace vigil {
namespace {

using nlohmann::json;
using test::vigilctl;

class Daemon : public test::DaemonFixture {};

const std::string kAbiText = std::to_string(VIGIL_ABI_VERSION_MAJOR) + "." + std::to_string(VIGIL_ABI_VERSION_MINOR);

TEST_F(Daemon, Plugins_ListsLoadedAndRefusedWithReasons) {
  json plugins = json_of(vigilctl(root(), {"plugins", "--json"}));
  ASSERT_EQ(plugins.size(), 3u) << plugins.dump();
  EXPECT_EQ(plugins[0]["module"], "cplug");
  EXPECT_EQ(plugins[0]["kind"], "real-time");
  EXPECT_EQ(plugins[1]["module"], "testscan");
  EXPECT_EQ(plugins[1]["state"], "loaded");
  EXPECT_EQ(plugins[0]["abi_version"], "1.0");  // an older minor still loads
  EXPECT_EQ(plugins[1]["abi_version"], kAbiText);
  EXPECT_EQ(plugins[1]["key_name"], "TestScan");
  EXPECT_EQ(plugins[1]["cpu_limit"], 40);
  EXPECT_EQ(plugins[1]["manifest_types"], json::array({"testscan"}));
  EXPECT_EQ(plugins[2]["state"], "refused");
  EXPECT_NE(plugins[2]["reason"].get<std::string>().find("ABI 2.0"), std::string::npos);

  auto text = vigilctl(root(), {"plugins"});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("testscan"), std::string::npos);
  EXPECT_NE(text.out.find("refused: "), std::string::npos);
}

TEST_F(Daemon, ModuleConditions_ShowInStatusAndHealthUntilCleared) {
  auto reported = scan("condition disk-nearly-full warning the disk holds 95 %\n");
  ASSERT_EQ(reported.exit_code, 0) << reported.err;
  json conditions = module_status("testscan")["conditions"];
  ASSERT_EQ(conditions.size(), 1u) << conditions.dump();
  EXPECT_EQ(conditions[0]["code"], "disk-nearly-full");
  EXPECT_EQ(conditions[0]["severity"], "warning");
  EXPECT_EQ(conditions[0]["description"], "the disk holds 95 %");
  EXPECT_EQ(conditions[0]["fix"], "do what the test says");
  // vigilctl health names it as a finding of the modules step, with the module's fix.
  json report = json::parse(vigilctl(root(), {"health", "--json"}).out, nullptr, false);
  json finding;
  for (const auto& error : report["errors"]) {
    if (error["code"] == "disk-nearly-full") finding = error;
  }
  ASSERT_TRUE(finding.is_object()) << report.dump(2);
  EXPECT_EQ(finding["severity"], "warning");
  EXPECT_EQ(finding["description"], "module testscan: the disk holds 95 %");
  // A code outside [a-z0-9-] is refused; the scan fails naming the service.
  auto refused = scan("condition Bad_Code warning x\n");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("set_condition"), std::string::npos) << refused.err;
  ASSERT_EQ(scan("condition disk-nearly-full clear\n").exit_code, 0);
  EXPECT_FALSE(module_status("testscan").contains("conditions")) << module_status("testscan").dump();
}

TEST_F(Daemon, ScanThenResults_ShowTheSnapshotRows) {
  auto scanned = scan("row packages bash 5.2\nrow packages zsh 5.9\nrow os name Debian\n");
  ASSERT_EQ(scanned.exit_code, 0) << scanned.err;
  EXPECT_NE(scanned.out.find("completed: 3 rows"), std::string::npos) << scanned.out;

  json results = json_of(vigilctl(root(), {"results", "--module", "testscan", "--json"}));
  ASSERT_EQ(results["rows"].size(), 3u) << results.dump();
  EXPECT_EQ(results["rows"][1]["key"]["id"], "bash");
  EXPECT_EQ(results["rows"][1]["values"]["value"], "5.2");

  json filtered = json_of(vigilctl(root(), {"results", "--module", "testscan", "--table", "os", "--json"}));
  ASSERT_EQ(filtered["rows"].size(), 1u);

  auto text = vigilctl(root(), {"results", "--module", "testscan"});
  EXPECT_NE(text.out.find("[packages] 2 rows"), std::string::npos) << text.out;

  json status = json_of(vigilctl(root(), {"status", "--json"}));
  EXPECT_EQ(status["daemon"]["running"], true);
  EXPECT_EQ(status["agent_id"], "");
  bool found = false;
  for (const auto& module : status["modules"]) {
    if (module["module"] == "testscan") {
      found = true;
      EXPECT_EQ(module["state"], "idle");
      EXPECT_EQ(module["last_snapshot"]["row_count"], 3);
    }
  }
  EXPECT_TRUE(found) << status.dump();
}

TEST_F(Daemon, FailingScan_ExitsOneWithThePluginsReason) {
  auto scanned = scan("fail bad rule 7\n");
  EXPECT_EQ(scanned.exit_code, 1);
  EXPECT_NE(scanned.err.find("failed: bad rule 7"), std::string::npos) << scanned.err;
}

TEST_F(Daemon, DemandOfUnknownOrRealtimeModule_IsRefused) {
  auto unknown = vigilctl(root(), {"demand", "--type", "nosuch"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("module 'nosuch' is not activated"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("no plugin for it is loaded"), std::string::npos) << unknown.err;
  auto realtime = vigilctl(root(), {"demand", "--type", "cplug"});
  EXPECT_EQ(realtime.exit_code, 1);
  EXPECT_NE(realtime.err.find("not activated for scans: it watches in real time"), std::string::npos) << realtime.err;
  auto manifest = vigilctl(root(), {"manifest", "set", "--module", "nosuch", "--file", write_manifest("x")});
  EXPECT_EQ(manifest.exit_code, 1);
  EXPECT_NE(manifest.err.find("no loaded module 'nosuch'"), std::string::npos) << manifest.err;
  auto wrong_type =
      vigilctl(root(), {"manifest", "set", "--module", "testscan", "--type", "inv", "--file", write_manifest("x")});
  EXPECT_EQ(wrong_type.exit_code, 1);
  EXPECT_NE(wrong_type.err.find("does not handle manifest type 'inv'"), std::string::npos) << wrong_type.err;
}

TEST_F(Daemon, DemandOfALoadedModuleThePlatformDidNotActivate_SaysSo) {
  daemon_.reset();
  test::set_agent_config(root(), "ActivatedModules", "[]");  // the platform activated nothing
  restart();
  auto refused = vigilctl(root(), {"demand", "--type", "testscan"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("its plugin is loaded, but the platform has not activated it for this agent"),
            std::string::npos)
      << refused.err;
}

TEST_F(Daemon, ResultsOfAnUnknownModuleOrTable_AreErrorsNamingWhatExists) {
  ASSERT_EQ(scan("row packages bash 5.2\nrow os name Debian\n").exit_code, 0);
  auto module = vigilctl(root(), {"results", "--module", "nope"});
  EXPECT_EQ(module.exit_code, 1);
  EXPECT_NE(module.err.find("no module 'nope' here"), std::string::npos) << module.err;
  auto table = vigilctl(root(), {"results", "--module", "testscan", "--table", "nope"});
  EXPECT_EQ(table.exit_code, 1);
  EXPECT_NE(table.err.find("has no table 'nope' (tables: os, packages)"), std::string::npos) << table.err;
  auto known = vigilctl(root(), {"results", "--module", "testscan", "--table", "os"});
  EXPECT_EQ(known.exit_code, 0) << known.err;
  // A module loaded but never scanned still says so, rc 0.
  auto never = vigilctl(root(), {"results", "--module", "cplug"});
  EXPECT_EQ(never.exit_code, 0) << never.err;
  EXPECT_NE(never.out.find("no snapshot yet"), std::string::npos) << never.out;
}

TEST_F(Daemon, UsageErrors_ExitTwo) {
  EXPECT_EQ(vigilctl(root(), {}).exit_code, 2);
  auto unknown = vigilctl(root(), {"no-such-command"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown command 'no-such-command'"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("encrypt-string"), std::string::npos) << unknown.err;
  EXPECT_EQ(vigilctl(root(), {"results"}).exit_code, 2);
  EXPECT_EQ(vigilctl(root(), {"manifest", "set", "--module", "testscan", "--file", "/nonexistent"}).exit_code, 2);
  EXPECT_EQ(vigilctl(root(), {"demand", "--type", "testscan", "--cpu-throttle", "1001"}).exit_code, 2);
  EXPECT_EQ(vigilctl(root(), {"keys", "set", "ScanOnDemand/TestScan", "ScanOnDemand", "x"}).exit_code, 2);
  EXPECT_EQ(vigilctl(root(), {"keys", "set", "Other/TestScan", "ScanOnDemand", "1"}).exit_code, 2);
  auto help = vigilctl(root(), {"demand", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--cpu-throttle"), std::string::npos);
}

TEST_F(Daemon, UnloadAndReload_AtRunTime) {
  auto unload = vigilctl(root(), {"plugins", "unload", "testscan"});
  ASSERT_EQ(unload.exit_code, 0) << unload.err;
  json plugins = json_of(vigilctl(root(), {"plugins", "--json"}));
  for (const auto& entry : plugins) EXPECT_NE(entry.value("module", ""), "testscan");
  EXPECT_EQ(vigilctl(root(), {"demand", "--type", "testscan"}).exit_code, 1);

  auto reload = vigilctl(root(), {"plugins", "reload"});
  ASSERT_EQ(reload.exit_code, 0) << reload.err;
  auto scanned = scan("row t a 1\n");
  EXPECT_EQ(scanned.exit_code, 0) << scanned.err;
  auto reload_one = vigilctl(root(), {"plugins", "reload", "testscan"});
  EXPECT_EQ(reload_one.exit_code, 0) << reload_one.err;
}

TEST_F(Daemon, UnloadDuringScan_CancelsTheScan) {
  // A manifest arriving for a module never scanned starts its first interval scan.
  ASSERT_EQ(vigilctl(root(), {"manifest", "set", "--module", "testscan", "--file", write_manifest("spin\n")}).exit_code,
            0);
  for (int i = 0; i < 500; ++i) {
    json status = json_of(vigilctl(root(), {"status", "--json"}));
    bool collecting = false;
    for (const auto& module : status["modules"]) collecting |= module["state"] == "collecting";
    if (collecting) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto unload = vigilctl(root(), {"plugins", "unload", "testscan"});
  EXPECT_EQ(unload.exit_code, 0) << unload.err;
  daemon_->stop();
  std::ifstream module_log(root() / "var/log/vigil/testscan.log");
  std::stringstream text;
  text << module_log.rdbuf();
  EXPECT_NE(text.str().find("scan failed (cancelled)"), std::string::npos) << text.str();
}

TEST_F(Daemon, SecondDaemonOnSameRoot_IsRefused) {
  auto second = test::run({VIGILD_PATH, "--root", root().string()});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("another vigild is already running"), std::string::npos) << second.err;
}

TEST_F(Daemon, Sigterm_StopsCleanlyAndResultsStayReadableOffline) {
  ASSERT_EQ(scan("row t a 1\n").exit_code, 0);
  EXPECT_EQ(daemon_->stop(), 0);
  EXPECT_FALSE(std::filesystem::exists(root() / "run/vigil/vigild.sock"));
  auto offline = vigilctl(root(), {"results", "--module", "testscan", "--json"});
  ASSERT_EQ(offline.exit_code, 0) << offline.err;
  EXPECT_NE(offline.err.find("not running"), std::string::npos);
  EXPECT_EQ(json::parse(offline.out)["rows"].size(), 1u);
  auto status = vigilctl(root(), {"status", "--json"});
  EXPECT_EQ(json::parse(status.out)["daemon"]["running"], false);
  auto demand = vigilctl(root(), {"demand", "--type", "testscan"});
  EXPECT_EQ(demand.exit_code, 1);
  EXPECT_NE(demand.err.find("vigild is not running"), std::string::npos);
}

TEST_F(Daemon, Logs_DaemonAndPerModuleFiles) {
  ASSERT_EQ(scan("row t a 1\n").exit_code, 0);
  daemon_->stop();
  std::ifstream daemon_log(root() / "var/log/vigil/vigild.log");
  std::stringstream daemon_text;
  daemon_text << daemon_log.rdbuf();
  EXPECT_NE(daemon_text.str().find("plugin refused"), std::string::npos);
  std::ifstream module_log(root() / "var/log/vigil/testscan.log");
  std::stringstream module_text;
  module_text << module_log.rdbuf();
  EXPECT_NE(module_text.str().find("scan complete: 1 rows"), std::string::npos) << module_text.str();
}

TEST_F(Daemon, StopCommand_StopsTheDaemon) {
  auto stop = vigilctl(root(), {"stop"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_EQ(daemon_->stop(), 0);
}

TEST_F(Daemon, OtherUsers_AreRefusedByPeerCredentials_AsRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a client as another user (nobody)";
  // Open every door to the socket so only the peer-credential check stands in the way.
  for (const auto& path : {root(), root() / "run", root() / "run/vigil"}) {
    std::filesystem::permissions(path, std::filesystem::perms::all & ~std::filesystem::perms::others_write &
                                           ~std::filesystem::perms::group_write);
  }
  std::filesystem::permissions(root() / "run/vigil/vigild.sock", std::filesystem::perms::all);
  auto refused = test::run({"/usr/sbin/runuser", "-u", "nobody", "--", "/usr/bin/python3", "-c",
                            // The refusal comes at once, before any request is read.
                            "import socket,sys\n"
                            "s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print(s.recv(4096).decode())",
                            (root() / "run/vigil/vigild.sock").string()});
  EXPECT_EQ(refused.exit_code, 0) << refused.err;
  EXPECT_NE(refused.out.find("permission denied: only root or the agent's user"), std::string::npos)
      << refused.out << refused.err;
  // vigilctl itself says what it needs before trying anything.
  auto ctl = root() / "vigilctl";
  std::filesystem::copy_file(VIGILCTL_PATH, ctl);
  auto denied =
      test::run({"/usr/sbin/runuser", "-u", "nobody", "--", ctl.string(), "--root", root().string(), "status"});
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_NE(denied.err.find("vigilctl needs root (or the agent's user)"), std::string::npos) << denied.err;
}

TEST(DaemonStart, VersionAndHelp) {
  auto version = test::run({VIGILD_PATH, "--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.out.find("plugin ABI " + kAbiText), std::string::npos) << version.out;
  auto bad = test::run({VIGILD_PATH, "--no-such-flag"});
  EXPECT_EQ(bad.exit_code, 2);
}

TEST(DaemonStart, LogLevelFromStore_IsApplied) {
  test::TempDir dir;
  {
    test::Daemon daemon(dir.path());
    ASSERT_TRUE(daemon.ready());
  }
  // Written with the daemon down; vigild reads LogLevel when it starts.
  auto db = dir.path() / "var/lib/vigil/config.db";
  auto set = test::run({"/usr/bin/sqlite3", db.string(), "INSERT INTO config VALUES ('LogLevel','5')"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  test::Daemon daemon(dir.path());
  ASSERT_TRUE(daemon.ready());
  vigilctl(dir.path(), {"status"});
  daemon.stop();
  EXPECT_NE(daemon.log().find("control request: status"), std::string::npos);  // a debug line
}

TEST(DaemonStart, MigrateStateBringsTheStoreToThisSchemaAndExits) {
  test::TempDir dir;
  auto migrated = test::run({VIGILD_PATH, "--root", dir.path().string(), "--migrate-state"});
  EXPECT_EQ(migrated.exit_code, 0) << migrated.err;
  EXPECT_NE(migrated.out.find("schema version " + std::to_string(StateStore::latest_schema_version())),
            std::string::npos)
      << migrated.out;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "run/vigil/vigild.sock"));  // no daemon was started
}

TEST(DaemonStart, UninstallStopsTheAgentAndPurgeLeavesNothing) {
  test::TempDir dir;
  const auto& root = dir.path();
  test::Daemon daemon(root);
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  auto kept = vigilctl(root, {"uninstall"});
  EXPECT_EQ(kept.exit_code, 0) << kept.err;
  EXPECT_NE(kept.out.find("vigild stopped"), std::string::npos) << kept.out;
  EXPECT_TRUE(std::filesystem::exists(root / "var/lib/vigil/config.db"));

  test::Daemon again(root);
  ASSERT_TRUE(again.ready()) << again.log();
  std::filesystem::create_directories(root / "etc/vigil");
  std::ofstream(root / "etc/vigil/hostid") << "0b0e8a4e-1d47-4e38-9f51-6a4e6c1f2b7a\n";
  auto purged = vigilctl(root, {"uninstall", "--purge"});
  EXPECT_EQ(purged.exit_code, 0) << purged.err;
  for (const char* gone : {"var/lib/vigil", "etc/vigil", "var/log/vigil", "run/vigil"}) {
    EXPECT_FALSE(std::filesystem::exists(root / gone)) << gone;
  }
}

// The datagrams sent to `socket_fd` within `seconds`, joined, until one holds `wanted`.
std::string notifications_until(int socket_fd, const std::string& wanted, int seconds) {
  std::string seen;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (seen.find(wanted) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd waiter{socket_fd, POLLIN, 0};
    if (::poll(&waiter, 1, 100) != 1) continue;
    char datagram[4096];
    ssize_t got = ::recv(socket_fd, datagram, sizeof datagram, 0);
    if (got > 0) seen.append(datagram, static_cast<size_t>(got)).append("\n");
  }
  return seen;
}

// vigild.service is Type=notify: vigild itself (not the worker) tells the
// service manager through libsystemd, here a socket of the test's own.
TEST(DaemonStart, TellsTheServiceManagerWhenReadyAndWhenStopping) {
  test::TempDir dir;
  auto socket_path = dir.path() / "notify";
  int listener = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socket_path.c_str());
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);

  ::setenv("NOTIFY_SOCKET", socket_path.c_str(), 1);
  test::Daemon daemon(dir.path());
  ::unsetenv("NOTIFY_SOCKET");
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  std::string ready = notifications_until(listener, "READY=1", 10);
  EXPECT_NE(ready.find("READY=1"), std::string::npos) << ready;
  EXPECT_NE(ready.find("STATUS=agent running"), std::string::npos) << ready;
  daemon.stop();
  std::string stopping = notifications_until(listener, "STOPPING=1", 10);
  EXPECT_NE(stopping.find("STOPPING=1"), std::string::npos) << stopping;
  ::close(listener);
}

}  // namespace
}  // namespace vigil
