// The scenarios of the public tuf-conformance suite, ported to this client
// (docs/design/self-patch.md §2 lists which apply and which do not). Test
// names follow the suite's: Conformance.<python test>[_<parameter>].
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "repo_simulator.h"
#include "test_support.h"
#include "vigil/crypto/digest.h"
#include "vigil/tuf/updater.h"

namespace vigil::tuf::testing {
namespace {

using Json = nlohmann::json;
using Trusted = std::vector<std::pair<std::string, int64_t>>;
using Requests = std::vector<std::pair<Role, std::optional<int64_t>>>;

constexpr Role kRoot = Role::kRoot, kTimestamp = Role::kTimestamp, kSnapshot = Role::kSnapshot,
               kTargets = Role::kTargets;

class Conformance : public ::testing::Test {
 protected:
  // The client starts from root v1 as first published.
  void init_client() { store.documents[kRoot] = repo.published[kRoot].front(); }
  Status refresh(int64_t now = kNow) {
    Updater updater(store, repo, [now] { return now; });
    Status status = updater.refresh();
    last_refusal = updater.last_refusal();
    return status;
  }
  std::optional<int64_t> version(Role role) { return store.version(role); }
  // Replaces the newest published document of a role by an edited copy.
  void edit_published(Role role, const std::function<void(Json&)>& edit) {
    Json document = Json::parse(repo.published[role].back());
    edit(document);
    repo.published[role].back() = document.dump();
  }

