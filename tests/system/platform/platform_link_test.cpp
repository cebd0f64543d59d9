// End to end over real TLS on 127.0.0.1: a vigil-platform process and vigild
// processes provisioned against it (new, no network, golden image, clone,
// migration, re-provision), activation and manifests from the platform, and
// delta upload through platform restarts and kills.
#include <signal.h>

#include <fstream>

#include "platform_link_fixture.h"
#include "store/config_table.h"
#include "store/manifests.h"
#include "store/outbox.h"
#include "store/state_store.h"
#include "vigil/agent/v1/agent.pb.h"
#include "vigil/crypto/digest.h"
#include "vigil/sqlite/sqlite.h"

namespace vigil::test {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::vigil::agent::v1;

class PlatformLinkTest : public PlatformLinkFixture {};

// vigilctl checkin --wait says how the check-in went: OK, then failed with the reason once the platform is down.
TEST_F(PlatformLinkTest, CheckinWaitReportsTheOutcome) {
  start_agent(agent_root());
  auto unconfigured = vigilctl(agent_root(), {"checkin", "--wait"});
  EXPECT_EQ(unconfigured.exit_code, 1);
  EXPECT_NE(unconfigured.err.find("no platform is configured"), std::string::npos) << unconfigured.err;
  ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0) << daemon_->log();
  auto ok = vigilctl(agent_root(), {"checkin", "--wait"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err << daemon_->log();
  EXPECT_NE(ok.out.find("checked in with " + platform_->url() + " (route direct)"), std::string::npos) << ok.out;
  platform_->kill(SIGKILL);
  auto failed = vigilctl(agent_root(), {"checkin", "--wait", "--timeout", "30"});
  EXPECT_EQ(failed.exit_code, 1) << failed.out;
  EXPECT_NE(failed.err.find("the check-in failed (check-in failing): "), std::string::npos) << failed.err;
}

// Real-time events reach the platform in order; `admin events` lists the latest.
TEST_F(PlatformLinkTest, EventsReachThePlatformInOrder) {
  publish_manifest("row t a 1\nevent alerts e1 first\nevent alerts e2 second\nevent alerts e3 third\n");
  start_agent(agent_root());
  ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0) << daemon_->log();
  std::string id = agent_id_of(agent_root());
  json events;
  ASSERT_TRUE(eventually([&] {
    events = platform_->admin_json({"events", "--agent", id, "--module", "testscan"});
    return events.size() == 3;
  })) << events.dump()
      << daemon_->log();
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(events[i]["module"], "testscan");
    EXPECT_EQ(events[i]["event"]["table"], "alerts");
    EXPECT_EQ(events[i]["event"]["values"]["id"], "e" + std::to_string(i + 1)) << events.dump();
  }
  json latest = platform_->admin_json({"events", "--agent", id, "--limit", "1"});
  ASSERT_EQ(latest.size(), 1u);
  EXPECT_EQ(latest[0]["event"]["values"]["value"], "third");
  EXPECT_TRUE(platform_->admin_json({"events", "--agent", id, "--module", "other"}).empty());
  EXPECT_NE(platform_->admin({"events", "--agent", id, "--limit", "0"}).exit_code, 0);
}

TEST_F(PlatformLinkTest, ProvisionsGetsActivatedAndUploadsDeltas) {
  start_agent(agent_root());
  auto provisioned = provision(agent_root(), *platform_);
  ASSERT_EQ(provisioned.exit_code, 0) << provisioned.err << daemon_->log();
  std::string id = agent_id_of(agent_root());
  ASSERT_FALSE(id.empty());
  EXPECT_NE(provisioned.out.find(id), std::string::npos);
  EXPECT_EQ(read_text(agent_root() / "etc/vigil/hostid"), id + "\n");
  ASSERT_FALSE(agent_record(id).is_null());

  // Activated with a manifest: the first interval scan runs and its delta reaches the platform.
  ASSERT_TRUE(eventually([&] { return platform_results(id)["testscan"]["t"].size() == 2; })) << daemon_->log();
  EXPECT_EQ(platform_results(id), agent_rows(agent_root()));

  // A new manifest version is downloaded; a scan the platform orders ships its delta (a row removed).
  publish_manifest("row t a one\n");
  ASSERT_EQ(platform_->admin({"demand", "--agent", id, "--module", "testscan"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return platform_results(id)["testscan"]["t"].size() == 1; })) << daemon_->log();
  EXPECT_EQ(platform_results(id), agent_rows(agent_root()));
  json record = agent_record(id);
  EXPECT_EQ(record["modules"][0]["module"], "testscan");
  EXPECT_GT(record["last_checkin"].get<int64_t>(), 0);
  EXPECT_NE(daemon_->log().find("source=platform"), std::string::npos);
  // Many check-ins, two manifest versions: each downloaded exactly once.
  std::string log = daemon_->log();
  size_t downloads = 0;
  for (size_t at = log.find("manifest testscan/testscan version"); at != std::string::npos;
       at = log.find("manifest testscan/testscan version", at + 1)) {
    ++downloads;
  }
  EXPECT_EQ(downloads, 2u) << log;
}

