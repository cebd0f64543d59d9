// The scheduler's rules (docs/scheduling.md) against a real vigild: triggers, the key
// hive, delays, blackout windows, deltas in the outbox and their delivery.
#include <sys/wait.h>

#include <ctime>
#include <map>
#include <random>
#include <regex>

#include "daemon_fixture.h"

namespace vigil {
namespace {

using nlohmann::json;
using test::eventually;
using test::vigilctl;

class Scheduler : public test::DaemonFixture {
 protected:
  std::filesystem::path uploads() const { return root() / "var/lib/vigil/uploaded"; }
  size_t uploaded_count() const {
    std::error_code error;
    size_t count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(uploads(), error)) {
      count += entry.path().extension() == ".json" ? 1 : 0;
    }
    return count;
  }
  bool idle(const std::string& module = "testscan") {
    json entry = module_status(module);
    return !entry.is_null() && entry["state"] == "idle" && status()["outbox"]["depth"] == 0;
  }
  std::string key(const std::string& name) {
    return vigilctl(root(), {"keys", "get", "ScanOnDemand/TestScan", name}).out;
  }
  void set_manifest(const std::string& text) {
    auto stored = vigilctl(root(), {"manifest", "set", "--module", "testscan", "--file", write_manifest(text)});
    ASSERT_EQ(stored.exit_code, 0) << stored.err;
  }
  // Writes a configuration value the way another process would, with the daemon running.
  void set_config(const std::string& key_name, const std::string& value) {
    auto db = root() / "var/lib/vigil/config.db";
    auto written = test::run(
        {"/usr/bin/sqlite3", db.string(), "INSERT OR REPLACE INTO config VALUES ('" + key_name + "','" + value + "')"});
    ASSERT_EQ(written.exit_code, 0) << written.err;
  }
};

TEST_F(Scheduler, KeysAreCreatedWhenTheModuleIsActivated) {
  auto listed = vigilctl(root(), {"keys", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("ScanOnDemand/TestScan/CpuLimit = 100"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("ScanOnDemand/TestScan/ScanOnDemand = 0"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("ScanOnDemand/TestScan/ScanOnStartup = 0"), std::string::npos) << listed.out;
  auto missing = vigilctl(root(), {"keys", "set", "ScanOnDemand/Nope", "ScanOnDemand", "1"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no key ScanOnDemand/Nope"), std::string::npos);
}

TEST_F(Scheduler, NoManifest_DemandIsRefusedWithTheReason) {
  auto demand = vigilctl(root(), {"demand", "--type", "testscan"});
  EXPECT_EQ(demand.exit_code, 1);
  EXPECT_NE(demand.err.find("module 'testscan' has no manifest"), std::string::npos) << demand.err;
}

TEST_F(Scheduler, FirstManifest_StartsIntervalScanAndItsDeltaIsUploaded) {
  set_manifest("row pkg bash 5.2\nrow pkg zsh 5.9\n");
  ASSERT_TRUE(eventually([&] { return uploaded_count() == 1 && idle(); })) << status().dump() << uploaded_count();
  json delta = json::parse(read_text(uploads() / "00000000000000000001.json"));
  EXPECT_EQ(delta["module"], "testscan");
  EXPECT_EQ(delta["trigger"], "interval");
  EXPECT_EQ(delta["delta"]["added"].size(), 2u);
  json entry = module_status("testscan");
  EXPECT_EQ(entry["last_snapshot"]["state"], "acknowledged");
  EXPECT_GT(entry["next_interval_scan"].get<int64_t>(), std::time(nullptr) + 14000);  // default 14400 s

  // The same data again: an empty delta, nothing uploaded.
  ASSERT_EQ(vigilctl(root(), {"demand", "--type", "testscan", "--wait"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return idle(); }));
  EXPECT_EQ(uploaded_count(), 1u);
}

TEST_F(Scheduler, DemandDuringIntervalScan_IsDelayedAndLogged) {
  // Long enough that the demand below lands while it runs, even under a sanitizer.
  set_manifest("row t a 1\nsleep 2000\n");
  ASSERT_TRUE(eventually([&] { return module_status("testscan")["state"] == "collecting"; }));
  auto demand = vigilctl(root(), {"demand", "--type", "testscan"});
  ASSERT_EQ(demand.exit_code, 0) << demand.err;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(demand.out, match, std::regex(R"(ControlId: (\d{14}\.\d+))"))) << demand.out;
  std::string control_id = match[1];
  EXPECT_TRUE(eventually(
      [&] { return daemon_log().find("ControlId " + control_id + " will be delayed") != std::string::npos; }));
  // A second demand while one waits is refused rather than stacked.
  EXPECT_EQ(vigilctl(root(), {"demand", "--type", "testscan"}).exit_code, 1);
  ASSERT_TRUE(eventually([&] {
    return daemon_log().find("ControlId " + control_id + " of module 'testscan' completed") != std::string::npos;
  }));
  std::string log = daemon_log();
  EXPECT_LT(log.find("interval scan of module 'testscan' completed"), log.find("ControlId " + control_id + " of"));
}

TEST_F(Scheduler, KeyValueDemandForm_IsAcceptedAndThrottleApplied) {
  set_manifest("row t a 1\n");
  ASSERT_TRUE(eventually([&] { return idle(); }));
  auto demand = vigilctl(root(), {"action=demand", "type=testscan", "cputhrottle=250"});
  ASSERT_EQ(demand.exit_code, 0) << demand.err;
  EXPECT_NE(demand.out.find("ControlId: "), std::string::npos);
  EXPECT_TRUE(eventually([&] { return daemon_log().find("source=vigilctl cpu_limit=25%") != std::string::npos; }));
  EXPECT_EQ(vigilctl(root(), {"action=demand", "type=testscan", "speed=9"}).exit_code, 2);
}

TEST_F(Scheduler, KeyHive_WriteOneStartsScan_AgentSetsTwoThenZero) {
  set_manifest("row t a 1\n");
  ASSERT_TRUE(eventually([&] { return idle(); }));
  set_manifest("row t a 1\nsleep 400\n");
  ASSERT_EQ(vigilctl(root(), {"keys", "set", "ScanOnDemand/TestScan", "ScanOnDemand", "1"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return key("ScanOnDemand") == "2\n"; }, 5));
  EXPECT_TRUE(eventually([&] { return key("ScanOnDemand") == "0\n"; }));
  EXPECT_NE(daemon_log().find("source=key hive"), std::string::npos);
}

TEST_F(Scheduler, KeyHive_CpuLimitAppliesToTheDemandAndInvalidMeans100) {
  set_manifest("row t a 1\n");
  ASSERT_TRUE(eventually([&] { return idle(); }));
  ASSERT_EQ(vigilctl(root(), {"keys", "set", "ScanOnDemand/TestScan", "CpuLimit", "25"}).exit_code, 0);
  ASSERT_EQ(vigilctl(root(), {"keys", "set", "ScanOnDemand/TestScan", "ScanOnDemand", "1"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return daemon_log().find("cpu_limit=25%") != std::string::npos; }));
  ASSERT_TRUE(eventually([&] { return key("ScanOnDemand") == "0\n"; }));
  ASSERT_EQ(vigilctl(root(), {"keys", "set", "ScanOnDemand/TestScan", "CpuLimit", "1"}).exit_code, 0);
  ASSERT_EQ(vigilctl(root(), {"keys", "set", "ScanOnDemand/TestScan", "ScanOnDemand", "1"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return daemon_log().find("source=key hive cpu_limit=100%") != std::string::npos; }));
}

TEST_F(Scheduler, KeyHive_WrittenWhileDaemonDown_IsPickedUpAtStart) {
  set_manifest("row t a 1\n");
  ASSERT_TRUE(eventually([&] { return idle(); }));
  daemon_->stop();
  ASSERT_EQ(vigilctl(root(), {"keys", "set", "ScanOnDemand/TestScan", "ScanOnDemand", "1"}).exit_code, 0);
  restart();
  EXPECT_TRUE(eventually([&] { return key("ScanOnDemand") == "0\n"; }));
  EXPECT_NE(daemon_log().find("source=key hive"), std::string::npos);
}

TEST_F(Scheduler, ScanOnStartup_OnlyOneRunsAScanAtStart) {
  set_manifest("row t a 1\n");
  ASSERT_TRUE(eventually([&] { return idle(); }));
  ASSERT_EQ(vigilctl(root(), {"keys", "set", "ScanOnDemand/TestScan", "ScanOnStartup", "2"}).exit_code, 0);
  restart();
  EXPECT_TRUE(eventually([&] { return idle(); }));
  EXPECT_EQ(daemon_log().find("trigger=on-startup"), std::string::npos);
  ASSERT_EQ(vigilctl(root(), {"keys", "set", "ScanOnDemand/TestScan", "ScanOnStartup", "1"}).exit_code, 0);
  restart();
  EXPECT_TRUE(eventually([&] { return daemon_log().find("trigger=on-startup") != std::string::npos; }));
  EXPECT_TRUE(eventually([&] { return idle(); }));
}

// A plugin may ask to scan at every start (real-time modules resume watching
// from a fresh baseline), without the hive's ScanOnStartup.
TEST_F(Scheduler, PluginThatScansAtEveryStart_ScansAtStart) {
  set_manifest("row t a 1\n");
  ASSERT_TRUE(eventually([&] { return idle(); }));
  set_config("testscan.ScanOnStart", "1");
  restart();
  EXPECT_TRUE(eventually([&] {
    return daemon_log().find("trigger=on-startup source=the plugin scans at every start") != std::string::npos;
  })) << daemon_log();
  EXPECT_TRUE(eventually([&] { return idle(); }));
  EXPECT_EQ(key("ScanOnStartup"), "0\n") << "the operator's value is left alone";
}

TEST_F(Scheduler, CompletedDemand_RestartsTheInterval) {
  set_config("testscan.ScanInterval", "3600");
  set_manifest("row t a 1\n");
  ASSERT_TRUE(eventually([&] { return idle(); }));
  ASSERT_EQ(vigilctl(root(), {"demand", "--type", "testscan", "--wait"}).exit_code, 0);
  int64_t now = std::time(nullptr);
  int64_t next = module_status("testscan")["next_interval_scan"];
  EXPECT_GE(next, now + 3600 - 5);
  EXPECT_LE(next, now + 3600 + 5);
}

TEST_F(Scheduler, BlackoutWindow_HoldsUploadsButScansRun_AndDemandsWait) {
  // A window around the current local time, written while the daemon runs.
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  int minute = local.tm_hour * 60 + local.tm_min;
  auto hhmm = [](int m) {
    char text[8];
    std::snprintf(text, sizeof(text), "%02d:%02d", (m / 60) % 24, m % 60);
    return std::string(text);
  };
  set_config("BlackoutWindows", hhmm((minute + 1439) % 1440) + "-" + hhmm((minute + 3) % 1440));
  set_manifest("row t a 1\n");
  ASSERT_TRUE(eventually([&] { return module_status("testscan")["state"] == "delta pending"; }));
  EXPECT_EQ(uploaded_count(), 0u);
  EXPECT_EQ(status()["outbox"]["depth"], 1);
  EXPECT_NE(status()["outbox"]["blocked"].get<std::string>().find("blackout window"), std::string::npos);

  auto demand = vigilctl(root(), {"demand", "--type", "testscan"});
  ASSERT_EQ(demand.exit_code, 0) << demand.err;
  EXPECT_TRUE(eventually([&] { return daemon_log().find("waits until it is uploaded") != std::string::npos; }));
  EXPECT_EQ(module_status("testscan")["waiting"].size(), 1u);

  set_config("BlackoutWindows", "");  // the window closes: the delta goes, then the demand runs
  EXPECT_TRUE(
      eventually([&] { return uploaded_count() == 1 && idle() && module_status("testscan")["waiting"].empty(); }));
}

TEST_F(Scheduler, RealtimeEvents_GoToTheOutboxInOrderedBatches) {
  set_manifest("event fs f1 created\nevent fs f2 modified\nevent fs f1 deleted\nrow t a 1\n");
  // The first event finds the module idle and is written at once; the next
  // ones share a later entry. In sequence order they are the events in order.
  json events = json::array();
  ASSERT_TRUE(eventually([&] {
    std::vector<std::filesystem::path> batches;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(uploads(), error)) {
      if (read_text(entry.path()).find(R"("kind":"events")") != std::string::npos) batches.push_back(entry.path());
    }
    std::sort(batches.begin(), batches.end(), [&](const auto& a, const auto& b) {
      return json::parse(read_text(a))["sequence"] < json::parse(read_text(b))["sequence"];
    });
    events = json::array();
    for (const auto& batch : batches) {
      json entry = json::parse(read_text(batch));
      EXPECT_EQ(entry["module"], "testscan");
      for (const auto& event : entry["events"]) events.push_back(event);
    }
    return events.size() >= 3;
  }));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["values"]["id"], "f1");
  EXPECT_EQ(events[1]["values"]["value"], "modified");
  EXPECT_EQ(events[2]["values"]["value"], "deleted");
  EXPECT_TRUE(eventually([&] { return status()["outbox"]["depth"] == 0; }));
}

// Kills vigild with SIGKILL at random points of many scan -> delta -> upload
// cycles; replaying what the target received must give exactly what was
// collected: nothing lost, nothing applied twice.
TEST_F(Scheduler, KillNine_NothingLostNothingAppliedTwice) {
  std::mt19937 random(12345);
  std::map<std::string, std::string> expected;
  for (int cycle = 0; cycle < 12; ++cycle) {
    std::string manifest;
    expected.clear();
    for (int item = 0; item < 20; ++item) {
      if ((item + cycle) % 3 == 0) continue;  // rows come and go
      std::string value = std::to_string((item * cycle) % 7);
      expected["k" + std::to_string(item)] = value;
      manifest += "row t k" + std::to_string(item) + " " + value + "\n";
    }
    set_manifest(manifest);
    vigilctl(root(), {"demand", "--type", "testscan"});
    std::this_thread::sleep_for(std::chrono::milliseconds(random() % 40));
    ::kill(daemon_->pid(), SIGKILL);
    daemon_->stop();
    restart();
  }
  // Let the last demand (re-run after the crash) and every upload finish, then take a final scan.
  ASSERT_TRUE(eventually([&] { return idle() && key("ScanOnDemand") == "0\n"; }, 30));
  ASSERT_EQ(vigilctl(root(), {"demand", "--type", "testscan", "--wait"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return idle(); }, 30));

  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(uploads())) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  std::map<std::string, std::string> replayed;
  int64_t previous = 0;
  for (const auto& file : files) {
    json delta = json::parse(read_text(file));
    int64_t sequence = delta["sequence"];
    EXPECT_EQ(sequence, previous + 1) << "gap or repeat before " << file;
    previous = sequence;
    for (const auto& row : delta["delta"]["added"]) {
      std::string id = row["key"]["id"];
      EXPECT_EQ(replayed.count(id), 0u) << "added twice: " << id << " in " << file;
      replayed[id] = row["values"]["value"];
    }
    for (const auto& row : delta["delta"]["removed"]) {
      std::string id = row["key"]["id"];
      EXPECT_EQ(replayed.count(id), 1u) << "removed but never added: " << id << " in " << file;
      replayed.erase(id);
    }
    for (const auto& row : delta["delta"]["changed"]) {
      std::string id = row["key"]["id"];
      EXPECT_EQ(replayed[id], row["old"]["value"]) << "changed from a value never delivered: " << id;
      replayed[id] = row["new"]["value"];
    }
  }
  EXPECT_EQ(replayed, expected);
}

}  // namespace
}  // namespace vigil
