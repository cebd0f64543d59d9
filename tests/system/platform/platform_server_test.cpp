// The reference platform as a server: TLS policy, bad and oversized requests
// (4xx, never a crash), authentication, and duplicate agent detection.
#include <openssl/ssl.h>
#include <signal.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "daemon_fixture.h"
#include "https/https_client.h"
#include "platform_process.h"
#include "vigil/agent/v1/agent.pb.h"
#include "vigil/net/tls.h"

namespace vigil::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace v1 = ::vigil::agent::v1;

class PlatformServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    platform_ = std::make_unique<PlatformProcess>(dir_.path() / "platform");
    ASSERT_TRUE(platform_->serving()) << platform_->log();
  }
  std::unique_ptr<link::HttpsClient> client() {
    auto url = wire::parse_url(platform_->url());
    auto tls = vigil::tls::client_context(std::filesystem::path(platform_->ca_bundle()));
    return std::make_unique<link::HttpsClient>(url.value(), tls.value());
  }
  // One raw request over a fresh TLS connection; the status, or 0 when the exchange failed.
  int raw(http::request<http::string_body> request) {
    asio::io_context io;
    asio::ssl::context tls(asio::ssl::context::tls_client);
    tls.load_verify_file(platform_->ca_bundle());
    tls.set_verify_mode(asio::ssl::verify_peer);
    asio::ssl::stream<beast::tcp_stream> stream(io, tls);
    asio::ip::tcp::resolver resolver(io);
    beast::get_lowest_layer(stream).connect(resolver.resolve("127.0.0.1", std::to_string(platform_->port())));
    stream.handshake(asio::ssl::stream_base::client);
    request.set(http::field::host, "127.0.0.1");
    request.prepare_payload();
    boost::system::error_code error;
    http::write(stream, request, error);
    if (error) return 0;
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response, error);
    return error ? 0 : static_cast<int>(response.result_int());
  }
  v1::ProvisionResponse provision(const std::string& fingerprint) {
    v1::ProvisionRequest request;
    request.set_protocol(v1::PROTOCOL_1);
    request.set_customer_id(platform_->customer_id());
    request.set_activation_id(platform_->activation_id());
    request.mutable_facts()->set_fingerprint(fingerprint);
    auto reply = client()->post("/v1/provision", request.SerializeAsString());
    EXPECT_TRUE(reply.ok()) << reply.error();
    v1::ProvisionResponse response;
    EXPECT_TRUE(reply.ok() && response.ParseFromString(reply.value()));
    return response;
  }

  TempDir dir_;
  std::unique_ptr<PlatformProcess> platform_;
};