TEST_F(PlatformLinkTest, ActivationAndDeactivationApplyLive) {
  start_agent(agent_root());
  ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0) << daemon_->log();
  auto keys = [&] { return vigilctl(agent_root(), {"keys", "list"}).out; };
  auto state = [&] {
    json status = status_of(agent_root());
    for (const auto& module : status["modules"]) return module["state"].get<std::string>();
    return std::string();
  };
  ASSERT_TRUE(eventually([&] { return keys().find("ScanOnDemand/TestScan") != std::string::npos; }));

  ASSERT_EQ(platform_->admin({"deactivate", "--key", platform_->activation_id(), "--module", "testscan"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return state() == "disabled"; })) << daemon_->log();
  EXPECT_EQ(keys().find("ScanOnDemand/TestScan"), std::string::npos);
  auto refused = vigilctl(agent_root(), {"demand", "--type", "testscan"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("not activated"), std::string::npos) << refused.err;
  // The desired state no longer lists its manifest: the agent forgets it (a default would apply again).
  EXPECT_TRUE(eventually([&] {
    std::string log = daemon_->log();
    size_t removed = log.find("removed: the platform no longer gives it");
    return removed != std::string::npos &&
           log.rfind("manifest testscan/testscan version", removed) != std::string::npos;
  })) << daemon_->log();

  ASSERT_EQ(platform_->admin({"activate", "--key", platform_->activation_id(), "--module", "testscan"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return state() != "disabled" && !state().empty(); })) << daemon_->log();
  EXPECT_NE(keys().find("ScanOnDemand/TestScan"), std::string::npos);
  EXPECT_EQ(vigilctl(agent_root(), {"demand", "--type", "testscan", "--wait"}).exit_code, 0);
  json status = status_of(agent_root());
  EXPECT_EQ(status["modules"][0]["manifest_source"], "platform") << status.dump();
}

TEST_F(PlatformLinkTest, NoNetworkAtProvisioningRetriesWithoutDuplicates) {
  platform_->kill(SIGKILL);
  start_agent(agent_root());
  auto attempt = provision(agent_root(), *platform_, {"--wait", "2"});
  EXPECT_NE(attempt.exit_code, 0);
  EXPECT_NE(attempt.err.find("keeps trying"), std::string::npos) << attempt.err;
  EXPECT_TRUE(agent_id_of(agent_root()).empty());

  ASSERT_TRUE(platform_->start()) << platform_->log();
  ASSERT_TRUE(eventually([&] { return !agent_id_of(agent_root()).empty(); })) << daemon_->log();
  EXPECT_EQ(agents().size(), 1u);
}

TEST_F(PlatformLinkTest, GoldenImageProvisionsOnlyOnItsClones) {
  fs::create_directories(agent_root() / "etc");
  std::ofstream(agent_root() / "etc/machine-id") << "0123456789abcdef0123456789abcdef\n";
  auto configured = provision(agent_root(), *platform_, {"GoldenImage=true"});
  ASSERT_EQ(configured.exit_code, 0) << configured.err;
  EXPECT_NE(configured.out.find("golden image"), std::string::npos);

  start_agent(agent_root());  // on the image itself: no identity is made
  ASSERT_TRUE(eventually([&] { return status_of(agent_root())["platform"]["state"] == "golden image"; }));
  EXPECT_TRUE(agent_id_of(agent_root()).empty());
  EXPECT_TRUE(agents().empty());
  daemon_.reset();

  // Two clones of the image: each makes its own identity on first start.
  std::vector<std::string> ids;
  for (const char* machine : {"11111111111111111111111111111111", "22222222222222222222222222222222"}) {
    fs::path clone = dir_.path() / (std::string("clone-") + machine[0]);
    fs::copy(agent_root(), clone, fs::copy_options::recursive);
    std::ofstream(clone / "etc/machine-id") << machine << "\n";
    start_agent(clone);
    ASSERT_TRUE(eventually([&] { return !agent_id_of(clone).empty(); })) << daemon_->log();
    ids.push_back(agent_id_of(clone));
    daemon_.reset();
  }
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_EQ(agents().size(), 2u);
}

TEST_F(PlatformLinkTest, CloneDetectsItselfAndReprovisionsNamingTheOriginal) {
  fs::create_directories(agent_root() / "etc");
  std::ofstream(agent_root() / "etc/machine-id") << "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
  start_agent(agent_root());
  ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0) << daemon_->log();
  std::string original = agent_id_of(agent_root());
  daemon_.reset();

  fs::path clone = dir_.path() / "clone";
  fs::copy(agent_root(), clone, fs::copy_options::recursive);
  std::ofstream(clone / "etc/machine-id") << "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n";
  start_agent(clone);
  ASSERT_TRUE(eventually([&] {
    std::string id = agent_id_of(clone);
    return !id.empty() && id != original;
  })) << daemon_->log();
  json record = agent_record(agent_id_of(clone));
  EXPECT_EQ(record["reason"], "cloned");
  EXPECT_EQ(record["previous_agent_id"], original);
  EXPECT_EQ(agent_record(original)["state"], "active");  // the original machine keeps its id
  EXPECT_EQ(read_text(clone / "etc/vigil/hostid"), agent_id_of(clone) + "\n");
}

TEST_F(PlatformLinkTest, MigratesToAnotherPlatformAndSubscription) {
  start_agent(agent_root());
  ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0) << daemon_->log();
  std::string first = agent_id_of(agent_root());

  PlatformProcess second(dir_.path() / "second-platform");
  ASSERT_TRUE(second.serving()) << second.log();
  auto moved = provision(agent_root(), second);
  ASSERT_EQ(moved.exit_code, 0) << moved.err << daemon_->log();
  std::string now = agent_id_of(agent_root());
  EXPECT_NE(now, first);
  json list = second.admin_json({"agents"});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["agent_id"], now);
  EXPECT_EQ(list[0]["reason"], "migrated");
  EXPECT_EQ(list[0]["previous_agent_id"], first);
  EXPECT_EQ(status_of(agent_root())["platform"]["server"], second.url());
}

