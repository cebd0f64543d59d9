// File Integrity Monitoring through a real vigild: scanning (a modified, a
// created and a deleted file each arrive in the delta as what they are, with
// the hashes coreutils computes; a bad manifest fails the scan with its line)
// and in real time (a change after the scan reaches the upload as an event).
#include "daemon_fixture.h"
#include "store/plugin_state.h"
#include "store/state_store.h"

namespace vigil::test {
namespace {

namespace fs = std::filesystem;

// The uploaded fim event whose content after the change has `sha256`, or null.
json uploaded_event(const fs::path& agent, const std::string& sha256) {
  std::error_code missing;
  for (const auto& file : fs::directory_iterator(agent / "var/lib/vigil/uploaded", missing)) {
    std::ifstream in(file.path());
    json upload = json::parse(in, nullptr, false);
    if (!upload.is_object() || upload.value("kind", "") != "events" || upload.value("module", "") != "fim") continue;
    for (const auto& candidate : upload["events"]) {
      if (candidate["values"].value("after_sha256", "") == sha256) return candidate;
    }
  }
  return nullptr;
}

// An agent with the fim plugin inspecting `system` (fim.Root), both under a temp dir.
class FileIntegrityMonitoring : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(system / "etc/app");
    std::ofstream(system / "etc/app/a.conf") << "one";
    install_plugins(agent, {FIM_PLUGIN_PATH});
    set_agent_config(agent, "fim.Root", system.string());
  }
  void set_manifest(const std::string& yaml) {
    std::ofstream(manifest) << yaml;
    ASSERT_EQ(vigilctl(agent, {"manifest", "set", "--module", "fim", "--file", manifest.string()}).exit_code, 0);
  }

  TempDir dir;
  fs::path agent = dir.path() / "agent";
  fs::path system = dir.path() / "system";
  fs::path manifest = dir.path() / "fim.yaml";
};

TEST_F(FileIntegrityMonitoring, Scans_ChangesTravelInTheDelta) {
  std::ofstream(system / "etc/app/b.conf") << "two";
  set_agent_config(agent, "fim.HashThreads", "2");
  Daemon daemon(agent);
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  set_manifest("hash: sha256\npaths:\n  - {path: /etc/app, exclude: ['*.tmp'], severity: high}\n");
  auto scan = [&] {
    auto scanned = vigilctl(agent, {"demand", "--type", "fim", "--wait"});
    EXPECT_EQ(scanned.exit_code, 0) << scanned.err;
    std::map<std::string, json> rows;
    json report = json::parse(vigilctl(agent, {"results", "--module", "fim", "--json"}).out);
    for (const auto& row : report["rows"]) {
      rows[row["key"]["path"]] = row["values"];
    }
    return rows;
  };
  auto first = scan();
  ASSERT_EQ(first.size(), 3u) << daemon.log();
  std::string sha = run({"/usr/bin/sha256sum", (system / "etc/app/a.conf").string()}).out.substr(0, 64);
  EXPECT_EQ(first["/etc/app/a.conf"]["sha256"], sha);
  EXPECT_EQ(first["/etc/app/a.conf"]["severity"], "high");

  std::ofstream(system / "etc/app/a.conf") << "one, changed";
  std::ofstream(system / "etc/app/c.conf") << "new";
  std::ofstream(system / "etc/app/c.tmp") << "ignored";
  fs::remove(system / "etc/app/b.conf");
  scan();
  json delta = last_uploaded_delta(agent);
  ASSERT_TRUE(delta.is_object());
  ASSERT_EQ(delta["added"].size(), 1u) << delta.dump();
  EXPECT_EQ(delta["added"][0]["key"]["path"], "/etc/app/c.conf");
  ASSERT_EQ(delta["removed"].size(), 1u) << delta.dump();
  EXPECT_EQ(delta["removed"][0]["key"]["path"], "/etc/app/b.conf");
  std::set<std::string> changed;
  for (const auto& row : delta["changed"]) changed.insert(row["key"]["path"]);
  EXPECT_TRUE(changed.count("/etc/app/a.conf")) << delta.dump();  // the directory changes too (mtime)

  // The monitor watches from the last scan on: one edit, one event, uploaded.
  std::ofstream(system / "etc/app/c.conf") << "edited in real time";
  std::string edited = run({"/usr/bin/sha256sum", (system / "etc/app/c.conf").string()}).out.substr(0, 64);
  json event;
  ASSERT_TRUE(eventually([&] { return (event = uploaded_event(agent, edited)).is_object(); })) << daemon.log();
  EXPECT_EQ(event["table"], "file_events");
  EXPECT_EQ(event["values"]["action"], "modified") << event.dump();
  EXPECT_EQ(event["values"]["path"], "/etc/app/c.conf");
  EXPECT_EQ(event["values"]["severity"], "high");
  EXPECT_EQ(event["values"]["source"], ::geteuid() == 0 ? "fanotify" : "inotify") << event.dump();

  // The running monitor is the next scan's hash cache: it knows c.conf's new content.
  scan();
  std::ifstream in(agent / "var/log/vigil/fim.log");
  std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("3 paths recorded, 2 hashes reused"), std::string::npos) << log;

  set_manifest("paths:\n  - {path: etc/app}\n");
  auto failed = vigilctl(agent, {"demand", "--type", "fim", "--wait"});
  EXPECT_NE(failed.exit_code, 0);
  EXPECT_NE(failed.err.find("fim manifest:2: path must be absolute"), std::string::npos) << failed.err;
}

