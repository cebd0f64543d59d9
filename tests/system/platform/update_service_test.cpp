// The platform's signed plugin updates (docs/platform.md): a real
// vigil-platform over TLS serves metadata that lib/tuf's update check
// accepts, through key rotations and publications, and plugin files by hash;
// its repository renews online roles before they expire.
#include <gtest/gtest.h>

#include <fstream>

#include "https/https_client.h"
#include "platform_process.h"
#include "update_repository.h"
#include "vigil/agent/v1/agent.pb.h"
#include "vigil/crypto/digest.h"
#include "vigil/net/tls.h"
#include "vigil/tuf/updater.h"

namespace vigil::test {
namespace {

namespace v1 = ::vigil::agent::v1;
using tuf::Role;

class StoreInMemory : public tuf::TrustedStore {
 public:
  Result<std::optional<std::string>> load(Role role) override {
    auto found = documents.find(role);
    return found == documents.end() ? std::optional<std::string>() : std::optional(found->second);
  }
  Status save(Role role, int64_t, int64_t, const std::string& bytes) override {
    documents[role] = bytes;
    return Status::Ok();
  }
  Status erase(Role role) override {
    documents.erase(role);
    return Status::Ok();
  }
  std::optional<int64_t> version(Role role) { return tuf::claimed_version(documents[role]); }
  std::map<Role, std::string> documents;
};

class UpdateServiceTest : public ::testing::Test, public tuf::Fetcher {
 protected:
  void SetUp() override {
    platform_ = std::make_unique<PlatformProcess>(dir_.path() / "platform");
    ASSERT_TRUE(platform_->serving()) << platform_->log();
    auto url = wire::parse_url(platform_->url());
    client_ = std::make_unique<link::HttpsClient>(
        url.value(), tls::client_context(std::filesystem::path(platform_->ca_bundle())).value());
    v1::ProvisionRequest request;
    request.set_protocol(v1::PROTOCOL_1);
    request.set_customer_id(platform_->customer_id());
    request.set_activation_id(platform_->activation_id());
    request.mutable_facts()->set_fingerprint("0123456789abcdef0123456789abcdef");
    auto reply = client_->post("/v1/provision", request.SerializeAsString());
    ASSERT_TRUE(reply.ok()) << reply.error();
    ASSERT_TRUE(agent_.ParseFromString(reply.value()));
  }

  Result<std::string> fetch(Role role, std::optional<int64_t> version, size_t max_bytes) override {
    v1::UpdateMetadataRequest request;
    request.set_protocol(v1::PROTOCOL_1);
    request.set_agent_id(agent_.agent_id());
    request.set_agent_token(agent_.agent_token());
    request.set_role(tuf::role_name(role));
    request.set_version(version.value_or(0));
    auto reply = client_->post("/v1/update-metadata", request.SerializeAsString());
    if (!reply.ok()) return reply.failure();
    v1::UpdateMetadataResponse response;
    if (!response.ParseFromString(reply.value())) return Error{"malformed reply"};
    if (response.metadata().size() > max_bytes) return Error{"too long", ErrorCode::kInvalidArgument};
    return response.metadata();
  }

  Status refresh() {
    tuf::Updater updater(store_, *this, [] { return static_cast<int64_t>(std::time(nullptr)); });
    Status status = updater.refresh();
    if (status) targets_ = updater.trusted()->targets()->body.targets;
    return status;
  }

  // Downloads a plugin file by its sha256 in chunks of `chunk` bytes.
  std::string download(const std::string& sha256, uint64_t chunk) {
    std::string file;
    for (;;) {
      v1::PluginPackageRequest request;
      request.set_protocol(v1::PROTOCOL_1);
      request.set_agent_id(agent_.agent_id());
      request.set_agent_token(agent_.agent_token());
      request.set_sha256(sha256);
      request.set_offset(file.size());
      request.set_max_bytes(chunk);
      auto reply = client_->post("/v1/plugin-package", request.SerializeAsString());
      EXPECT_TRUE(reply.ok()) << reply.error();
      v1::PluginPackageResponse response;
      if (!reply.ok() || !response.ParseFromString(reply.value())) return file;
      EXPECT_EQ(response.offset(), file.size());
      file += response.library();
      if (file.size() >= response.total_length() || response.library().empty()) return file;
    }
  }