TEST_F(PlatformLinkTest, PlatformOrderedReprovisionGivesANewIdentity) {
  start_agent(agent_root());
  ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0) << daemon_->log();
  std::string first = agent_id_of(agent_root());
  ASSERT_EQ(platform_->admin({"reprovision", "--agent", first}).exit_code, 0);
  ASSERT_TRUE(eventually([&] {
    std::string id = agent_id_of(agent_root());
    return !id.empty() && id != first;
  })) << daemon_->log();
  EXPECT_EQ(agent_record(first)["state"], "superseded");
  // Everything is uploaded again under the new identity.
  std::string now = agent_id_of(agent_root());
  ASSERT_TRUE(eventually([&] { return platform_results(now)["testscan"]["t"].size() == 2; })) << daemon_->log();
}

TEST_F(PlatformLinkTest, ARotatedTokenIsTakenAtTheNextCheckinAndNeverWrittenOutsideTheStore) {
  set_config(agent_root(), "LogLevel", "5");  // trace: not even there
  start_agent(agent_root());
  ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0) << daemon_->log();
  std::string id = agent_id_of(agent_root());
  auto token = [&] {
    auto store = StateStore::open(agent_root() / "var/lib/vigil/config.db");
    auto value = store.value()->config().get("AgentToken");
    return value.ok() && value.value() ? *value.value() : std::string();
  };
  const std::string original = token();
  ASSERT_FALSE(original.empty());
  ASSERT_EQ(platform_->admin({"rotate-token", "--agent", id}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return token() != original; })) << daemon_->log();
  const std::string rotated = token();
  // The platform took the new token over (its next check-in) and still serves the agent.
  ASSERT_TRUE(eventually([&] { return platform_->log().find("token rotated") != std::string::npos; }))
      << platform_->log();
  int64_t seen = agent_record(id)["last_checkin"];
  ASSERT_TRUE(eventually([&] { return agent_record(id)["last_checkin"].get<int64_t>() > seen; }, 10));
  EXPECT_EQ(status_of(agent_root())["platform"]["state"], "connected");
  EXPECT_EQ(token(), rotated);
  daemon_.reset();
  for (const auto& entry : fs::recursive_directory_iterator(agent_root())) {
    if (!entry.is_regular_file() || entry.path().filename().string().rfind("config.db", 0) == 0) continue;
    std::string text = read_text(entry.path());
    EXPECT_EQ(text.find(original), std::string::npos) << entry.path();
    EXPECT_EQ(text.find(rotated), std::string::npos) << entry.path();
  }
  EXPECT_NE(read_text(agent_root() / "var/log/vigil/vigild.log").find("agent token rotated"), std::string::npos);
}

TEST_F(PlatformLinkTest, PlatformKilledDuringUploadsLosesAndDoublesNothing) {
  publish_manifest("exec /bin/date +%s%N\nrow t a one\n");
  start_agent(agent_root());
  ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0) << daemon_->log();
  std::string id = agent_id_of(agent_root());
  ASSERT_TRUE(eventually([&] { return !platform_results(id).empty(); })) << daemon_->log();
  for (int round = 0; round < 4; ++round) {
    // Each scan changes the exec row; the platform dies right as the delta leaves.
    auto scanned = vigilctl(agent_root(), {"demand", "--type", "testscan", "--wait"});
    ASSERT_EQ(scanned.exit_code, 0) << scanned.err;
    platform_->kill(SIGKILL);
    ASSERT_TRUE(platform_->start()) << platform_->log();
  }
  ASSERT_TRUE(eventually([&] { return status_of(agent_root())["outbox"]["depth"] == 0; }, 30)) << daemon_->log();
  EXPECT_EQ(platform_results(id), agent_rows(agent_root()));
  json record = agent_record(id);
  EXPECT_EQ(record["last_sequence"], status_of(agent_root())["outbox"]["last_sequence"]);
  int64_t uploads = platform_->admin_json({"results", "--agent", id})["uploads"]["testscan"]["uploads"];
  EXPECT_EQ(uploads, record["last_sequence"].get<int64_t>());  // every sequence applied exactly once
}

// 300,000 rows become a delta of many chunks; the platform and the agent are
// killed while they flow. The platform ends with every row, each chunk
// applied once, and never showed part of the snapshot as current.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// A sanitizer slows the scan tenfold: a tenth of the rows, in smaller chunks, takes the same path.
constexpr int64_t kDeltaRows = 30000;
constexpr const char* kDeltaChunkBytes = "32768";
#else
constexpr int64_t kDeltaRows = 300000;
constexpr const char* kDeltaChunkBytes = "262144";
#endif

TEST_F(PlatformLinkTest, A300kRowDeltaArrivesWholeInChunksAppliedOnceThroughKills) {
  publish_manifest("rows t " + std::to_string(kDeltaRows) + " 16\n");
  set_config(agent_root(), "OutboxChunkBytes", kDeltaChunkBytes);
  set_config(agent_root(), "WorkerMemoryLimit", "0");  // a sanitizer's shadow memory would count against it
  start_agent(agent_root());
  ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0) << daemon_->log();
  std::string id = agent_id_of(agent_root());
  auto summary = [&] { return platform_->admin_json({"results", "--agent", id, "--summary"}); };
  auto chunks_arrived = [&] {
    json testscan = summary()["snapshots"]["testscan"];
    return testscan.contains("arriving") ? testscan["arriving"]["chunks"].get<int64_t>() : int64_t{0};
  };
  auto complete = [&] { return summary()["snapshots"]["testscan"].contains("complete"); };
  ASSERT_TRUE(eventually([&] { return chunks_arrived() >= 3; }, 120)) << daemon_->log();
  EXPECT_FALSE(summary()["snapshots"]["testscan"].contains("rows"));  // nothing current before the last chunk
  platform_->kill(SIGKILL);
  ASSERT_TRUE(platform_->start()) << platform_->log();
  int64_t before = chunks_arrived();
  // The agent dies mid-delta too (unless the last chunks went through meanwhile).
  ASSERT_TRUE(eventually([&] { return chunks_arrived() > before + 2 || complete(); }, 60)) << daemon_->log();
  ::kill(daemon_->pid(), SIGKILL);
  daemon_->stop();
  start_agent(agent_root());

  ASSERT_TRUE(eventually(complete, 120)) << daemon_->log();
  json result = summary();
  json snapshot = result["snapshots"]["testscan"];
  EXPECT_EQ(snapshot["complete"]["row_count"], kDeltaRows);
  EXPECT_EQ(snapshot["rows"], kDeltaRows);
  EXPECT_GE(snapshot["complete"]["chunks"], 20);
  EXPECT_EQ(result["uploads"]["testscan"]["uploads"], snapshot["complete"]["chunks"]);  // each applied once
  EXPECT_EQ(result["uploads"]["testscan"]["rows_changed"], kDeltaRows);
  ASSERT_TRUE(eventually([&] { return status_of(agent_root())["outbox"]["depth"] == 0; }, 30)) << daemon_->log();
}

