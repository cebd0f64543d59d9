// Scans through the real ABI: rows land in one snapshot, failures and
// exceptions become statuses with reasons and store nothing, cancel works.
#include <nlohmann/json.hpp>

#include <thread>

#include "control_socket/reports.h"
#include "delta/payload_json.h"
#include "plugin_fixture.h"
#include "sched/scan_runner.h"
#include "store/config_table.h"
#include "store/outbox.h"
#include "store/snapshots.h"

namespace vigil {
namespace {

class Scan : public test::PluginFixture {
 protected:
  void SetUp() override {
    PluginFixture::SetUp();
    ASSERT_TRUE(registry_->load_file(test::test_plugin("test_scanner")).ok());
  }
  ScanOutcome scan(const std::string& manifest, const std::string& type = "testscan") {
    ScanRequest request;
    request.manifests = {Manifest{"testscan", type, "1", manifest}};
    return run_scan(registry_->find("testscan"), request, *store_);
  }
  std::vector<SnapshotRow> latest_rows() {
    auto latest = store_->snapshots().latest("testscan").value();
    return latest ? store_->snapshots().rows(latest->id, std::nullopt).value() : std::vector<SnapshotRow>{};
  }
};

TEST_F(Scan, EmittedRows_LandInOneSnapshot) {
  auto outcome = scan("row hosts h1 first value\nrow hosts h2 second\nrow users root uid 0\n");
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.error();
  EXPECT_EQ(outcome.row_count, 3);
  EXPECT_EQ(outcome.added, 3u);
  EXPECT_EQ(outcome.sequence, std::optional<int64_t>(1));
  auto rows = latest_rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].table, "hosts");
  EXPECT_EQ(nlohmann::json::parse(rows[0].key), nlohmann::json({{"id", "h1"}}));
  EXPECT_EQ(nlohmann::json::parse(rows[0].values), nlohmann::json({{"value", "first value"}}));
}

TEST_F(Scan, SecondScan_DeltaAgainstAcknowledgedBase) {
  auto first = scan("row pkg bash 5.1\nrow pkg zsh 5.8\nrow pkg vim 9.0\n");
  ASSERT_TRUE(store_->outbox().acknowledge(*first.sequence).value());
  auto second = scan("row pkg bash 5.2\nrow pkg vim 9.0\nrow pkg curl 7.88\n");
  ASSERT_TRUE(second.status.ok()) << second.status.error();
  EXPECT_EQ(second.added, 1u);
  EXPECT_EQ(second.removed, 1u);
  EXPECT_EQ(second.changed, 1u);
  auto payload = payload_json(*store_->outbox().oldest().value()).value();
  EXPECT_EQ(payload["sequence"], 2);
  EXPECT_EQ(payload["delta"]["changed"][0]["old"]["value"], "5.1");
  EXPECT_EQ(payload["delta"]["changed"][0]["new"]["value"], "5.2");
  EXPECT_EQ(payload["delta"]["removed"][0]["key"]["id"], "zsh");
  ASSERT_TRUE(store_->outbox().acknowledge(2).value());
  auto unchanged = scan("row pkg curl 7.88\nrow pkg bash 5.2\nrow pkg vim 9.0\n");
  EXPECT_FALSE(unchanged.sequence.has_value());  // same rows in another order: nothing to upload
}

TEST_F(Scan, Command_OutputAndExitCodeReachThePlugin) {
  auto outcome = scan("exec echo hello world\nexec false\n");
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.error();
  auto rows = latest_rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(rows[0].values)["output"], "hello world\n");
  EXPECT_EQ(nlohmann::json::parse(rows[0].values)["exit_code"], "0");
  EXPECT_EQ(nlohmann::json::parse(rows[1].values)["exit_code"], "1");
}

TEST_F(Scan, Command_NotFound_FailsTheScanNamingIt) {
  auto outcome = scan("exec no-such-program-anywhere\n");
  ASSERT_FALSE(outcome.status.ok());
  EXPECT_EQ(outcome.status.code(), ErrorCode::kNotFound);
  EXPECT_NE(outcome.status.error().find("command 'no-such-program-anywhere' not found"), std::string::npos)
      << outcome.status.error();
}

