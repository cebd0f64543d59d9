// The update check's own rules beyond the conformance scenarios: persist or
// fail, size limits, a bounded root chain, one reading of the clock.
#include <gtest/gtest.h>

#include "repo_simulator.h"
#include "vigil/tuf/updater.h"

namespace vigil::tuf::testing {
namespace {

using Json = nlohmann::json;

class UpdaterTest : public ::testing::Test {
 protected:
  void SetUp() override { store.documents[Role::kRoot] = repo.published[Role::kRoot].front(); }
  Status refresh(Clock clock = [] { return kNow; }) {
    Updater updater(store, repo, std::move(clock));
    Status status = updater.refresh();
    last_refusal = updater.last_refusal();
    return status;
  }
  RepoSimulator repo;
  MemoryStore store;
  RefusalKind last_refusal = RefusalKind::kNone;
};

TEST_F(UpdaterTest, AVerifiedDocumentThatCannotBeSavedFailsTheCheck) {
  repo.publish({Role::kRoot});
  store.fail_saves = true;
  Status status = refresh();
  EXPECT_EQ(status.code(), ErrorCode::kIo);
  EXPECT_EQ(status.error(), "update check: root v2 verified but not saved: disk I/O error");
  EXPECT_EQ(last_refusal, RefusalKind::kPersist);
  store.fail_saves = false;
  EXPECT_TRUE(refresh());
  EXPECT_EQ(store.version(Role::kRoot), 2);
}

TEST_F(UpdaterTest, WithoutAPinnedRootNothingIsRequested) {
  store.documents.clear();
  EXPECT_EQ(refresh().error(), "update check: no pinned root (provision again)");
  EXPECT_TRUE(repo.requests.empty());
}

TEST_F(UpdaterTest, OversizedMetadataIsRefused) {
  repo.body(Role::kTimestamp)["padding"] = std::string(20 * 1024, 'x');
  repo.publish({Role::kTimestamp});
  Status status = refresh();
  EXPECT_EQ(status.error(), "timestamp refused: more than 16384 bytes");
  EXPECT_FALSE(store.version(Role::kTimestamp));
}

TEST_F(UpdaterTest, ALongRootChainIsFollowed32AtATime) {
  for (int i = 0; i < 40; ++i) repo.publish({Role::kRoot});
  // 41 roots: the first check reaches v33 and goes on to the other roles.
  ASSERT_TRUE(refresh());
  EXPECT_EQ(store.version(Role::kRoot), 33);
  ASSERT_TRUE(refresh());
  EXPECT_EQ(store.version(Role::kRoot), 41);
}

TEST_F(UpdaterTest, TheClockIsReadOncePerCheck) {
  repo.body(Role::kTimestamp)["expires"] = format_time(kNow + 1);
  repo.publish({Role::kTimestamp});
  int readings = 0;
  // A clock that jumps a year at every reading after the first.
  Clock moving = [&readings] { return kNow + 365 * kDay * readings++; };
  EXPECT_TRUE(refresh(moving));
  EXPECT_EQ(readings, 1);
}

TEST_F(UpdaterTest, NewTimestampKeysForgetTheStoredTimestampAndSnapshot) {
  ASSERT_TRUE(refresh());
  repo.rotate_keys(Role::kTimestamp);
  repo.publish({Role::kRoot});
  // The platform is down after the new root: the old copies are gone all the same.
  repo.published[Role::kTimestamp].clear();
  EXPECT_EQ(refresh().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(last_refusal, RefusalKind::kUnavailable);
  EXPECT_FALSE(store.version(Role::kTimestamp));
  EXPECT_FALSE(store.version(Role::kSnapshot));
  EXPECT_EQ(store.version(Role::kTargets), 1);
}

TEST_F(UpdaterTest, APlatformThatCannotBeReachedIsUnavailableNotRefused) {
  class Down : public Fetcher {
    Result<std::string> fetch(Role, std::optional<int64_t>, size_t) override {
      return Error{"connection refused", ErrorCode::kUnavailable};
    }
  } down;
  Updater updater(store, down, [] { return kNow; });
  Status status = updater.refresh();
  EXPECT_EQ(status.error(), "update check: platform unreachable: connection refused");
  EXPECT_EQ(updater.last_refusal(), RefusalKind::kUnavailable);
  EXPECT_EQ(store.documents.size(), 1u);
}

TEST_F(UpdaterTest, TargetsWithDelegationsAreRefused) {
  repo.body(Role::kTargets)["delegations"] = {{"keys", Json::object()},
                                              {"roles", {{{"name", "d"}, {"keyids", Json::array()}}}}};
  repo.publish({Role::kTargets, Role::kSnapshot, Role::kTimestamp});
  EXPECT_EQ(refresh().error(), "targets v2 refused: delegations are not supported by this agent");
}

}  // namespace
}  // namespace vigil::tuf::testing