// An entry the platform refuses for good (here: a chunk out of order, 422) is
// tried a bounded number of times, then set aside and shown; the module's
// later entries and other modules' deltas are delivered.
TEST_F(PlatformLinkTest, APoisonEntryIsSetAsideAndTheNextDeltaArrives) {
  start_agent(agent_root());
  ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0) << daemon_->log();
  std::string id = agent_id_of(agent_root());
  ASSERT_TRUE(eventually([&] { return platform_results(id)["testscan"]["t"].size() == 2; })) << daemon_->log();
  daemon_->stop();
  {
    // A chunk the platform cannot place, queued before a new scan's delta.
    auto store = std::move(StateStore::open(agent_root() / "var/lib/vigil/config.db").value());
    v1::DeltaChunk orphan;
    orphan.set_module("testscan");
    orphan.set_snapshot_id(999);
    orphan.set_chunk_index(5);
    ASSERT_TRUE(store->outbox().append("testscan", "delta", orphan.SerializeAsString()).ok());
  }
  publish_manifest("row t a one\nrow t b two\nrow t c three\n");
  start_agent(agent_root());
  auto agent_store = std::move(StateStore::open(agent_root() / "var/lib/vigil/config.db").value());
  ASSERT_TRUE(eventually([&] {
    auto manifest = agent_store->manifests().get("testscan", "testscan");
    return manifest.ok() && manifest.value() && manifest.value()->body.find("three") != std::string::npos;
  })) << daemon_->log();
  // Waits behind the pending (orphan) delta, then runs once it is set aside.
  ASSERT_EQ(vigilctl(agent_root(), {"demand", "--type", "testscan"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return platform_results(id)["testscan"]["t"].size() == 3; }, 60)) << daemon_->log();
  json outbox = status_of(agent_root())["outbox"];
  EXPECT_EQ(outbox["set_aside"], 1);
  ASSERT_EQ(outbox["recently_set_aside"].size(), 1u);
  EXPECT_NE(outbox["recently_set_aside"][0]["reason"].get<std::string>().find("422"), std::string::npos) << outbox;
  EXPECT_NE(daemon_->log().find("set aside"), std::string::npos);
  auto shown = vigilctl(agent_root(), {"status"});
  EXPECT_NE(shown.out.find("set aside"), std::string::npos) << shown.out;
}

TEST_F(PlatformLinkTest, RefusesACertificateForAnotherHost) {
  PlatformProcess elsewhere(dir_.path() / "elsewhere", {"--name", "DNS:elsewhere.invalid"});
  ASSERT_TRUE(elsewhere.serving());
  start_agent(agent_root());
  auto attempt = provision(agent_root(), elsewhere, {"--wait", "2"});
  EXPECT_NE(attempt.exit_code, 0);
  EXPECT_NE(attempt.err.find("certificate verify failed"), std::string::npos) << attempt.err;
  EXPECT_TRUE(elsewhere.admin_json({"agents"}).empty());
}

TEST_F(PlatformLinkTest, RefusesACertificateFromAnUnknownCa) {
  PlatformProcess other(dir_.path() / "other");
  start_agent(agent_root());
  // The right host, but the CA bundle is another platform's.
  auto attempt =
      vigilctl(agent_root(),
               {"provision", "CustomerId=" + platform_->customer_id(), "ActivationId=" + platform_->activation_id(),
                "WebServiceUri=" + platform_->url(), "CaBundle=" + other.ca_bundle(), "--wait", "2"});
  EXPECT_NE(attempt.exit_code, 0);
  EXPECT_NE(attempt.err.find("certificate verify failed"), std::string::npos) << attempt.err;
  EXPECT_TRUE(agents().empty());
}

TEST_F(PlatformLinkTest, ProvisionRefusesBadSettingsAndWritesNothing) {
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"provision", "CustomerId=nope", "ActivationId=" + platform_->activation_id(),
                                 "WebServiceUri=" + platform_->url()},
        std::vector<std::string>{"provision", "CustomerId=" + platform_->customer_id(),
                                 "ActivationId=" + platform_->activation_id(), "WebServiceUri=http://127.0.0.1:1"},
        std::vector<std::string>{"provision", "CustomerId=" + platform_->customer_id(),
                                 "ActivationId=" + platform_->activation_id(), "WebServiceUri=" + platform_->url(),
                                 "Colour=blue"}}) {
    auto result = vigilctl(agent_root(), bad);
    EXPECT_NE(result.exit_code, 0);
    EXPECT_FALSE(result.err.empty());
  }
  auto store = StateStore::open(agent_root() / "var/lib/vigil/config.db");
  ASSERT_TRUE(store.ok());
  EXPECT_FALSE(store.value()->config().get("CustomerId").value());
  EXPECT_FALSE(store.value()->config().get("ServerUri").value());
}

}  // namespace
}  // namespace vigil::test