  RepoSimulator repo;
  MemoryStore store;
  RefusalKind last_refusal = RefusalKind::kNone;
};

const Trusted kAllV1 = {{"root", 1}, {"snapshot", 1}, {"targets", 1}, {"timestamp", 1}};

// --- test_basic.py ---------------------------------------------------------

TEST_F(Conformance, test_basic_refresh_requests) {
  init_client();
  ASSERT_TRUE(refresh()) << refresh().error();
  repo.requests.clear();
  store.documents = {{kRoot, repo.published[kRoot].front()}};
  ASSERT_TRUE(refresh());
  EXPECT_EQ(repo.requests, (Requests{{kRoot, 2}, {kTimestamp, std::nullopt}, {kSnapshot, 1}, {kTargets, 1}}));
}

TEST_F(Conformance, test_basic_refresh_trusted_data) {
  init_client();
  ASSERT_TRUE(refresh());
  for (Role role : {kRoot, kTimestamp, kSnapshot, kTargets}) {
    EXPECT_EQ(store.documents[role], repo.published[role].back()) << role_name(role);
  }
}

TEST_F(Conformance, test_implicit_refresh) {
  // This client refreshes before every target lookup; a lookup of what is not
  // there finds nothing after a complete refresh.
  init_client();
  Updater updater(store, repo, [] { return kNow; });
  ASSERT_TRUE(updater.refresh());
  EXPECT_FALSE(updater.find_target("nonexistent artifact"));
  EXPECT_EQ(store.trusted_roles(), kAllV1);
}

TEST_F(Conformance, test_invalid_initial_root) {
  Json root = Json::parse(repo.published[kRoot].front());
  root["signed"].erase("version");
  store.documents[kRoot] = root.dump();
  Status status = refresh();
  EXPECT_FALSE(status);
  EXPECT_EQ(status.error(), "update check: pinned root is invalid: signed has no 'version'");
  EXPECT_TRUE(repo.requests.empty());
}

TEST_F(Conformance, test_unsigned_initial_root) {
  Json root = Json::parse(repo.published[kRoot].front());
  root["signatures"][0]["sig"] = std::string(128, 'a');
  store.documents[kRoot] = root.dump();
  Status status = refresh();
  EXPECT_EQ(status.error(), "update check: pinned root v1 is invalid: signed by 0 of 1 the keys it names itself");
  EXPECT_TRUE(repo.requests.empty());
}

struct UnsignedCase {
  Role role;
  Trusted trusted;
};

class ConformanceUnsigned : public Conformance, public ::testing::WithParamInterface<UnsignedCase> {};

TEST_P(ConformanceUnsigned, test_unsigned_metadata) {
  repo.signers(GetParam().role).pop_back();
  repo.publish_all();
  init_client();
  Status status = refresh();
  ASSERT_FALSE(status);
  EXPECT_EQ(last_refusal, RefusalKind::kSignature) << status.error();
  EXPECT_EQ(store.trusted_roles(), GetParam().trusted);
}

INSTANTIATE_TEST_SUITE_P(Conformance, ConformanceUnsigned,
                         ::testing::Values(UnsignedCase{kRoot, {{"root", 1}}}, UnsignedCase{kTimestamp, {{"root", 2}}},
                                           UnsignedCase{kSnapshot, {{"root", 2}, {"timestamp", 2}}},
                                           UnsignedCase{kTargets, {{"root", 2}, {"snapshot", 2}, {"timestamp", 2}}}),
                         [](const auto& info) { return std::string(role_name(info.param.role)); });

class ConformanceMismatch : public Conformance, public ::testing::WithParamInterface<UnsignedCase> {};

TEST_P(ConformanceMismatch, test_url_and_metadata_version_mismatch) {
  // The role's v2 document says it is v3.
  Role role = GetParam().role;
  repo.body(role)["version"] = 2;
  repo.publish_all();
  init_client();
  ASSERT_FALSE(refresh());
  EXPECT_EQ(store.trusted_roles(), GetParam().trusted);
}

INSTANTIATE_TEST_SUITE_P(Conformance, ConformanceMismatch,
                         ::testing::Values(UnsignedCase{kRoot, {{"root", 1}}},
                                           UnsignedCase{kSnapshot, {{"root", 2}, {"timestamp", 2}}},
                                           UnsignedCase{kTargets, {{"root", 2}, {"snapshot", 2}, {"timestamp", 2}}}),
                         [](const auto& info) { return std::string(role_name(info.param.role)); });

TEST_F(Conformance, test_timestamp_content_changes) {
  init_client();
  ASSERT_TRUE(refresh());
  // Timestamp v1 again, with other content: the client keeps the one it has.
  repo.body(kTimestamp)["meta"]["snapshot.json"]["version"] = 100;
  repo.published[kTimestamp].clear();
  repo.publish({kTimestamp});
  ASSERT_TRUE(refresh());
  EXPECT_EQ(repo.requests.back(), (std::pair<Role, std::optional<int64_t>>{kTimestamp, std::nullopt}));
  EXPECT_EQ(parse_timestamp(store.documents[kTimestamp])->body.snapshot.version, 1);
}

TEST_F(Conformance, test_basic_metadata_hash_support) {
  repo.compute_hashes = true;
  repo.publish({kTargets, kSnapshot, kTimestamp});
  init_client();
  EXPECT_TRUE(refresh());
}

TEST_F(Conformance, test_targets_hash_mismatch) {
  repo.compute_hashes = true;
  repo.publish({kTargets, kSnapshot, kTimestamp});
  init_client();
  ASSERT_TRUE(refresh());
  repo.publish({kTargets});
  repo.body(kSnapshot)["meta"]["targets.json"]["hashes"]["sha256"] = std::string(64, '0');
  repo.publish({kSnapshot, kTimestamp});
  Status status = refresh();
  ASSERT_FALSE(status);
  EXPECT_EQ(last_refusal, RefusalKind::kMixAndMatch);
  EXPECT_NE(status.error().find("targets v3 refused: sha256 "), std::string::npos) << status.error();
  EXPECT_NE(status.error().find("in snapshot v3 (mix-and-match)"), std::string::npos) << status.error();
  EXPECT_EQ(version(kSnapshot), 3);
  EXPECT_NE(version(kTargets), 3);
}

TEST_F(Conformance, test_snapshot_hash_mismatch) {
  repo.compute_hashes = true;
  repo.publish({kSnapshot, kTimestamp});
  init_client();
  ASSERT_TRUE(refresh());
  repo.publish({kSnapshot});
  repo.body(kTimestamp)["meta"]["snapshot.json"]["hashes"]["sha256"] = std::string(64, '0');
  repo.publish({kTimestamp});
  Status status = refresh();
  ASSERT_FALSE(status);
  EXPECT_EQ(last_refusal, RefusalKind::kMixAndMatch) << status.error();
  EXPECT_NE(version(kSnapshot), 3);
  EXPECT_EQ(version(kTimestamp), 3);
}

TEST_F(Conformance, test_metadata_bytes_match) {
  init_client();
  repo.published[kTimestamp].back() += " ";
  ASSERT_TRUE(refresh());
  EXPECT_EQ(store.documents[kTimestamp], repo.published[kTimestamp].back());
}

TEST_F(Conformance, test_custom_fields) {
  init_client();
  ASSERT_TRUE(refresh());
  repo.body(kRoot)["custom-field"] = "value";
  repo.add_key(kRoot, RepoSimulator::new_signer(), {{"extra-field", {{"a", 1}, {"b", 2}}}});
  repo.body(kRoot)["roles"]["root"]["another-field"] = "value";
  repo.publish({kRoot});
  ASSERT_TRUE(refresh()) << refresh().error();
  EXPECT_EQ(version(kRoot), 2);
}

TEST_F(Conformance, test_deprecated_keyid_hash_algorithms) {
  init_client();
  repo.clear_keys(kSnapshot);
  repo.add_key(kSnapshot, RepoSimulator::new_signer(), {{"keyid_hash_algorithms", "md5"}});
  repo.publish({kRoot, kSnapshot, kTimestamp});
  ASSERT_TRUE(refresh()) << refresh().error();
  EXPECT_EQ(version(kRoot), 2);
  EXPECT_EQ(version(kSnapshot), 2);
}

TEST_F(Conformance, test_snapshot_404) {
  init_client();
  ASSERT_TRUE(refresh());
  repo.body(kTimestamp)["meta"]["snapshot.json"]["version"] = 2;
  repo.publish({kTimestamp});
  Status status = refresh();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error(), "update check: the platform has no snapshot v2");
  EXPECT_EQ(repo.requests.back(), (std::pair<Role, std::optional<int64_t>>{kSnapshot, 2}));
  EXPECT_EQ(store.trusted_roles(), (Trusted{{"root", 1}, {"snapshot", 1}, {"targets", 1}, {"timestamp", 2}}));
}

TEST_F(Conformance, test_targets_404) {
  init_client();
  ASSERT_TRUE(refresh());
  repo.body(kSnapshot)["meta"]["targets.json"]["version"] = 2;
  repo.publish({kSnapshot, kTimestamp});
  ASSERT_FALSE(refresh());
  EXPECT_EQ(repo.requests.back(), (std::pair<Role, std::optional<int64_t>>{kTargets, 2}));
  EXPECT_EQ(store.trusted_roles(), (Trusted{{"root", 1}, {"snapshot", 2}, {"targets", 1}, {"timestamp", 2}}));
}

TEST_F(Conformance, test_timestamp_404) {
  init_client();
  ASSERT_TRUE(refresh());
  repo.published[kTimestamp].clear();
  Status status = refresh();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(repo.requests.back(), (std::pair<Role, std::optional<int64_t>>{kTimestamp, std::nullopt}));
}

TEST_F(Conformance, test_incorrect_metadata_type) {
  init_client();
  // A snapshot signed by the timestamp key too, served as the timestamp.
  repo.add_key(kSnapshot, repo.signers(kTimestamp).front());
  repo.body(kSnapshot)["meta"] = {{"snapshot.json", {{"version", 1}}}};
  repo.publish({kRoot, kSnapshot});
  repo.published[kTimestamp].push_back(repo.published[kSnapshot].back());
  repo.published[kSnapshot].pop_back();
  Status status = refresh();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error(), "timestamp v2 refused: type 'snapshot', expected 'timestamp'");
  EXPECT_EQ(store.trusted_roles(), (Trusted{{"root", 2}}));
}