TEST_F(Scan, Command_OverCmdMaxTimeOut_IsKilledAndTheScanToldWhy) {
  ScanRequest request;
  request.manifests = {Manifest{"testscan", "testscan", "1", "exec sleep 30\n"}};
  request.command_timeout = std::chrono::seconds(1);
  auto outcome = run_scan(registry_->find("testscan"), request, *store_);
  ASSERT_FALSE(outcome.status.ok());
  EXPECT_EQ(outcome.status.code(), ErrorCode::kTimedOut);
  EXPECT_NE(outcome.status.error().find("killed after 1 s (CmdMaxTimeOut)"), std::string::npos)
      << outcome.status.error();
}

TEST_F(Scan, Command_CancelledScan_KillsTheCommand) {
  auto plugin = registry_->find("testscan");
  std::thread canceller([&] {
    while (!plugin->scanning()) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    plugin->cancel_scans();
  });
  auto outcome = scan("exec sleep 30\n");
  canceller.join();
  ASSERT_FALSE(outcome.status.ok());
  EXPECT_EQ(outcome.status.code(), ErrorCode::kCancelled);
}

TEST_F(Scan, PluginError_FailsWithItsMessageAndStoresNothing) {
  auto outcome = scan("row t a 1\nfail the manifest is wrong\n");
  ASSERT_FALSE(outcome.status.ok());
  EXPECT_EQ(outcome.status.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(outcome.status.error(), "the manifest is wrong");
  EXPECT_TRUE(latest_rows().empty());
}

TEST_F(Scan, ExceptionInHandler_IsCaughtByTheSdk) {
  auto outcome = scan("throw boom\n");
  ASSERT_FALSE(outcome.status.ok());
  EXPECT_EQ(outcome.status.code(), ErrorCode::kFailed);
  EXPECT_EQ(outcome.status.error(), "boom");
}

TEST_F(Scan, InvalidTableName_IsRefusedWithTheName) {
  auto outcome = scan("badrow\n");
  ASSERT_FALSE(outcome.status.ok());
  EXPECT_EQ(outcome.status.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(outcome.status.error().find("invalid table name 'bad table!'"), std::string::npos)
      << outcome.status.error();
}

TEST_F(Scan, ManyRows_StreamThroughTheStoreAndTheDeltaIsChunked) {
  ScanRequest request;
  request.manifests = {Manifest{"testscan", "testscan", "1", "rows t 20000 100\n"}};
  request.chunk_bytes = 256 << 10;
  auto first = run_scan(registry_->find("testscan"), request, *store_);
  ASSERT_TRUE(first.status.ok()) << first.status.error();
  EXPECT_EQ(first.row_count, 20000);
  EXPECT_EQ(first.added, 20000u);
  EXPECT_GE(first.chunks, 8);  // ~2.4 MB of rows in chunks of 256 KiB
  size_t rows = 0;
  for (int64_t sequence = 1; sequence <= *first.sequence; ++sequence) {
    auto entry = store_->outbox().oldest("testscan").value();
    ASSERT_TRUE(entry);
    EXPECT_LE(entry->payload.size(), request.chunk_bytes);
    rows += payload_json(*entry).value()["delta"]["added"].size();
    ASSERT_TRUE(store_->outbox().acknowledge(entry->sequence).value());
  }
  EXPECT_EQ(rows, 20000u);
  // vigilctl results pages through it rather than building it whole.
  auto page = results_report(*store_, "testscan", std::nullopt, 1000, 0).value();
  EXPECT_EQ(page["rows"].size(), 1000u);
  EXPECT_EQ(page["next_offset"], 1000);
  auto last = results_report(*store_, "testscan", std::nullopt, 1000, 19500).value();
  EXPECT_EQ(last["rows"].size(), 500u);
  EXPECT_EQ(last["rows"][499]["key"]["id"], "000000019999");
  EXPECT_TRUE(last["next_offset"].is_null());
  EXPECT_EQ(results_report(*store_, "testscan", std::nullopt, 1 << 30, 0).value()["rows"].size(),
            static_cast<size_t>(kMaxResultRows));
  // Every 100th row changes: only those travel.
  request.manifests[0].body = "rows t 20000 100 new 100\n";
  auto second = run_scan(registry_->find("testscan"), request, *store_);
  ASSERT_TRUE(second.status.ok()) << second.status.error();
  EXPECT_EQ(second.changed, 200u);
  EXPECT_EQ(second.added + second.removed, 0u);
  EXPECT_EQ(second.chunks, 1);
}

TEST_F(Scan, FailedScan_LeavesThePreviousSnapshotAndNoStagingBehind) {
  auto first = scan("row t a 1\nrow t b 2\n");
  ASSERT_TRUE(first.status.ok());
  auto failed = scan("rows t 5000 10\nfail enough\n");
  ASSERT_FALSE(failed.status.ok());
  EXPECT_EQ(failed.status.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->snapshots().latest("testscan").value()->id, first.snapshot_id);
  EXPECT_EQ(latest_rows().size(), 2u);
  EXPECT_EQ(store_->snapshots().drop_staging().value(), 0);  // the failed scan's rows went at once
}

TEST_F(Scan, DuplicateRowKey_IsRefused) {
  auto outcome = scan("row t same 1\nrow t same 2\n");
  ASSERT_FALSE(outcome.status.ok());
  EXPECT_EQ(outcome.status.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(outcome.status.error().find("duplicate key"), std::string::npos) << outcome.status.error();
}

TEST_F(Scan, UnknownManifestType_IsUnsupported) {
  auto outcome = scan("", "nope");
  ASSERT_FALSE(outcome.status.ok());
  EXPECT_EQ(outcome.status.code(), ErrorCode::kUnsupported);
  EXPECT_NE(outcome.status.error().find("no handler for manifest type 'nope'"), std::string::npos);
}

TEST_F(Scan, PluginState_PersistsBetweenScans) {
  ASSERT_TRUE(scan("state cursor 1\n").status.ok());
  ASSERT_TRUE(scan("state cursor 2\n").status.ok());
  auto rows = latest_rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(rows[0].values)["previous"], "1");
}

TEST_F(Scan, ConfigRead_TakesOnlyTheModuleScopedKey) {
  ASSERT_TRUE(store_->config().set("Greeting", "global").ok());
  ASSERT_TRUE(store_->config().set("Region", "eu").ok());
  ASSERT_TRUE(store_->config().set("testscan.Greeting", "scoped").ok());
  ASSERT_TRUE(scan("config Greeting\nconfig Region\nconfig Missing\n").status.ok());
  auto rows = latest_rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(rows[0].values)["value"], "scoped");
  EXPECT_EQ(nlohmann::json::parse(rows[1].values)["value"], "<unset>");
  EXPECT_EQ(nlohmann::json::parse(rows[2].values)["value"], "<unset>");  // no fallback to the global "Region"
}

TEST_F(Scan, CancelledScan_StopsAtCheckpointAndStoresNothing) {
  auto plugin = registry_->find("testscan");
  std::thread canceller([&] {
    while (!plugin->scanning()) std::this_thread::yield();
    plugin->cancel_scans();
  });
  auto outcome = scan("row t a 1\nspin\n");
  canceller.join();
  ASSERT_FALSE(outcome.status.ok());
  EXPECT_EQ(outcome.status.code(), ErrorCode::kCancelled);
  EXPECT_TRUE(latest_rows().empty());
  // Once cancelled (unloading), no new scan may begin.
  auto cancelled = scan("row t a 1\n");
  ASSERT_FALSE(cancelled.status.ok());
  EXPECT_EQ(cancelled.status.code(), ErrorCode::kCancelled);
}

}  // namespace
}  // namespace vigil