namespace vigil::test {
namespace {

TEST_F(PlatformLinkTest, UninstallFromThePlatformStopsTheAgentUntilProvisionedAgain) {
  start_agent(agent_root());
  ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0) << daemon_->log();
  std::string id = agent_id_of(agent_root());
  ASSERT_EQ(platform_->admin({"uninstall", "--agent", id}).exit_code, 0);
  // vigild stops by itself and does not come back; its last check-in told the platform.
  ASSERT_TRUE(eventually([&] { return status_of(agent_root())["daemon"]["running"] == false; })) << daemon_->log();
  EXPECT_EQ(agent_record(id)["state"], "uninstalled") << platform_->log();
  daemon_.reset();
  auto again = run({VIGILD_PATH, "--root", agent_root().string(), "--log-stderr"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE((again.out + again.err).find("uninstalled by its platform"), std::string::npos) << again.out << again.err;

  // Provisioning again brings it back, with the same identity kept in the store.
  ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0);
  start_agent(agent_root());
  ASSERT_TRUE(eventually([&] { return status_of(agent_root())["platform"]["state"] == "connected"; }))
      << daemon_->log();
  EXPECT_EQ(agent_id_of(agent_root()), id);
  EXPECT_EQ(agent_record(id)["state"], "active");
}

TEST_F(PlatformLinkTest, VigilctlUninstallTellsThePlatformAndAReinstalledAgentIsActiveAgain) {
  start_agent(agent_root());
  ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0) << daemon_->log();
  std::string id = agent_id_of(agent_root());
  ASSERT_TRUE(eventually([&] { return status_of(agent_root())["platform"]["state"] == "connected"; }))
      << daemon_->log();

  auto uninstalled = vigilctl(agent_root(), {"uninstall"});
  ASSERT_EQ(uninstalled.exit_code, 0) << uninstalled.err << daemon_->log();
  EXPECT_NE(uninstalled.out.find("the platform is told that this agent is uninstalled"), std::string::npos)
      << uninstalled.out;
  EXPECT_EQ(agent_record(id)["state"], "uninstalled") << platform_->log();
  EXPECT_FALSE(status_of(agent_root())["daemon"]["running"].get<bool>());
  daemon_.reset();

  // Not purged: started again, it is the same agent and active again.
  start_agent(agent_root());
  ASSERT_TRUE(eventually([&] { return agent_record(id)["state"] == "active"; })) << daemon_->log();
  EXPECT_EQ(agent_id_of(agent_root()), id);

  // Without its platform the uninstall still happens, and says the platform was not told.
  platform_.reset();
  auto unreachable = vigilctl(agent_root(), {"uninstall"});
  ASSERT_EQ(unreachable.exit_code, 0) << unreachable.err;
  EXPECT_NE(unreachable.out.find("the platform is not told: "), std::string::npos) << unreachable.out;
  EXPECT_FALSE(status_of(agent_root())["daemon"]["running"].get<bool>());
}

TEST_F(PlatformLinkTest, ProfileChangesApplyWithoutRestart) {
  start_agent(agent_root());
  ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0) << daemon_->log();
  auto profile = dir_.path() / "slow.json";
  std::ofstream(profile)
      << R"({"checkin_interval": 1, "scan_interval": {"testscan": 7200}, "cpu_limit": {"testscan": 30},
                              "log_level": 4})";
  ASSERT_EQ(platform_->admin({"profile-set", "--name", "fast", "--file", profile.string()}).exit_code, 0);
  auto config = [&](const char* key) {
    auto store = StateStore::open(agent_root() / "var/lib/vigil/config.db");
    auto value = store.value()->config().get(key);
    return value.ok() && value.value() ? *value.value() : std::string();
  };
  ASSERT_TRUE(eventually([&] { return config("testscan.ScanInterval") == "7200"; })) << daemon_->log();
  EXPECT_EQ(config("testscan.CpuLimit"), "30");
  EXPECT_EQ(config("LogLevel"), "4");
  // The interval timer follows the new interval: next scan = last scan + 7200 s.
  ASSERT_TRUE(eventually([&] {
    json status = status_of(agent_root());
    for (const auto& module : status["modules"]) {
      if (module["next_interval_scan"].is_number() && module["last_snapshot"].is_object()) {
        int64_t next = module["next_interval_scan"];
        int64_t last = module["last_snapshot"]["finished_at"];
        return next - last == 7200;
      }
    }
    return false;
  })) << status_of(agent_root()).dump(2);

  // The values in force are shown: by vigilctl plugins, and on the platform.
  auto testscan_plugin = [&] {
    json plugins = json::parse(vigilctl(agent_root(), {"plugins", "--json"}).out);
    for (const auto& plugin : plugins) {
      if (plugin.value("module", "") == "testscan") return plugin;
    }
    return json();
  };
  EXPECT_EQ(testscan_plugin()["cpu_limit"], 30) << testscan_plugin().dump();
  EXPECT_EQ(testscan_plugin()["scan_interval"], 7200);
  std::string id = agent_id_of(agent_root());
  ASSERT_TRUE(eventually([&] {
    json record = agent_record(id);
    return record.is_object() &&
           record["modules"].dump().find(R"("settings":{"cpu_limit":30,"scan_interval":7200})") != std::string::npos;
  })) << agent_record(id).dump();

  // A profile without them: the defaults again, the log level too.
  std::ofstream(profile) << R"({"checkin_interval": 1})";
  ASSERT_EQ(platform_->admin({"profile-set", "--name", "fast", "--file", profile.string()}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return config("testscan.CpuLimit").empty() && config("LogLevel").empty(); }))
      << daemon_->log();
  json plugin = testscan_plugin();
  EXPECT_EQ(plugin["cpu_limit"], plugin["default_cpu_limit"]) << plugin.dump();
  EXPECT_EQ(plugin["scan_interval"], 14400) << plugin.dump();

  std::ofstream(profile) << R"({"log_level": 5, "checkin_interval": 600})";
  auto bad = dir_.path() / "bad.json";
  std::ofstream(bad) << R"({"checkin_interval": "often"})";
  auto refused = platform_->admin({"profile-set", "--name", "fast", "--file", bad.string()});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("checkin_interval"), std::string::npos) << refused.err;
  // What an agent would ignore is refused here, naming the field and the value.
  for (auto [text, expected] : std::vector<std::pair<std::string, std::string>>{
           {R"({"blackout_windows": "25:00-26:00"})", "profile field 'blackout_windows': '25:00-26:00' is not"},
           {R"({"upgrade_window": "02:00"})", "profile field 'upgrade_window': '02:00' is not"},
           {R"({"cpu_limit": {"nosuch": 20}})", "profile field 'cpu_limit': unknown module 'nosuch' (known: "},
           {R"({"scan_interval": {"invv": 3600}})", "profile field 'scan_interval': unknown module 'invv'"}}) {
    std::ofstream(bad) << text;
    auto refusal = platform_->admin({"profile-set", "--name", "fast", "--file", bad.string()});
    EXPECT_EQ(refusal.exit_code, 1) << text;
    EXPECT_NE(refusal.err.find(expected), std::string::npos) << text << ": " << refusal.err;
  }
  // The profile in force is still the last good one.
  EXPECT_EQ(config("testscan.CpuLimit"), "");
}