TEST_F(Conformance, test_faketime) {
  init_client();
  repo.body(kRoot)["expires"] = format_time(kNow + 7 * kDay);
  repo.publish({kRoot});
  ASSERT_TRUE(refresh());
  Status status = refresh(kNow + 8 * kDay);
  ASSERT_FALSE(status);
  EXPECT_EQ(last_refusal, RefusalKind::kFreeze);
  EXPECT_EQ(status.error(),
            "root v2 refused: expired " + format_time(kNow + 7 * kDay) + ": possible freeze attack, no update applied");
}

// --- test_rollback.py --------------------------------------------------------

TEST_F(Conformance, test_new_timestamp_version_rollback) {
  init_client();
  repo.publish({kTimestamp});
  ASSERT_TRUE(refresh());
  EXPECT_EQ(version(kTimestamp), 2);
  repo.published[kTimestamp].clear();
  repo.body(kTimestamp)["version"] = 1;
  repo.publish({kTimestamp});
  Status status = refresh();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error(), "timestamp v1 refused: older than trusted v2 (rollback attack)");
  EXPECT_EQ(last_refusal, RefusalKind::kRollback);
  EXPECT_EQ(version(kTimestamp), 2);
}

class ConformanceHashes : public Conformance, public ::testing::WithParamInterface<bool> {};