// After a restart the plugin scans at once (it asked the host to, ABI 1.3):
// what changed while the agent was down is in that scan's delta, and real-time
// watching resumes without waiting for the next interval.
TEST_F(FileIntegrityMonitoring, Restart_ReportsWhatChangedWhileDownAndWatchesAgain) {
  auto daemon = std::make_unique<Daemon>(agent);
  ASSERT_TRUE(daemon->ready()) << daemon->log();
  set_manifest("paths:\n  - {path: /etc/app}\n");
  ASSERT_EQ(vigilctl(agent, {"demand", "--type", "fim", "--wait"}).exit_code, 0);
  auto monitor_starts = [&] {  // "real-time monitoring through …" lines in the module's log
    std::ifstream log(agent / "var/log/vigil/fim.log");
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    size_t count = 0;
    for (size_t at = text.find("real-time monitoring"); at != std::string::npos; at = text.find("real-time", at + 1)) {
      ++count;
    }
    return count;
  };
  size_t before_restart = monitor_starts();
  daemon.reset();

  std::ofstream(system / "etc/app/a.conf") << "changed while the agent was down";
  std::string offline = run({"/usr/bin/sha256sum", (system / "etc/app/a.conf").string()}).out.substr(0, 64);
  daemon = std::make_unique<Daemon>(agent);
  ASSERT_TRUE(daemon->ready()) << daemon->log();
  json startup;  // the on-startup scan's upload
  ASSERT_TRUE(eventually([&] {
    std::error_code missing;
    for (const auto& file : fs::directory_iterator(agent / "var/lib/vigil/uploaded", missing)) {
      std::ifstream in(file.path());
      json upload = json::parse(in, nullptr, false);
      if (upload.is_object() && upload.value("trigger", "") == "on-startup") startup = upload;
    }
    return startup.is_object();
  })) << daemon->log();
  bool found = false;
  for (const auto& row : startup["delta"]["changed"]) {
    if (row["key"]["path"] == "/etc/app/a.conf") found = row["new"]["sha256"] == offline;
  }
  EXPECT_TRUE(found) << startup.dump();

  // Watching again: the monitor starts once the on-startup scan has completed.
  EXPECT_TRUE(eventually([&] { return monitor_starts() > before_restart; })) << daemon->log();
  std::ofstream(system / "etc/app/a.conf") << "changed after the restart";
  std::string live = run({"/usr/bin/sha256sum", (system / "etc/app/a.conf").string()}).out.substr(0, 64);
  EXPECT_TRUE(eventually([&] { return uploaded_event(agent, live).is_object(); })) << daemon->log();
}

// Overlapping watched trees give one row per path (the first watch's), and
// the hashes are kept in the plugin's state in chunks, so the next scan
// hashes only what changed.
TEST_F(FileIntegrityMonitoring, OverlappingTreesOneRowEach_HashesKeptInChunksAndReused) {
  for (int i = 0; i < 3000; ++i) std::ofstream(system / "etc/app" / ("f" + std::to_string(i))) << i;
  set_agent_config(agent, "fim.Realtime", "false");
  Daemon daemon(agent);
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  set_manifest("paths:\n  - {path: /etc/app, severity: high}\n  - {path: /etc, severity: low}\n");
  ASSERT_EQ(vigilctl(agent, {"demand", "--type", "fim", "--wait"}).exit_code, 0) << daemon.log();
  json report = json::parse(vigilctl(agent, {"results", "--module", "fim", "--json", "--limit", "10000"}).out);
  std::map<std::string, std::string> severity;
  for (const auto& row : report["rows"]) severity[row["key"]["path"]] = row["values"]["severity"];
  EXPECT_EQ(severity.size(), 3003u);  // /etc, /etc/app, a.conf and the 3,000
  EXPECT_EQ(severity["/etc"], "low");
  EXPECT_EQ(severity["/etc/app"], "high");
  EXPECT_EQ(severity["/etc/app/f42"], "high");

  std::ofstream(system / "etc/app/f7") << "changed";
  ASSERT_EQ(vigilctl(agent, {"demand", "--type", "fim", "--wait"}).exit_code, 0) << daemon.log();
  std::ifstream in(agent / "var/log/vigil/fim.log");
  std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("3003 paths recorded, 3000 hashes reused"), std::string::npos) << log;

  auto store = std::move(StateStore::open(agent / "var/lib/vigil/config.db").value());
  size_t chunks = 0;
  for (; store->plugin_state().get("fim", "hashes." + std::to_string(chunks)).value(); ++chunks) {
    EXPECT_LE(store->plugin_state().get("fim", "hashes." + std::to_string(chunks)).value()->size(), size_t{1} << 20);
  }
  EXPECT_EQ(chunks, 1u) << "3,001 lines fit one chunk";
}

}  // namespace
}  // namespace vigil::test