// Plugin update trust (docs/design/self-patch.md): the agent pins the platform's
// root at provisioning, follows what the platform signs, and refuses replayed
// and forged metadata while its modules keep scanning.
TEST_F(PlatformLinkTest, UpdateMetadataIsPinnedFollowedAndForgeriesRefused) {
  start_agent(agent_root());
  ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0) << daemon_->log();
  auto updates = [&] { return status_of(agent_root())["platform"]["updates"]; };
  ASSERT_TRUE(eventually([&] { return updates().value("state", "") == "current"; }))
      << updates().dump(2) << daemon_->log();
  EXPECT_EQ(updates()["root_version"], 1);
  EXPECT_EQ(updates()["timestamp_version"], 1);
  EXPECT_NE(vigilctl(agent_root(), {"status"}).out.find("updates:  current: root v1, targets v1, timestamp v1"),
            std::string::npos);

  // A published plugin and rotated keys arrive with the check-ins.
  auto published = platform_->admin(
      {"package-set", "--module", "testscan", "--file", plugin("test_scanner").string(), "--version", "2.0"});
  ASSERT_EQ(published.exit_code, 0) << published.err;
  ASSERT_TRUE(eventually([&] { return updates().value("targets_version", 0) == 2; })) << updates().dump(2);
  ASSERT_EQ(platform_->admin({"signing-keys", "rotate", "--role", "root"}).exit_code, 0);
  ASSERT_EQ(platform_->admin({"signing-keys", "rotate", "--role", "timestamp"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return updates().value("root_version", 0) == 3; })) << updates().dump(2);
  // One more publication, so that two timestamps carry the new timestamp key.
  ASSERT_EQ(platform_
                ->admin({"package-set", "--module", "testscan", "--file", plugin("test_scanner").string(), "--version",
                         "2.1"})
                .exit_code,
            0);
  ASSERT_TRUE(eventually([&] { return updates().value("targets_version", 0) == 3; })) << updates().dump(2);
  const int64_t trusted = updates()["timestamp_version"];

  sqlite::Database platform_db((platform_->data() / "platform.db").string());
  auto announce = [&] { platform_db.exec("UPDATE meta SET value = value + 1 WHERE name = 'generation'"); };
  // The platform serves an older timestamp again (a replay): refused as a rollback.
  sqlite::Statement(platform_db, "DELETE FROM update_metadata WHERE role = 'timestamp' AND version = ?")
      .bind(1, trusted)
      .run();
  announce();
  ASSERT_TRUE(eventually([&] { return updates().value("state", "") == "refused"; })) << updates().dump(2);
  EXPECT_EQ(updates()["refusal"], "rollback");
  EXPECT_NE(updates()["last_error"].get<std::string>().find("timestamp v" + std::to_string(trusted - 1) +
                                                            " refused: older than trusted v" + std::to_string(trusted)),
            std::string::npos)
      << updates().dump(2);
  EXPECT_EQ(updates()["timestamp_version"], trusted);

  // A timestamp the platform did not sign (an old one with its version raised): refused on its signature.
  sqlite::Statement old(platform_db,
                        "SELECT bytes, expires FROM update_metadata WHERE role = 'timestamp' AND version = ?");
  old.bind(1, trusted - 1);
  ASSERT_TRUE(old.step());
  json forged = json::parse(old.text(0));
  forged["signed"]["version"] = trusted + 1;
  sqlite::Statement(platform_db, "INSERT INTO update_metadata (role, version, expires, bytes) VALUES (?, ?, ?, ?)")
      .bind(1, "timestamp")
      .bind(2, trusted + 1)
      .bind(3, old.integer(1))
      .bind_blob(4, forged.dump())
      .run();
  announce();
  ASSERT_TRUE(eventually([&] { return updates().value("refusal", "") == "signature"; })) << updates().dump(2);
  EXPECT_NE(updates()["last_error"].get<std::string>().find("timestamp v" + std::to_string(trusted + 1) +
                                                            " refused: signed by 0 of 1 required keys"),
            std::string::npos)
      << updates().dump(2);
  EXPECT_NE(vigilctl(agent_root(), {"status"}).out.find("the plugins installed keep running"), std::string::npos);

  // Refused metadata touches nothing that runs: the module scans as before.
  auto scanned = vigilctl(agent_root(), {"demand", "--type", "testscan", "--wait"});
  EXPECT_EQ(scanned.exit_code, 0) << scanned.out << scanned.err;
}