TEST_P(ConformanceHashes, test_snapshot_rollback) {
  init_client();
  repo.compute_hashes = GetParam();
  repo.publish({kSnapshot, kTimestamp});
  ASSERT_TRUE(refresh());
  repo.published[kSnapshot].clear();
  repo.body(kSnapshot)["version"] = 1;
  repo.publish({kSnapshot, kTimestamp});
  Status status = refresh();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error(), "timestamp v3 refused: names snapshot v1, trusted timestamp named v2 (rollback attack)");
  EXPECT_EQ(version(kTimestamp), 2);
  EXPECT_EQ(version(kSnapshot), 2);
  EXPECT_EQ(repo.requests.back(), (std::pair<Role, std::optional<int64_t>>{kTimestamp, std::nullopt}));
}

TEST_P(ConformanceHashes, test_targets_rollback) {
  init_client();
  repo.compute_hashes = GetParam();
  repo.publish({kTargets, kSnapshot, kTimestamp});
  ASSERT_TRUE(refresh());
  repo.published[kTargets].clear();
  repo.body(kTargets)["version"] = 1;
  repo.publish({kTargets, kSnapshot, kTimestamp});
  Status status = refresh();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error(),
            "snapshot v3 refused: lists targets.json v1, trusted snapshot v2 listed v2 (rollback attack)");
  EXPECT_EQ(version(kSnapshot), 2);
  EXPECT_EQ(version(kTargets), 2);
}

INSTANTIATE_TEST_SUITE_P(Conformance, ConformanceHashes, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "with_hashes" : "basic"; });

TEST_F(Conformance, test_targets_role_removal) {
  // Adapted: no delegated roles here, so the file that disappears is targets.json itself.
  init_client();
  ASSERT_TRUE(refresh());
  repo.body(kSnapshot)["meta"] = Json::object();
  repo.publish({kSnapshot, kTimestamp});
  Status status = refresh();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error(), "snapshot v2 refused: no longer lists targets.json");
  EXPECT_EQ(version(kSnapshot), 1);
}

TEST_F(Conformance, test_targets_fast_forward_recovery) {
  init_client();
  for (int i = 0; i < 99; ++i) repo.publish({kTargets});
  repo.publish({kSnapshot, kTimestamp});
  ASSERT_TRUE(refresh());
  EXPECT_EQ(version(kTargets), 100);
  repo.rotate_keys(kSnapshot);
  repo.published[kTargets].clear();
  repo.body(kTargets)["version"] = 1;
  repo.publish({kRoot, kTargets, kSnapshot, kTimestamp});
  ASSERT_TRUE(refresh()) << refresh().error();
  EXPECT_EQ(version(kTargets), 1);
}

TEST_F(Conformance, test_new_snapshot_fast_forward_recovery) {
  init_client();
  for (int i = 0; i < 99; ++i) repo.publish({kSnapshot});
  repo.publish({kTimestamp});
  ASSERT_TRUE(refresh());
  EXPECT_EQ(version(kSnapshot), 100);
  repo.rotate_keys(kSnapshot);
  repo.rotate_keys(kTimestamp);
  repo.published[kSnapshot].clear();
  repo.body(kSnapshot)["version"] = 1;
  repo.publish({kRoot, kTargets, kSnapshot, kTimestamp});
  ASSERT_TRUE(refresh()) << refresh().error();
  EXPECT_EQ(version(kSnapshot), 1);
}

TEST_F(Conformance, test_new_timestamp_fast_forward_recovery) {
  init_client();
  for (int i = 0; i < 99; ++i) repo.publish({kTimestamp});
  ASSERT_TRUE(refresh());
  EXPECT_EQ(version(kTimestamp), 100);
  repo.rotate_keys(kTimestamp);
  repo.published[kTimestamp].clear();
  repo.body(kTimestamp)["version"] = 1;
  repo.publish({kRoot, kTimestamp});
  ASSERT_TRUE(refresh()) << refresh().error();
  EXPECT_EQ(version(kTimestamp), 1);
}

// --- test_expiration.py ------------------------------------------------------

TEST_F(Conformance, test_root_expired) {
  init_client();
  ASSERT_TRUE(refresh());
  repo.publish({kRoot});
  ASSERT_TRUE(refresh());
  repo.body(kRoot)["expires"] = format_time(kNow - kDay);
  repo.publish_all();
  ASSERT_FALSE(refresh());
  EXPECT_EQ(last_refusal, RefusalKind::kFreeze);
  EXPECT_EQ(version(kRoot), 3);
  EXPECT_EQ(version(kTimestamp), 1);
  EXPECT_EQ(version(kSnapshot), 1);
}

