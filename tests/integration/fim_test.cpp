// File Integrity Monitoring through a real vigild: scanning (a modified, a
// created and a deleted file each arrive in the delta as what they are, with
// the hashes coreutils computes; a bad manifest fails the scan with its line)
// and in real time (a change after the scan reaches the upload as an event).
#include "daemon_fixture.h"
#include "store/state_store.h"

namespace vigil::test {
namespace {

namespace fs = std::filesystem;

TEST(FileIntegrityMonitoring, Scans_ChangesTravelInTheDelta) {
  TempDir dir;
  auto agent = dir.path() / "agent";
  auto system = dir.path() / "system";
  fs::create_directories(system / "etc/app");
  std::ofstream(system / "etc/app/a.conf") << "one";
  std::ofstream(system / "etc/app/b.conf") << "two";
  install_plugins(agent, {FIM_PLUGIN_PATH});
  set_agent_config(agent, "fim.Root", system.string());
  set_agent_config(agent, "fim.HashThreads", "2");
  Daemon daemon(agent);
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  auto manifest = dir.path() / "fim.yaml";
  std::ofstream(manifest) << "hash: sha256\npaths:\n  - {path: /etc/app, exclude: ['*.tmp'], severity: high}\n";
  ASSERT_EQ(vigilctl(agent, {"manifest", "set", "--module", "fim", "--file", manifest.string()}).exit_code, 0);
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
  ASSERT_TRUE(eventually([&] {
    std::error_code missing;
    for (const auto& file : fs::directory_iterator(agent / "var/lib/vigil/uploaded", missing)) {
      std::ifstream in(file.path());
      json upload = json::parse(in, nullptr, false);
      if (!upload.is_object() || upload.value("kind", "") != "events" || upload.value("module", "") != "fim") continue;
      for (const auto& candidate : upload["events"]) {
        if (candidate["values"].value("after_sha256", "") == edited) event = candidate;
      }
    }
    return event.is_object();
  })) << daemon.log();
  EXPECT_EQ(event["table"], "file_events");
  EXPECT_EQ(event["values"]["action"], "modified") << event.dump();
  EXPECT_EQ(event["values"]["path"], "/etc/app/c.conf");
  EXPECT_EQ(event["values"]["severity"], "high");
  EXPECT_EQ(event["values"]["source"], ::geteuid() == 0 ? "fanotify" : "inotify") << event.dump();

  std::ofstream(manifest) << "paths:\n  - {path: etc/app}\n";
  ASSERT_EQ(vigilctl(agent, {"manifest", "set", "--module", "fim", "--file", manifest.string()}).exit_code, 0);
  auto failed = vigilctl(agent, {"demand", "--type", "fim", "--wait"});
  EXPECT_NE(failed.exit_code, 0);
  EXPECT_NE(failed.err.find("fim manifest:2: path must be absolute"), std::string::npos) << failed.err;
}

}  // namespace
}  // namespace vigil::test