// A snapshot other than the one the timestamp describes (mix and match):
// refused naming both lengths; the targets trusted before stay.
TEST_F(PlatformLinkTest, ASnapshotTheTimestampDoesNotDescribeIsRefused) {
  start_agent(agent_root());
  ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0) << daemon_->log();
  auto updates = [&] { return status_of(agent_root())["platform"]["updates"]; };
  ASSERT_TRUE(eventually([&] { return updates().value("state", "") == "current"; })) << updates().dump(2);
  daemon_.reset();
  ASSERT_EQ(
      platform_
          ->admin({"package-set", "--module", "other", "--file", plugin("test_scanner").string(), "--version", "1.0"})
          .exit_code,
      0);
  {
    // Signed and valid on its own, but not the bytes timestamp v2 pins.
    sqlite::Database platform_db((platform_->data() / "platform.db").string());
    platform_db.exec(
        "UPDATE update_metadata SET bytes = CAST(bytes || ' ' AS BLOB) WHERE role = 'snapshot' AND version = 2");
  }
  start_agent(agent_root());
  ASSERT_TRUE(eventually([&] { return updates().value("refusal", "") == "mix-and-match"; })) << updates().dump(2);
  std::string error = updates()["last_error"];
  EXPECT_EQ(error.rfind("snapshot v2 refused: length ", 0), 0u) << error;
  EXPECT_NE(error.find(" in timestamp v2 (mix-and-match)"), std::string::npos) << error;
  EXPECT_EQ(updates()["timestamp_version"], 2);
  EXPECT_EQ(updates()["snapshot_version"], 1);
  EXPECT_EQ(updates()["targets_version"], 1);
}

// The trusted metadata's expiry with the agent's clock moved on (libfaketime):
// a warning ahead of it, then "expired", the installed plugins kept scanning.
TEST_F(PlatformLinkTest, ExpiringAndExpiredUpdateMetadataIsReportedWhileModulesKeepScanning) {
  const char* faketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
  if (!fs::exists(faketime)) GTEST_SKIP() << "libfaketime is not installed (Debian package faketime)";
  start_agent(agent_root());
  ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0) << daemon_->log();
  auto updates = [&] { return status_of(agent_root())["platform"]["updates"]; };
  ASSERT_TRUE(eventually([&] { return updates().value("state", "") == "current"; })) << updates().dump(2);
  daemon_.reset();
  // The timestamp lives 7 days and the warning starts 3 days ahead.
  std::string summary;
  for (auto [offset, state] : {std::pair{"+5d", "expiring"}, std::pair{"+9d", "expired"}}) {
    ::setenv("LD_PRELOAD", faketime, 1);
    ::setenv("FAKETIME", offset, 1);
    ::setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1);
    start_agent(agent_root());
    ::unsetenv("LD_PRELOAD");
    ::unsetenv("FAKETIME");
    ::unsetenv("FAKETIME_DONT_FAKE_MONOTONIC");
    ASSERT_TRUE(eventually([&] { return updates().value("state", "") == state; }))
        << offset << ": " << updates().dump(2) << daemon_->log();
    auto scanned = vigilctl(agent_root(), {"demand", "--type", "testscan", "--wait"});
    EXPECT_EQ(scanned.exit_code, 0) << offset << ": " << scanned.out << scanned.err;
    if (std::string(state) == "expired") summary = updates().value("summary", "");
    daemon_.reset();
  }
  EXPECT_NE(summary.find("expired 2 days ago: no new plugins until the platform signs again; the plugins installed "
                         "keep running"),
            std::string::npos)
      << summary;
}

// A published plugin file reaches the agent's inactive slot verified, once;
// one whose bytes differ from what targets signed never becomes a slot file.
TEST_F(PlatformLinkTest, PluginFilesAreStagedVerifiedAndTamperedOnesRefused) {
  start_agent(agent_root());
  ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0) << daemon_->log();
  auto updates = [&] { return status_of(agent_root())["platform"]["updates"]; };
  ASSERT_TRUE(eventually([&] { return updates().value("state", "") == "current"; })) << updates().dump(2);
  auto published = platform_->admin_json(
      {"package-set", "--module", "testscan", "--file", plugin("test_scanner_v2").string(), "--version", "0.2.0"});
  ASSERT_TRUE(eventually([&] {
    json plugins = updates()["plugins"];
    return plugins.size() == 1 && plugins[0].value("state", "") == "staged";
  })) << updates().dump(2)
      << daemon_->log();
  json staged = updates()["plugins"][0];
  EXPECT_EQ(staged["module"], "testscan");
  EXPECT_EQ(staged["active"], "factory");
  EXPECT_EQ(staged["a"]["version"], "0.2.0");
  EXPECT_EQ(staged["a"]["sha256"], published["sha256"]);
  fs::path slot_dir = agent_root() / "var/lib/vigil/plugin-slots/testscan";
  EXPECT_EQ(crypto::hash_file(slot_dir / "a.so", "sha256").value(), published["sha256"]);
  EXPECT_EQ(fs::status(slot_dir).permissions(), fs::perms::owner_all);
  EXPECT_NE(vigilctl(agent_root(), {"status"}).out.find("testscan: runs factory; slot a holds 0.2.0 (staged)"),
            std::string::npos);

  // A file whose bytes the platform's database no longer matches: refused, naming both hashes.
  // (The agent is down meanwhile, so it cannot fetch the file before it is spoiled.)
  daemon_.reset();
  auto second = platform_->admin_json(
      {"package-set", "--module", "testscan", "--file", plugin("test_scanner").string(), "--version", "0.3.0"});
  {
    sqlite::Database platform_db((platform_->data() / "platform.db").string());
    sqlite::Statement(platform_db,
                      "UPDATE plugin_targets SET library = CAST(substr(library, 1, length(library) - 1) || CASE WHEN "
                      "substr(library, -1) = X'AB' THEN X'AC' ELSE X'AB' END AS BLOB) WHERE version = '0.3.0'")
        .run();
  }
  // A partial download of a file the platform no longer lists (left by a version it withdrew): swept.
  fs::path stray = slot_dir / "b.so.00000000deadbeef.partial";
  std::ofstream(stray) << "half a plugin";
  start_agent(agent_root());
  ASSERT_TRUE(eventually([&] { return updates().contains("staging_errors"); })) << updates().dump(2);
  EXPECT_TRUE(eventually([&] { return !fs::exists(stray); })) << daemon_->log();
  std::string refusal = updates()["staging_errors"]["testscan"];
  EXPECT_NE(refusal.find("plugin testscan 0.3.0 refused: sha256 "), std::string::npos) << refusal;
  EXPECT_NE(refusal.find(", targets says " + second["sha256"].get<std::string>()), std::string::npos) << refusal;
  // The staged file stays as it was; nothing of the bad download is left.
  for (const auto& entry : fs::directory_iterator(slot_dir)) {
    EXPECT_FALSE(entry.path().string().ends_with(".partial")) << entry.path();
  }
  EXPECT_EQ(crypto::hash_file(slot_dir / "a.so", "sha256").value(), published["sha256"]);
  EXPECT_EQ(updates()["plugins"][0]["a"]["version"], "0.2.0");
  // Many check-ins (and a restart), one download of the good file.
  std::string log = daemon_->log();
  size_t staged_count = 0;
  for (size_t at = log.find("verified and staged"); at != std::string::npos;
       at = log.find("verified and staged", at + 1)) {
    ++staged_count;
  }
  EXPECT_EQ(staged_count, 1u) << log;
}