  TempDir dir_;
  std::unique_ptr<PlatformProcess> platform_;
  std::unique_ptr<link::HttpsClient> client_;
  v1::ProvisionResponse agent_;
  StoreInMemory store_;
  std::map<std::string, tuf::TargetFile> targets_;
};

TEST_F(UpdateServiceTest, AnAgentFollowsTheSignedMetadataThroughPublicationsAndRotations) {
  // Provisioning hands out the root to pin.
  ASSERT_FALSE(agent_.update_root().empty());
  store_.documents[Role::kRoot] = agent_.update_root();
  ASSERT_TRUE(refresh()) << refresh().error();
  EXPECT_TRUE(targets_.empty());

  // package-set signs a new targets, snapshot and timestamp.
  nlohmann::json published =
      platform_->admin_json({"package-set", "--module", "fim", "--file", FIM_PLUGIN_PATH, "--version", "9.9.9"});
  std::string path = published["target"];
  EXPECT_EQ(path, "plugins/" + published["arch"].get<std::string>() + "/fim-9.9.9.so");
  ASSERT_TRUE(refresh()) << refresh().error();
  EXPECT_EQ(store_.version(Role::kTargets), 2);
  EXPECT_EQ(store_.version(Role::kTimestamp), 2);
  ASSERT_EQ(targets_.count(path), 1u);
  EXPECT_EQ(targets_[path].custom["current"], true);

  // The file, fetched by hash in 64 KiB chunks, is what targets describes.
  std::string file = download(published["sha256"], 64 * 1024);
  std::filesystem::path downloaded = dir_.path() / "fim.so";
  std::ofstream(downloaded, std::ios::binary) << file;
  EXPECT_TRUE(tuf::verify_target_file(downloaded, targets_[path]));
  EXPECT_EQ(crypto::hash_file(FIM_PLUGIN_PATH, "sha256").value(), published["sha256"]);

  // Every check-in carries the newest timestamp version as a hint.
  v1::CheckinRequest checkin;
  checkin.set_protocol(v1::PROTOCOL_1);
  checkin.set_agent_id(agent_.agent_id());
  checkin.set_agent_token(agent_.agent_token());
  checkin.set_fingerprint("0123456789abcdef0123456789abcdef");
  v1::CheckinResponse hint;
  ASSERT_TRUE(hint.ParseFromString(client_->post("/v1/checkin", checkin.SerializeAsString()).value()));
  EXPECT_EQ(hint.update_timestamp_version(), 2u);

  // Rotated keys reach the agent through the root chain.
  for (const char* role : {"root", "timestamp", "snapshot", "targets"}) {
    auto rotated = platform_->admin({"signing-keys", "rotate", "--role", role});
    ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
    ASSERT_TRUE(refresh()) << role << ": " << refresh().error();
  }
  EXPECT_EQ(store_.version(Role::kRoot), 5);
  nlohmann::json shown = platform_->admin_json({"signing-keys", "show"});
  EXPECT_EQ(shown["roles"]["root"]["version"], 5);
  EXPECT_EQ(shown["roles"]["timestamp"]["days_left"], 7);  // just signed

  // A second init would orphan every agent's pinned root: refused.
  auto again = platform_->admin({"signing-keys", "init"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("signing keys exist already"), std::string::npos) << again.err;
}

TEST_F(UpdateServiceTest, BadRequestsAreRefusedWithTheReason) {
  auto bad = platform_->admin({"package-set", "--module", "../fim", "--file", FIM_PLUGIN_PATH, "--version", "1"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("module '../fim' is not a plain name"), std::string::npos) << bad.err;
  EXPECT_EQ(fetch(Role::kRoot, 99, 1 << 16).code(), ErrorCode::kNotFound);
  v1::PluginPackageRequest request;
  request.set_agent_id(agent_.agent_id());
  request.set_agent_token(agent_.agent_token());
  request.set_sha256(std::string(64, '0'));
  auto missing = client_->post("/v1/plugin-package", request.SerializeAsString());
  EXPECT_EQ(missing.code(), ErrorCode::kNotFound) << missing.error();
}

// The repository on its own, with the clock in the test's hands.
TEST(UpdateRepositoryTest, RenewsOnlineRolesBeforeTheyExpireAndKeepsThreeVersionsPerModule) {
  TempDir dir;
  sqlite::Database db((dir.path() / "platform.db").string());
  platform::UpdateRepository repository(db, dir.path() / "signing-keys");
  const int64_t t0 = 1'780'272'000, day = platform::UpdateRepository::kDay;
  repository.init(1, 1, t0);
  EXPECT_EQ(std::filesystem::status(dir.path() / "signing-keys").permissions(), std::filesystem::perms::owner_all);
  for (const auto& key : std::filesystem::directory_iterator(dir.path() / "signing-keys")) {
    EXPECT_EQ(key.status().permissions(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)
        << key.path();
  }
  EXPECT_FALSE(repository.renew(t0 + 3 * day));  // timestamp: 4 of 7 days left
  EXPECT_TRUE(repository.renew(t0 + 4 * day));   // 3 left: under half
  EXPECT_EQ(repository.version(Role::kTimestamp), 2);
  EXPECT_EQ(repository.version(Role::kSnapshot), 1);
  EXPECT_TRUE(repository.renew(t0 + 21 * day));  // snapshot: 9 of 30 days left
  EXPECT_EQ(repository.version(Role::kSnapshot), 2);
  EXPECT_EQ(repository.version(Role::kTimestamp), 3);
  EXPECT_TRUE(repository.renew(t0 + 61 * day));  // targets: 29 of 90 days left
  EXPECT_EQ(repository.version(Role::kTargets), 2);

  for (int i = 1; i <= 4; ++i)
    repository.publish_plugin("fim", "x86_64", "1." + std::to_string(i), "v" + std::to_string(i), t0 + 61 * day);
  std::vector<std::string> kept;
  for (const platform::PluginFile& file : repository.plugins()) kept.push_back(file.version);
  EXPECT_EQ(kept, (std::vector<std::string>{"1.2", "1.3", "1.4"}));

  // What the repository signed verifies as a whole chain, 61 days on.
  StoreInMemory store;
  store.documents[Role::kRoot] = *repository.metadata(Role::kRoot, 1);
  class Local : public tuf::Fetcher {
   public:
    explicit Local(platform::UpdateRepository& repository) : repository_(repository) {}
    Result<std::string> fetch(Role role, std::optional<int64_t> version, size_t) override {
      auto document = repository_.metadata(role, version);
      if (!document) return Error{"404", ErrorCode::kNotFound};
      return *document;
    }
    platform::UpdateRepository& repository_;
  } local(repository);
  tuf::Updater updater(store, local, [&] { return t0 + 61 * day; });
  ASSERT_TRUE(updater.refresh()) << updater.refresh().error();
  auto current = updater.find_target("plugins/x86_64/fim-1.4.so");
  ASSERT_TRUE(current);
  EXPECT_EQ(current->custom["current"], true);
  EXPECT_EQ(updater.find_target("plugins/x86_64/fim-1.3.so")->custom["current"], false);
}

}  // namespace
}  // namespace vigil::test