TEST_F(PlatformServerTest, AnUnknownAdminCommandIsNamedWithTheKnownOnes) {
  auto unknown = platform_->admin({"no-such-command"});
  EXPECT_EQ(unknown.exit_code, 2);  // a usage error, as vigilctl's
  EXPECT_NE(unknown.err.find("unknown admin command 'no-such-command'"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("key-create"), std::string::npos) << unknown.err;
  auto help = platform_->admin({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("package-set"), std::string::npos) << help.out;
  auto bad_option = platform_->admin({"demand", "--agent", "x"});  // --module missing
  EXPECT_EQ(bad_option.exit_code, 2) << bad_option.err;
}

TEST_F(PlatformServerTest, RefusesTls11AndOlder) {
  for (int version : {TLS1_VERSION, TLS1_1_VERSION}) {
    asio::io_context io;
    asio::ssl::context tls(asio::ssl::context::tls_client);
    SSL_CTX_set_security_level(tls.native_handle(), 0);  // let this client even try
    SSL_CTX_set_min_proto_version(tls.native_handle(), version);
    SSL_CTX_set_max_proto_version(tls.native_handle(), version);
    SSL_CTX_set_cipher_list(tls.native_handle(), "DEFAULT:@SECLEVEL=0");
    asio::ssl::stream<asio::ip::tcp::socket> stream(io, tls);
    asio::ip::tcp::resolver resolver(io);
    asio::connect(stream.next_layer(), resolver.resolve("127.0.0.1", std::to_string(platform_->port())));
    boost::system::error_code error;
    stream.handshake(asio::ssl::stream_base::client, error);
    EXPECT_TRUE(error) << "TLS version " << std::hex << version << " was accepted";
  }
  // TLS 1.2 and 1.3 are served.
  v1::ProvisionResponse response = provision("f");
  EXPECT_FALSE(response.agent_id().empty());
}

TEST_F(PlatformServerTest, BadRequestsGet4xxAndTheServerLivesOn) {
  // Each status comes with the code the agent acts on (https_client.h).
  auto c = client();
  auto garbage = c->post("/v1/checkin", "\xff\xff\xff garbage");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(c->http_status(), 400);
  EXPECT_EQ(garbage.code(), ErrorCode::kInvalidArgument);
  auto nowhere = c->post("/v1/nothing", "");
  ASSERT_FALSE(nowhere.ok());
  EXPECT_EQ(c->http_status(), 404);
  EXPECT_EQ(nowhere.code(), ErrorCode::kNotFound);
  v1::CheckinRequest unknown;
  unknown.set_agent_id("00000000-0000-4000-8000-000000000000");
  unknown.set_agent_token("x");
  auto stranger_agent = c->post("/v1/checkin", unknown.SerializeAsString());
  ASSERT_FALSE(stranger_agent.ok());
  EXPECT_EQ(c->http_status(), 401);
  EXPECT_EQ(stranger_agent.code(), ErrorCode::kUnauthenticated);
  v1::ProvisionRequest stranger;
  stranger.set_customer_id("00000000-0000-4000-8000-000000000000");
  stranger.set_activation_id(platform_->activation_id());
  auto refused = c->post("/v1/provision", stranger.SerializeAsString());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(c->http_status(), 403);
  EXPECT_EQ(refused.code(), ErrorCode::kPermissionDenied);

  http::request<http::string_body> get{http::verb::get, "/v1/checkin", 11};
  EXPECT_EQ(raw(get), 405);
  http::request<http::string_body> huge{http::verb::post, "/v1/upload", 11};
  huge.body() = std::string(size_t{17} << 20, 'x');
  int status = raw(huge);
  EXPECT_TRUE(status == 413 || status == 0) << status;  // refused before the body is read, or cut off
  http::request<http::string_body> bomb{http::verb::post, "/v1/upload", 11};
  bomb.set(http::field::content_encoding, "gzip");
  bomb.body() = "not gzip at all";
  EXPECT_EQ(raw(bomb), 400);

  // Still serving, and the kept-alive connection still works.
  EXPECT_FALSE(provision("f").agent_id().empty());
  EXPECT_TRUE(platform_->serving());
}

// A chunk of snapshot `snapshot` of module "testscan" adding row `id` of table t.
std::string chunk_adding(int64_t snapshot, uint32_t index, bool last, const std::string& id) {
  v1::DeltaChunk chunk;
  chunk.set_module("testscan");
  chunk.set_snapshot_id(snapshot);
  chunk.set_chunk_index(index);
  chunk.set_last_chunk(last);
  v1::Row* row = chunk.add_added();
  row->set_table("t");
  v1::Column* key = row->add_key();
  key->set_name("id");
  key->set_value(id);
  v1::Column* value = row->add_values();
  value->set_name("v");
  value->set_value("1");
  return chunk.SerializeAsString();
}

TEST_F(PlatformServerTest, UploadsAreAppliedOncePerModuleAndBadPayloadsRefused) {
  v1::ProvisionResponse agent = provision("f");
  auto c = client();
  v1::UploadRequest upload;
  upload.set_agent_id(agent.agent_id());
  upload.set_agent_token(agent.agent_token());
  upload.set_module("testscan");
  upload.set_kind("delta");
  auto send = [&](int64_t sequence, const std::string& payload) -> std::optional<v1::UploadResponse> {
    upload.set_sequence(sequence);
    upload.set_payload(payload);
    auto reply = c->post("/v1/upload", upload.SerializeAsString());
    if (!reply.ok()) return std::nullopt;
    v1::UploadResponse response;
    EXPECT_TRUE(response.ParseFromString(reply.value()));
    EXPECT_EQ(response.acknowledged_sequence(), sequence);
    return response;
  };
  auto results = [&] { return platform_->admin_json({"results", "--agent", agent.agent_id()})["results"]; };

  // A snapshot in three chunks: nothing is visible until the last one is applied.
  ASSERT_FALSE(send(5, chunk_adding(1, 0, false, "a"))->duplicate());
  EXPECT_TRUE(send(5, chunk_adding(1, 0, false, "a"))->duplicate());  // a retry after a lost reply
  ASSERT_TRUE(send(6, chunk_adding(1, 1, false, "b")));
  EXPECT_FALSE(results().contains("testscan"));
  ASSERT_TRUE(send(9, chunk_adding(1, 2, true, "c")));  // gaps between sequences are normal
  EXPECT_EQ(results()["testscan"]["t"].size(), 3u);

  // Another module's sequences interleave with these and are counted on their own.
  upload.set_module("other");
  upload.set_kind("events");
  v1::EventBatch batch;
  batch.add_events()->set_table("fs");
  ASSERT_FALSE(send(7, batch.SerializeAsString())->duplicate());
  upload.set_module("testscan");
  upload.set_kind("delta");

  // Out of order, not a chunk, not this module: refused for good (422), nothing applied.
  EXPECT_FALSE(send(10, chunk_adding(2, 1, true, "d")));
  EXPECT_EQ(c->http_status(), 422);
  EXPECT_FALSE(send(11, "\xff\xff not protobuf"));
  EXPECT_EQ(c->http_status(), 422);
  upload.set_module("vm");
  EXPECT_FALSE(send(12, chunk_adding(2, 0, true, "d")));
  EXPECT_EQ(c->http_status(), 422);
  upload.set_module("testscan");
  EXPECT_EQ(results()["testscan"]["t"].size(), 3u);

  // A snapshot that never completed is replaced by the next one's first chunk.
  ASSERT_TRUE(send(13, chunk_adding(3, 0, false, "stale")));
  ASSERT_TRUE(send(14, chunk_adding(4, 0, true, "e")));
  json rows = results()["testscan"]["t"];
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& row : rows) EXPECT_NE(row["key"]["id"], "stale");
  json uploads = platform_->admin_json({"results", "--agent", agent.agent_id()})["uploads"];
  EXPECT_EQ(uploads["testscan"]["uploads"], 5);
  EXPECT_EQ(uploads["other"]["uploads"], 1);
}

TEST_F(PlatformServerTest, ACheckinFromAnotherMachineIsToldToReprovision) {
  v1::ProvisionResponse agent = provision("original-fingerprint");
  v1::CheckinRequest checkin;
  checkin.set_agent_id(agent.agent_id());
  checkin.set_agent_token(agent.agent_token());
  checkin.set_fingerprint("original-fingerprint");
  auto c = client();
  auto reply = c->post("/v1/checkin", checkin.SerializeAsString());
  ASSERT_TRUE(reply.ok()) << reply.error();
  v1::CheckinResponse response;
  ASSERT_TRUE(response.ParseFromString(reply.value()));
  for (const auto& command : response.commands()) EXPECT_FALSE(command.has_reprovision());

  checkin.set_fingerprint("a-copy-of-the-disk");
  reply = c->post("/v1/checkin", checkin.SerializeAsString());
  ASSERT_TRUE(reply.ok()) << reply.error();
  ASSERT_TRUE(response.ParseFromString(reply.value()));
  ASSERT_EQ(response.commands_size(), 1);
  EXPECT_EQ(response.commands(0).reprovision().reason(), "duplicate");
}

TEST_F(PlatformServerTest, ARotatedTokenReplacesTheOldOneOnceTheAgentUsesIt) {
  v1::ProvisionResponse agent = provision("rotating-fingerprint");
  auto checkin = [&](const std::string& token, std::vector<uint64_t> done = {}) {
    v1::CheckinRequest request;
    request.set_protocol(v1::PROTOCOL_1);
    request.set_agent_id(agent.agent_id());
    request.set_agent_token(token);
    for (uint64_t id : done) request.add_done_commands(id);
    auto c = client();
    auto reply = c->post("/v1/checkin", request.SerializeAsString());
    std::pair<int, v1::CheckinResponse> answer{c->http_status(), {}};
    if (reply.ok()) answer.second.ParseFromString(reply.value());
    return answer;
  };
  auto rotation_in = [](const v1::CheckinResponse& response) -> std::pair<uint64_t, std::string> {
    for (const auto& command : response.commands()) {
      if (command.has_rotate_token()) return {command.id(), command.rotate_token().agent_token()};
    }
    return {0, ""};
  };
  const std::string original = agent.agent_token();
  auto ordered = platform_->admin({"rotate-token", "--agent", agent.agent_id()});
  ASSERT_EQ(ordered.exit_code, 0) << ordered.err;

  auto [id, first] = rotation_in(checkin(original).second);
  ASSERT_FALSE(first.empty());
  EXPECT_NE(first, original);
  // The reply was "lost": the agent checks in with the old token and gets a fresh one.
  auto [again_id, second] = rotation_in(checkin(original).second);
  EXPECT_EQ(again_id, id);
  ASSERT_FALSE(second.empty());
  EXPECT_NE(second, first);
  EXPECT_EQ(checkin(first).first, 401) << "only the last token handed out may take over";

  // The order survives a platform restart; an acknowledgement alone does not end it.
  platform_->kill(SIGTERM);
  ASSERT_TRUE(platform_->start()) << platform_->log();
  EXPECT_EQ(checkin(original, {id}).first, 200);
  auto [still_id, third] = rotation_in(checkin(original).second);
  ASSERT_FALSE(third.empty()) << "acknowledged with the old token: the rotation is not done";

  auto switched = checkin(third, {still_id});
  EXPECT_EQ(switched.first, 200);
  EXPECT_EQ(rotation_in(switched.second).second, "");
  EXPECT_EQ(checkin(original).first, 401);
  EXPECT_EQ(checkin(third).first, 200);
  platform_->kill(SIGTERM);
  ASSERT_TRUE(platform_->start()) << platform_->log();
  EXPECT_EQ(checkin(original).first, 401);
  EXPECT_EQ(checkin(third).first, 200);
  EXPECT_NE(platform_->log().find("token rotated"), std::string::npos);
  EXPECT_EQ(platform_->log().find(third), std::string::npos) << "a token in the platform's log";

  auto unknown = platform_->admin({"rotate-token", "--agent", "00000000-0000-0000-0000-000000000000"});
  EXPECT_NE(unknown.exit_code, 0);
}

TEST_F(PlatformServerTest, AnIdleCheckinIsSmall) {
  v1::ProvisionResponse agent = provision("0123456789abcdef0123456789abcdef");
  v1::CheckinRequest checkin;
  checkin.set_protocol(v1::PROTOCOL_1);
  checkin.set_agent_id(agent.agent_id());
  checkin.set_agent_token(agent.agent_token());
  checkin.set_state_version(agent.state().version());
  checkin.set_status_digest("0123456789abcdef");
  checkin.set_fingerprint("0123456789abcdef0123456789abcdef");
  auto c = client();
  auto reply = c->post("/v1/checkin", checkin.SerializeAsString());
  ASSERT_TRUE(reply.ok()) << reply.error();
  EXPECT_LT(c->last_request_bytes() + c->last_reply_bytes(), 300u);
}

}  // namespace
}  // namespace vigil::test