// A download cut short by the platform's death, or by the agent's worker
// being killed, resumes where it stopped; the slot is never half written.
TEST_F(PlatformLinkTest, APluginDownloadCutShortResumesWhereItStopped) {
  start_agent(agent_root());
  ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0) << daemon_->log();
  auto updates = [&] { return status_of(agent_root())["platform"]["updates"]; };
  ASSERT_TRUE(eventually([&] { return updates().value("state", "") == "current"; })) << updates().dump(2);
  fs::path slot_dir = agent_root() / "var/lib/vigil/plugin-slots/testscan";
  auto partial_size = [&]() -> int64_t {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(slot_dir, error)) {
      if (entry.path().string().ends_with(".partial")) return static_cast<int64_t>(entry.file_size(error));
    }
    return 0;
  };
  // 48 MiB (staged, never loaded): a real plugin, which the platform checks, padded to 48 chunks of 1 MiB.
  const int64_t size = int64_t{48} << 20;
  for (const std::string cut_by : {"platform", "worker"}) {
    SCOPED_TRACE(cut_by);
    fs::path big = dir_.path() / (cut_by + ".so");
    fs::copy_file(plugin("test_scanner"), big);
    {
      std::ofstream out(big, std::ios::binary | std::ios::app);
      std::string block(1 << 20, '\0');
      for (int64_t i = 0, left = size - static_cast<int64_t>(fs::file_size(big)); left > 0; ++i) {
        for (size_t j = 0; j < block.size(); j += 8) block[j] = static_cast<char>(i * 31 + j + cut_by.size());
        auto part = std::min<int64_t>(static_cast<int64_t>(block.size()), left);
        out.write(block.data(), part);
        left -= part;
      }
    }
    ASSERT_EQ(static_cast<int64_t>(fs::file_size(big)), size);
    std::string version = cut_by == "platform" ? "9.9.9" : "9.9.10";
    auto published =
        platform_->admin_json({"package-set", "--module", "testscan", "--file", big.string(), "--version", version});
    // Polled tightly: the whole transfer takes about a second on loopback.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (partial_size() < (int64_t{1} << 20) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    int64_t worker = status_of(agent_root())["daemon"].value("pid", int64_t{0});
    if (cut_by == "platform") {
      platform_->kill(SIGKILL);
    } else {
      ASSERT_GT(worker, 0);
      ::kill(static_cast<pid_t>(worker), SIGKILL);
    }
    int64_t cut_at = partial_size();
    ASSERT_GT(cut_at, 0);
    ASSERT_LT(cut_at, size) << "the download ended before it was cut";
    if (cut_by == "platform") {
      ASSERT_TRUE(eventually([&] { return daemon_->log().find("download stopped at byte") != std::string::npos; }))
          << daemon_->log();
      ASSERT_TRUE(platform_->start()) << platform_->log();
    }
    ASSERT_TRUE(eventually([&] {
      json plugins = updates()["plugins"];
      return plugins.size() == 1 && plugins[0]["a"].value("version", "") == version;
    })) << updates().dump(2)
        << daemon_->log();
    EXPECT_EQ(crypto::hash_file(slot_dir / "a.so", "sha256").value(), published["sha256"]);
    EXPECT_EQ(partial_size(), 0);
    // The second attempt fetched only what was missing.
    std::string log = daemon_->log();
    std::string marker = "testscan " + version + " verified and staged in slot a (";
    size_t at = log.find(marker);
    ASSERT_NE(at, std::string::npos) << log;
    int64_t fetched = std::stoll(log.substr(at + marker.size()));
    EXPECT_LE(fetched, size - cut_at) << log;
    EXPECT_GT(fetched, 0);
    std::cout << cut_by << " cut the download at byte " << cut_at << "; the resumed one fetched " << fetched
              << " bytes\n";
  }
}

}  // namespace
}  // namespace vigil::test