TEST_F(Conformance, test_timestamp_expired) {
  init_client();
  ASSERT_TRUE(refresh());
  repo.body(kTimestamp)["expires"] = format_time(kNow - 5 * kDay);
  repo.publish({kTimestamp});
  Status status = refresh();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error(), "timestamp v2 refused: expired " + format_time(kNow - 5 * kDay) + " (freeze attack)");
  EXPECT_EQ(store.trusted_roles(), kAllV1);
}

TEST_F(Conformance, test_snapshot_expired) {
  init_client();
  ASSERT_TRUE(refresh());
  repo.body(kSnapshot)["expires"] = format_time(kNow - 5 * kDay);
  repo.publish({kSnapshot, kTimestamp});
  ASSERT_FALSE(refresh());
  EXPECT_EQ(last_refusal, RefusalKind::kFreeze);
  EXPECT_EQ(store.trusted_roles(), (Trusted{{"root", 1}, {"snapshot", 1}, {"targets", 1}, {"timestamp", 2}}));
}

TEST_F(Conformance, test_targets_expired) {
  init_client();
  ASSERT_TRUE(refresh());
  repo.body(kTargets)["expires"] = format_time(kNow - 5 * kDay);
  repo.publish({kTargets, kSnapshot, kTimestamp});
  ASSERT_FALSE(refresh());
  EXPECT_EQ(last_refusal, RefusalKind::kFreeze);
  EXPECT_EQ(store.trusted_roles(), (Trusted{{"root", 1}, {"snapshot", 2}, {"targets", 1}, {"timestamp", 2}}));
}

TEST_F(Conformance, test_expired_local_root) {
  init_client();
  repo.body(kRoot)["expires"] = format_time(kNow + 7 * kDay);
  repo.publish({kRoot});
  ASSERT_TRUE(refresh());
  repo.body(kRoot)["expires"] = format_time(kNow + 21 * kDay);
  repo.publish({kRoot});
  ASSERT_TRUE(refresh(kNow + 18 * kDay)) << refresh(kNow + 18 * kDay).error();
  EXPECT_EQ(version(kRoot), 3);
}

TEST_F(Conformance, test_expired_local_timestamp) {
  init_client();
  repo.body(kTimestamp)["expires"] = format_time(kNow + 7 * kDay);
  repo.publish({kTimestamp});
  ASSERT_TRUE(refresh());
  repo.body(kTimestamp)["expires"] = format_time(kNow + 21 * kDay);
  repo.publish({kTargets, kSnapshot, kTimestamp});
  ASSERT_TRUE(refresh(kNow + 18 * kDay));
  EXPECT_EQ(store.trusted_roles(), (Trusted{{"root", 1}, {"snapshot", 2}, {"targets", 2}, {"timestamp", 3}}));
}

// --- test_keys.py ------------------------------------------------------------

TEST_F(Conformance, test_snapshot_does_not_meet_threshold) {
  repo.body(kRoot)["roles"]["snapshot"]["threshold"] = 3;
  for (int i = 0; i < 2; ++i) repo.add_key(kSnapshot, RepoSimulator::new_signer());
  repo.publish_all();
  init_client();
  ASSERT_TRUE(refresh());
  repo.signers(kSnapshot).pop_back();
  repo.publish({kTargets, kSnapshot, kTimestamp});
  Status status = refresh();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error(), "snapshot v3 refused: signed by 2 of 3 required keys");
  EXPECT_NE(version(kSnapshot), 3);
}

TEST_F(Conformance, test_snapshot_has_too_few_keys) {
  init_client();
  for (int i = 0; i < 4; ++i) repo.add_key(kSnapshot, RepoSimulator::new_signer());
  repo.body(kRoot)["roles"]["snapshot"]["threshold"] = 6;
  repo.publish({kRoot, kSnapshot, kTimestamp});
  Status status = refresh();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error(), "snapshot v2 refused: signed by 5 of 6 required keys");
  EXPECT_EQ(version(kRoot), 2);
  EXPECT_NE(version(kSnapshot), 2);
}

TEST_F(Conformance, test_duplicate_keys) {
  init_client();
  SigningKey signer = RepoSimulator::new_signer();
  repo.add_key(kSnapshot, signer);
  repo.body(kRoot)["roles"]["snapshot"]["threshold"] = 6;
  repo.publish({kRoot, kSnapshot, kTimestamp});
  edit_published(kSnapshot, [](Json& document) {
    Json signature = document["signatures"].back();
    for (int i = 0; i < 8; ++i) document["signatures"].push_back(signature);
  });
  Status status = refresh();
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().find("two signatures by key"), std::string::npos) << status.error();
  EXPECT_EQ(version(kSnapshot), std::nullopt);
}

TEST_F(Conformance, test_duplicate_sig_keyids) {
  init_client();
  edit_published(kSnapshot, [](Json& document) { document["signatures"].push_back(document["signatures"][0]); });
  ASSERT_FALSE(refresh());
  EXPECT_EQ(version(kSnapshot), std::nullopt);
}

TEST_F(Conformance, test_keytype_and_scheme_ed25519) {
  // The suite's rsa and ecdsa cases do not apply: this client verifies Ed25519 only.
  init_client();
  SigningKey signer = RepoSimulator::new_signer();
  repo.add_key(kRoot, signer);
  repo.body(kRoot)["roles"]["root"]["threshold"] = 2;
  repo.publish({kRoot});
  ASSERT_TRUE(refresh());
  EXPECT_EQ(version(kRoot), 2);
  repo.publish({kRoot});
  std::string id = key_id(ed25519_key_object(signer.public_hex)).value();
  edit_published(kRoot, [&id](Json& document) {
    for (Json& signature : document["signatures"]) {
      if (signature["keyid"] == id) signature["sig"] = std::string(128, 'b');
    }
  });
  ASSERT_FALSE(refresh());
  EXPECT_EQ(version(kRoot), 2);
}

TEST_F(Conformance, test_invalid_sig_in_valid_metadata) {
  init_client();
  Json first = Json::parse(repo.published[kTimestamp].back())["signatures"][0];
  repo.add_key(kTimestamp, RepoSimulator::new_signer());
  repo.publish({kRoot, kTimestamp});
  // The first key's signature is from v1: plausible, but not over v2.
  edit_published(kTimestamp, [&first](Json& document) { document["signatures"][0] = first; });
  ASSERT_TRUE(refresh()) << refresh().error();
  repo.publish({kTimestamp});
  edit_published(kTimestamp, [](Json& document) { document["signatures"][0]["sig"] = ""; });
  ASSERT_TRUE(refresh()) << refresh().error();
  EXPECT_EQ(version(kTimestamp), 3);
}

// --- test_file_download.py ---------------------------------------------------

class ConformanceDownload : public Conformance {
 protected:
  // Writes what the repository serves for `path` and checks it like a download.
  Status download(const std::string& path, const std::string& served) {
    Updater updater(store, repo, [] { return kNow; });
    if (Status refreshed = updater.refresh(); !refreshed) return refreshed;
    std::optional<TargetFile> target = updater.find_target(path);
    if (!target) return Error{"no target " + path, ErrorCode::kNotFound};
    std::filesystem::path file = dir.path() / "download";
    std::ofstream(file, std::ios::binary | std::ios::trunc) << served;
    return verify_target_file(file, *target);
  }
  test::TempDir dir;
};

TEST_F(ConformanceDownload, test_client_downloads_expected_file) {
  init_client();
  repo.add_target("plugins/x86_64/fim-1.4.0.so", "target file contents");
  repo.publish({kTargets, kSnapshot, kTimestamp});
  EXPECT_TRUE(download("plugins/x86_64/fim-1.4.0.so", "target file contents"));
}

TEST_F(ConformanceDownload, test_repository_substitutes_target_file) {
  init_client();
  repo.add_target("fim.so", "target file contents");
  repo.publish({kTargets, kSnapshot, kTimestamp});
  Status status = download("fim.so", "Target file contents");  // same length, one byte differs
  ASSERT_FALSE(status);
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(status.error().rfind("sha256 ", 0), 0u) << status.error();
  EXPECT_NE(status.error().find(" of the download, targets says "), std::string::npos);
  status = download("fim.so", "target file content");
  EXPECT_EQ(status.error(), "length 19 of the download, targets says 20");
}

TEST_F(ConformanceDownload, test_multiple_changes_to_target) {
  init_client();
  for (int round = 0; round < 3; ++round) {
    std::string data = "contents of round " + std::to_string(round);
    repo.add_target("fim.so", data);
    repo.publish({kTargets, kSnapshot, kTimestamp});
    EXPECT_TRUE(download("fim.so", data)) << round;
  }
}

TEST_F(ConformanceDownload, test_download_with_hash_algorithms) {
  init_client();
  repo.add_target("fim.so", "abc");
  repo.body(kTargets)["targets"]["fim.so"]["hashes"]["sha512"] = crypto::hex_digest("abc", "sha512");
  repo.publish({kTargets, kSnapshot, kTimestamp});
  EXPECT_TRUE(download("fim.so", "abc"));
}

TEST_F(ConformanceDownload, test_download_with_unknown_hash_algorithm) {
  init_client();
  repo.add_target("fim.so", "abc");
  repo.body(kTargets)["targets"]["fim.so"]["hashes"]["blake9"] = "00";
  repo.publish({kTargets, kSnapshot, kTimestamp});
  EXPECT_EQ(download("fim.so", "abc").error(), "hash algorithm 'blake9' unknown");
}

// --- test_updater_key_rotations.py ------------------------------------------

struct MdVersion {
  std::vector<int> keys;
  int64_t threshold;
  std::vector<int> sigs;
  bool result = true;
};

struct RotationCase {
  const char* name;
  std::vector<MdVersion> versions;
};

class ConformanceRootRotation : public Conformance, public ::testing::WithParamInterface<RotationCase> {};

TEST_P(ConformanceRootRotation, test_root_rotation) {
  std::vector<SigningKey> signers;
  for (int i = 0; i < 10; ++i) signers.push_back(RepoSimulator::new_signer());
  repo.published[kRoot].clear();
  for (const MdVersion& root : GetParam().versions) {
    repo.clear_keys(kRoot);
    repo.body(kRoot)["roles"]["root"]["threshold"] = root.threshold;
    for (int i : root.keys) repo.add_key(kRoot, signers[i]);
    repo.signers(kRoot).clear();
    for (int i : root.sigs) repo.signers(kRoot).push_back(signers[i]);
    repo.publish({kRoot});
  }
  repo.publish({kTargets, kSnapshot, kTimestamp});
  init_client();
  const std::vector<std::string>& roots = repo.published[kRoot];
  Status status = refresh();
  if (GetParam().versions.back().result) {
    EXPECT_TRUE(status) << status.error();
    EXPECT_EQ(store.documents[kRoot], roots.back());
  } else {
    EXPECT_FALSE(status);
    EXPECT_EQ(last_refusal, RefusalKind::kSignature);
    EXPECT_EQ(store.documents[kRoot], roots[roots.size() - 2]);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Conformance, ConformanceRootRotation,
    ::testing::Values(
        RotationCase{"1_of_1_key_rotation", {{{1}, 1, {1}}, {{2}, 1, {2, 1}}, {{2}, 1, {2}}}},
        RotationCase{"1_of_1_key_rotation_unused_signatures",
                     {{{1}, 1, {3, 1, 4}}, {{2}, 1, {3, 2, 1, 4}}, {{2}, 1, {3, 2, 4}}}},
        RotationCase{"3_of_5_sign_with_different_keycombos",
                     {{{0, 1, 2, 3, 4}, 3, {0, 2, 4}},
                      {{0, 1, 2, 3, 4}, 3, {0, 4, 1}},
                      {{0, 1, 2, 3, 4}, 3, {0, 1, 3}},
                      {{0, 1, 2, 3, 4}, 3, {0, 1, 3}}}},
        RotationCase{"3_of_5_one_key_rotated", {{{0, 1, 2, 3, 4}, 3, {0, 2, 4}}, {{0, 1, 3, 4, 5}, 3, {0, 4, 1}}}},
        RotationCase{
            "3_of_5_one_key_rotated_with_intermediate_step",
            {{{0, 1, 2, 3, 4}, 3, {0, 2, 4}}, {{0, 1, 3, 4, 5}, 3, {0, 2, 4, 5}}, {{0, 1, 3, 4, 5}, 3, {0, 4, 5}}}},
        RotationCase{"3_of_5_all_keys_rotated_with_intermediate_step",
                     {{{0, 1, 2, 3, 4}, 3, {0, 2, 4}},
                      {{5, 6, 7, 8, 9}, 3, {0, 2, 4, 5, 6, 7}},
                      {{5, 6, 7, 8, 9}, 3, {5, 6, 7}}}},
        RotationCase{"1_of_3_threshold_increase_to_2_of_3", {{{1, 2, 3}, 1, {1}}, {{1, 2, 3}, 2, {1, 2}}}},
        RotationCase{"2_of_3_threshold_decrease_to_1_of_3",
                     {{{1, 2, 3}, 2, {1, 2}}, {{1, 2, 3}, 1, {1, 2}}, {{1, 2, 3}, 1, {1}}}},
        RotationCase{"1_of_2_threshold_increase_to_2_of_2", {{{1}, 1, {1}}, {{1, 2}, 2, {1, 2}}}},
        RotationCase{"1_of_1_key_rotation_fail_not_signed_with_old_key", {{{1}, 1, {1}}, {{2}, 1, {2, 3, 4}, false}}},
        RotationCase{"1_of_1_key_rotation_fail_not_signed_with_new_key", {{{1}, 1, {1}}, {{2}, 1, {1, 3, 4}, false}}},
        RotationCase{"3_of_5_one_key_rotate_fails_not_signed_with_3_new_keys",
                     {{{0, 1, 2, 3, 4}, 3, {0, 2, 4}}, {{0, 1, 3, 4, 5}, 3, {0, 2, 4}, false}}},
        RotationCase{"3_of_5_one_key_rotate_fails_not_signed_with_3_old_keys",
                     {{{0, 1, 2, 3, 4}, 3, {0, 2, 4}}, {{0, 1, 3, 4, 5}, 3, {0, 4, 5}, false}}},
        RotationCase{"1_of_3_threshold_bump_to_2_of_3_fails_new_threshold_not_reached",
                     {{{1, 2, 3}, 1, {1}}, {{1, 2, 3}, 2, {2}, false}}},
        RotationCase{"2_of_3_threshold_decr_to_1_of_3_fails_old_threshold_not_reached",
                     {{{1, 2, 3}, 2, {1, 2}}, {{1, 2, 3}, 1, {1}, false}}}),
    [](const auto& info) { return std::string(info.param.name); });

class ConformanceNonRootRotation : public Conformance, public ::testing::WithParamInterface<RotationCase> {};

TEST_P(ConformanceNonRootRotation, test_non_root_rotations) {
  const MdVersion& wanted = GetParam().versions.front();
  init_client();
  std::vector<SigningKey> signers;
  for (int i = 0; i < 10; ++i) signers.push_back(RepoSimulator::new_signer());
  for (Role role : {kTimestamp, kSnapshot, kTargets}) {
    repo.clear_keys(role);
    repo.body(kRoot)["roles"][role_name(role)]["threshold"] = wanted.threshold;
    for (int i : wanted.keys) repo.add_key(role, signers[i]);
    repo.signers(role).clear();
    for (int i : wanted.sigs) repo.signers(role).push_back(signers[i]);
    repo.publish_all();
    Status status = refresh();
    if (wanted.result) {
      ASSERT_TRUE(status) << role_name(role) << ": " << status.error();
      EXPECT_EQ(store.documents[role], repo.published[role].back()) << role_name(role);
    } else {
      ASSERT_FALSE(status) << role_name(role);
      EXPECT_EQ(last_refusal, RefusalKind::kSignature) << status.error();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Conformance, ConformanceNonRootRotation,
    ::testing::Values(RotationCase{"1_of_1_key_rotation", {{{2}, 1, {2}}}},
                      RotationCase{"1_of_1_key_rotation_unused_signatures", {{{1}, 1, {3, 1, 4}}}},
                      RotationCase{"1_of_1_key_rotation_fail_not_signed_with_new_key", {{{2}, 1, {1, 3, 4}, false}}},
                      RotationCase{"3_of_5_one_key_signature_wrong_not_signed_with_3_expected_keys",
                                   {{{0, 1, 3, 4, 5}, 3, {0, 2, 4}, false}}},
                      RotationCase{"2_of_5_one_key_signature_mising_threshold_not_reached",
                                   {{{0, 1, 3, 4, 5}, 3, {0, 4}, false}}},
                      RotationCase{"3_of_5_sign_first_combo", {{{0, 1, 2, 3, 4}, 3, {0, 2, 4}}}},
                      RotationCase{"3_of_5_sign_second_combo", {{{0, 1, 2, 3, 4}, 3, {0, 4, 1}}}},
                      RotationCase{"3_of_5_sign_third_combo", {{{0, 1, 2, 3, 4}, 3, {0, 1, 3}}}},
                      RotationCase{"3_of_5_sign_fourth_combo", {{{0, 1, 2, 3, 4}, 3, {1, 2, 3}}}},
                      RotationCase{"3_of_5_sign_fifth_combo", {{{0, 1, 2, 3, 4}, 3, {2, 3, 4}}}}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace vigil::tuf::testing
