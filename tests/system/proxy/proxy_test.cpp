// The platform link through real proxies on 127.0.0.1: tinyproxy (plain and
// with Basic authentication), squid with TLS to the proxy, PAC files served
// over HTTP and evaluated by vigil-pac, WPAD, the proxy file and the
// environment. Each test talks to a real vigil-platform through the routes
// the resolver plans, exactly as the agent does.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>

#include "daemon_fixture.h"
#include "https/https_client.h"
#include "platform_process.h"
#include "proxy/route_resolver.h"
#include "proxy/secret_box.h"
#include "proxy_servers.h"
#include "store/config_table.h"
#include "store/state_store.h"
#include "test_support.h"
#include "vigil/net/tls.h"

namespace vigil::test {
namespace {

using namespace std::chrono_literals;

struct Attempt {
  std::string route;
  std::string failure;  // empty: connected
};

class ProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    platform_ = std::make_unique<PlatformProcess>(dir_.path() / "platform");
    ASSERT_TRUE(platform_->serving()) << platform_->log();
    paths_ = Paths::under(dir_.path() / "root");
    std::filesystem::create_directories(paths_.config_dir);
    std::filesystem::create_directories(paths_.run_dir);
  }

  std::unique_ptr<ProxyServer> proxy(ProxyServer::Options options = {}) {
    auto server = std::make_unique<ProxyServer>(dir_.path() / ("proxy" + std::to_string(++proxies_)), options);
    return server;
  }
  std::unique_ptr<ProxyServer> tls_proxy() {
    ProxyServer::Options options;
    options.tls = true;
    options.certificate = platform_->data() / "tls/server.crt";
    options.key = platform_->data() / "tls/server.key";
    return proxy(options);
  }

  // A client as the platform link makes it: routes planned from `config_`,
  // the proxy file under the root and `environment_`.
  std::unique_ptr<link::HttpsClient> client() {
    auto tls = vigil::tls::client_context(std::filesystem::path(platform_->ca_bundle()));
    EXPECT_TRUE(tls.ok());
    proxy::ResolverOptions options;
    options.paths = paths_;
    options.config = [this](const char* key) -> std::optional<std::string> {
      auto found = config_.find(key);
      return found == config_.end() ? std::nullopt : std::optional<std::string>(found->second);
    };
    options.environment = [this](const char* name) -> std::optional<std::string> {
      auto found = environment_.find(name);
      return found == environment_.end() ? std::nullopt : std::optional<std::string>(found->second);
    };
    options.pac_helper = VIGIL_PAC_PATH;
    options.tls = tls.value();
    options.pac_timeout = 1500ms;
    auto resolver = std::make_shared<proxy::RouteResolver>(options);
    auto url = wire::parse_url(platform_->url());
    return std::make_unique<link::HttpsClient>(
        url.value(), tls.value(), link::LinkTimeouts{},
        [resolver](const wire::Url& target) { return resolver->plan(target); },
        [this](const link::Route& route, const std::string& failure) {
          attempts_.push_back({route.display(), failure});
        });
  }

  // One request on a new connection; true when the platform itself answered
  // (any HTTP status: an empty check-in is refused, which proves the tunnel).
  bool reach(link::HttpsClient& link_client, std::string* error = nullptr) {
    attempts_.clear();
    link_client.disconnect();
    auto reply = link_client.post("/v1/checkin", "");
    if (error != nullptr) *error = reply.ok() ? std::string() : reply.error();
    return link_client.http_status() != 0;
  }

  std::string attempts_text() const {
    std::string text;
    for (const auto& attempt : attempts_)
      text += attempt.route + " -> " + (attempt.failure.empty() ? "ok" : attempt.failure) + "\n";
    return text;
  }

  void write_proxy_file(const std::string& text) { std::ofstream(paths_.config_dir / "proxy") << text; }

  TempDir dir_;
  std::unique_ptr<PlatformProcess> platform_;
  Paths paths_;
  std::map<std::string, std::string> config_;
  std::map<std::string, std::string> environment_;
  std::vector<Attempt> attempts_;
  int proxies_ = 0;
};

ProxyServer::Options authenticating(const std::string& user, const std::string& password) {
  ProxyServer::Options options;
  options.user = user;
  options.password = password;
  return options;
}

#define SKIP_UNLESS_RUNNING(server) \
  if (!(server)->unavailable().empty()) GTEST_SKIP() << (server)->unavailable()

TEST_F(ProxyTest, OneProxy_CarriesTheConnectionThroughConnect) {
  for (bool squid : {false, true}) {
    SCOPED_TRACE(squid ? "squid" : "tinyproxy");
    auto server = squid ? proxy(ProxyServer::squid_options()) : proxy();
    SKIP_UNLESS_RUNNING(server);
    config_["ProxyUrls"] = server->url();
    config_["ProxyDirectFallback"] = "off";
    auto link_client = client();
    ASSERT_TRUE(reach(*link_client)) << attempts_text();
    EXPECT_EQ(link_client->route(), "proxy " + server->url() + " (ProxyUrls)");
    link_client.reset();  // squid logs a tunnel when it closes
    ASSERT_TRUE(eventually([&] { return server->connects() == 1; }, 5)) << server->log();
    EXPECT_NE(server->log().find("CONNECT 127.0.0.1:" + std::to_string(platform_->port())), std::string::npos);
  }
}

TEST_F(ProxyTest, AuthenticatingProxy_RightWrongAndMissingCredentials) {
  // tinyproxy takes [-a-z0-9._] in BasicAuth; URL-encoded specials are unit-tested.
  auto tinyproxy = proxy(authenticating("agent", "s3cret.pass-1"));
  SKIP_UNLESS_RUNNING(tinyproxy);
  std::string address = tinyproxy->url().substr(7);
  config_["ProxyDirectFallback"] = "off";
  std::string error;

  config_["ProxyUrls"] = "http://agent:s3cret%2Epass%2D1@" + address;  // URL-encoded plain credentials
  EXPECT_TRUE(reach(*client(), &error)) << attempts_text();

  auto box = proxy::SecretBox::load_or_create(paths_.config_dir / "secret.key");
  ASSERT_TRUE(box.ok()) << box.error();
  config_["ProxyUrls"] = "http://#" + box->seal("agent") + ":#" + box->seal("s3cret.pass-1") + "@" + address;
  EXPECT_TRUE(reach(*client(), &error)) << attempts_text();

  config_["ProxyUrls"] = "http://" + address;  // credentials from ProxyUser / ProxyPassword
  config_["ProxyUser"] = "#" + box->seal("agent");
  config_["ProxyPassword"] = "#" + box->seal("s3cret.pass-1");
  EXPECT_TRUE(reach(*client(), &error)) << attempts_text();

  config_["ProxyPassword"] = "#" + box->seal("wrong");
  EXPECT_FALSE(reach(*client(), &error));
  EXPECT_NE(error.find("refused the configured credentials (40"), std::string::npos) << error;
  EXPECT_EQ(error.find("wrong"), std::string::npos) << "a secret in an error: " << error;

  config_.erase("ProxyUser");
  config_.erase("ProxyPassword");
  EXPECT_FALSE(reach(*client(), &error));
  EXPECT_NE(error.find("requires authentication (407) and no proxy credentials are set"), std::string::npos) << error;
  EXPECT_NE(error.find("fail closed"), std::string::npos) << error;
}

TEST_F(ProxyTest, DeadProxies_FailOverToTheFirstLiveOneInListOrder) {
  auto tinyproxy = proxy();
  SKIP_UNLESS_RUNNING(tinyproxy);
  std::vector<uint16_t> dead = {refused_port(), refused_port(), refused_port(), refused_port()};
  std::string list;
  for (uint16_t port : dead) list += "http://127.0.0.1:" + std::to_string(port) + ";";
  config_["ProxyUrls"] = list + tinyproxy->url() + ";http://127.0.0.1:" + std::to_string(refused_port());
  config_["ProxyDirectFallback"] = "off";
  auto link_client = client();
  for (int connection = 0; connection < 3; ++connection) {
    ASSERT_TRUE(reach(*link_client)) << attempts_text();
    // Every connection starts again from the first proxy: no memory of the last one that worked.
    ASSERT_EQ(attempts_.size(), 5u) << attempts_text();
    for (size_t i = 0; i < dead.size(); ++i) {
      EXPECT_EQ(attempts_[i].route, "proxy http://127.0.0.1:" + std::to_string(dead[i]) + " (ProxyUrls)");
      EXPECT_NE(attempts_[i].failure.find("cannot connect"), std::string::npos) << attempts_[i].failure;
    }
    EXPECT_TRUE(attempts_[4].failure.empty());
    EXPECT_EQ(link_client->route(), "proxy " + tinyproxy->url() + " (ProxyUrls)");
  }
}

TEST_F(ProxyTest, AllProxiesDead_DirectFallbackOnConnectsDirectly_OffFailsClosedNamingEach) {
  std::vector<uint16_t> dead = {refused_port(), refused_port()};
  config_["ProxyUrls"] =
      "http://127.0.0.1:" + std::to_string(dead[0]) + ";https://127.0.0.1:" + std::to_string(dead[1]);
  auto link_client = client();
  ASSERT_TRUE(reach(*link_client)) << attempts_text();
  EXPECT_EQ(link_client->route(), "direct");
  ASSERT_EQ(attempts_.size(), 3u) << attempts_text();

  config_["ProxyDirectFallback"] = "off";
  std::string error;
  EXPECT_FALSE(reach(*link_client, &error));
  EXPECT_EQ(attempts_.size(), 2u) << attempts_text();
  EXPECT_NE(error.find("proxy http://127.0.0.1:" + std::to_string(dead[0])), std::string::npos) << error;
  EXPECT_NE(error.find("proxy https://127.0.0.1:" + std::to_string(dead[1])), std::string::npos) << error;
  EXPECT_NE(error.find("Connection refused"), std::string::npos) << error;
  EXPECT_NE(error.find("direct fallback is off (fail closed)"), std::string::npos) << error;
}

// A proxy that accepts and never answers (a listening socket nobody
// accepts on: the kernel completes the handshake) costs one ConnectTimeout per
// attempt, its TLS handshake and CONNECT included, before the fallback.
TEST_F(ProxyTest, SilentProxy_EachAttemptEndsWithinTheConnectTimeout) {
  int silent = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(silent, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(silent, 16), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::getsockname(silent, reinterpret_cast<sockaddr*>(&address), &length), 0);
  std::string port = std::to_string(ntohs(address.sin_port));
  config_["ConnectTimeout"] = "1";
  for (const std::string scheme : {"https", "http"}) {
    config_["ProxyUrls"] = scheme + "://127.0.0.1:" + port;
    auto link_client = client();
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(reach(*link_client)) << attempts_text();
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_EQ(attempts_.size(), 2u) << attempts_text();
    EXPECT_FALSE(attempts_[0].failure.empty()) << attempts_text();
    EXPECT_EQ(attempts_[1].route, "direct");
    // 1 s for the proxy, then direct on loopback; the handshake timeout (10 s) no longer applies.
    EXPECT_LT(took, 5s) << scheme << ": " << attempts_text();
  }
  ::close(silent);
}

TEST_F(ProxyTest, RandomOrder_UsesEveryProxyFirstOverManyConnections_SequentialNever) {
  auto first = proxy();
  auto second = proxy();
  SKIP_UNLESS_RUNNING(first);
  SKIP_UNLESS_RUNNING(second);
  config_["ProxyUrls"] = first->url() + ";" + second->url();
  auto link_client = client();
  std::map<std::string, int> used;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(reach(*link_client)) << attempts_text();
    ++used[link_client->route()];
  }
  EXPECT_EQ(used.size(), 1u);
  EXPECT_EQ(used.begin()->first, "proxy " + first->url() + " (ProxyUrls)");

  config_["ProxyOrder"] = "random";
  used.clear();
  for (int i = 0; i < 40; ++i) {  // both orders: a 2^-39 chance of a false failure
    ASSERT_TRUE(reach(*link_client)) << attempts_text();
    ++used[link_client->route()];
  }
  EXPECT_EQ(used.size(), 2u);
  EXPECT_EQ(first->connects() + second->connects(), 50u);
}

TEST_F(ProxyTest, HttpsProxy_TlsToTheProxyThenTlsToThePlatformInside) {
  auto squid = tls_proxy();
  SKIP_UNLESS_RUNNING(squid);
  config_["ProxyUrls"] = squid->url();
  config_["ProxyDirectFallback"] = "off";
  auto link_client = client();
  ASSERT_TRUE(reach(*link_client)) << attempts_text() << squid->log();
  EXPECT_EQ(link_client->route(), "proxy " + squid->url() + " (ProxyUrls)");
}

TEST_F(ProxyTest, Pac_ServedOverHttp_ListWithHelpersIsFollowedInOrder) {
  auto tinyproxy = proxy();
  SKIP_UNLESS_RUNNING(tinyproxy);
  uint16_t dead = refused_port();
  std::string pac = R"(
    function FindProxyForURL(url, host) {
      if (isPlainHostName(host) || dnsDomainIs(host, ".intranet.example")) return "DIRECT";
      if (isInNet(host, "127.0.0.0", "255.0.0.0") && shExpMatch(url, "https://127.0.0.1:*"))
        return "PROXY 127.0.0.1:)" +
                    std::to_string(dead) + R"(; PROXY )" + tinyproxy->url().substr(7) + R"(; DIRECT";
      return "DIRECT";
    })";
  DocumentServer server({{"/proxy.pac", pac}});
  ASSERT_TRUE(server.unavailable().empty()) << server.unavailable();
  config_["ProxyPac"] = "http://127.0.0.1:" + std::to_string(server.port()) + "/proxy.pac";
  config_["ProxyDirectFallback"] = "off";
  auto link_client = client();
  ASSERT_TRUE(reach(*link_client)) << attempts_text();
  ASSERT_EQ(attempts_.size(), 2u) << attempts_text();
  EXPECT_EQ(attempts_[0].route, "proxy http://127.0.0.1:" + std::to_string(dead) + " (PAC)");
  EXPECT_EQ(link_client->route(), "proxy " + tinyproxy->url() + " (PAC)");
  EXPECT_EQ(tinyproxy->connects(), 1u);

  // The PAC file is fetched once and reused for the next connections.
  ASSERT_TRUE(reach(*link_client)) << attempts_text();
  EXPECT_EQ(server.requests(), 1u);
}

TEST_F(ProxyTest, Pac_ThatLoopsOrThrowsIsBoundedAndTreatedAsFailed) {
  DocumentServer server({{"/loop.pac", "function FindProxyForURL(u, h) { for (;;) {} }"},
                         {"/throw.pac", "function FindProxyForURL(u, h) { throw new Error('broken on purpose'); }"},
                         {"/none.pac", "var nothing = 1;"}});
  ASSERT_TRUE(server.unavailable().empty()) << server.unavailable();
  std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  struct Case {
    std::string path;
    std::string expected;
  };
  for (const Case& pac :
       {Case{"/loop.pac", "did not finish within its time limit"}, Case{"/throw.pac", "broken on purpose"},
        Case{"/none.pac", "defines no function FindProxyForURL"}, Case{"/missing.pac", "404"}}) {
    SCOPED_TRACE(pac.path);
    config_["ProxyPac"] = base + pac.path;
    config_["ProxyDirectFallback"] = "off";
    std::string error;
    auto started = std::chrono::steady_clock::now();
    EXPECT_FALSE(reach(*client(), &error));
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
    EXPECT_NE(error.find(pac.expected), std::string::npos) << error;
    EXPECT_NE(error.find("fail closed"), std::string::npos) << error;

    config_["ProxyDirectFallback"] = "on";  // fail open: straight to the platform
    ASSERT_TRUE(reach(*client(), &error)) << error;
  }
}

TEST_F(ProxyTest, NoProxy_SendsMatchingHostsDirect_FromTheProxyFileAndTheEnvironment) {
  uint16_t dead = refused_port();
  std::string dead_url = "http://127.0.0.1:" + std::to_string(dead);
  config_["ProxyDirectFallback"] = "off";
  std::string error;

  write_proxy_file("# platform traffic only\nvigil_https_proxy=" + dead_url + "\n");
  EXPECT_FALSE(reach(*client(), &error)) << attempts_text();
  EXPECT_NE(error.find("(proxy file)"), std::string::npos) << error;
  write_proxy_file("vigil_https_proxy=" + dead_url + "\nno_proxy=localhost,127.0.0.0/8\n");
  ASSERT_TRUE(reach(*client(), &error)) << error;
  EXPECT_EQ(attempts_.front().route, "direct");

  std::filesystem::remove(paths_.config_dir / "proxy");
  environment_["https_proxy"] = dead_url;
  EXPECT_FALSE(reach(*client(), &error));
  EXPECT_NE(error.find("(environment)"), std::string::npos) << error;
  environment_["no_proxy"] = ".example.com, 127.0.0.1";
  ASSERT_TRUE(reach(*client(), &error)) << error;
  environment_.erase("no_proxy");
  config_["ProxySystem"] = "off";  // the environment is ignored
  ASSERT_TRUE(reach(*client(), &error)) << error;
}

TEST_F(ProxyTest, ProxyFile_VigilHttpsProxyWinsOverHttpsProxyForPlatformTraffic) {
  auto tinyproxy = proxy();
  SKIP_UNLESS_RUNNING(tinyproxy);
  config_["ProxyDirectFallback"] = "off";
  write_proxy_file("export https_proxy=\"http://127.0.0.1:" + std::to_string(refused_port()) +
                   "\"\nvigil_https_proxy=" + tinyproxy->url() + "\n");
  auto link_client = client();
  ASSERT_TRUE(reach(*link_client)) << attempts_text();
  EXPECT_EQ(link_client->route(), "proxy " + tinyproxy->url() + " (proxy file)");

  write_proxy_file("https_proxy=" + tinyproxy->url() + "\n");
  ASSERT_TRUE(reach(*link_client)) << attempts_text();
  EXPECT_EQ(tinyproxy->connects(), 2u);
}

TEST_F(ProxyTest, Wpad_FindsThePacUnderTheDnsDomain) {
  auto tinyproxy = proxy();
  SKIP_UNLESS_RUNNING(tinyproxy);
  // WPAD is http://wpad.<domain>/wpad.dat: port 80.
  DocumentServer server(
      {{"/wpad.dat", "function FindProxyForURL(u, h) { return 'PROXY " + tinyproxy->url().substr(7) + "'; }"}}, 80);
  if (!server.unavailable().empty()) GTEST_SKIP() << "WPAD needs 127.0.0.1:80: " << server.unavailable();
  std::filesystem::create_directories(paths_.root / "etc");
  std::ofstream(paths_.root / "etc/resolv.conf") << "nameserver 127.0.0.1\nsearch eu.corp.test\n";
  std::ofstream(paths_.root / "etc/hosts") << "127.0.0.1 localhost\n127.0.0.1 wpad.corp.test\n";
  config_["ProxyWpad"] = "on";
  config_["ProxyDirectFallback"] = "off";
  auto link_client = client();
  ASSERT_TRUE(reach(*link_client)) << attempts_text();
  EXPECT_EQ(link_client->route(), "proxy " + tinyproxy->url() + " (WPAD)");

  config_["ProxyWpad"] = "off";
  ASSERT_TRUE(reach(*link_client)) << attempts_text();
  EXPECT_EQ(link_client->route(), "direct");
}

TEST_F(ProxyTest, InvalidSettings_FailClosedWithTheReason) {
  config_["ProxyUrls"] = "socks5://127.0.0.1:1080";
  std::string error;
  EXPECT_FALSE(reach(*client(), &error));
  EXPECT_NE(error.find("ProxyUrls: proxy 1 of 1: invalid proxy URL 'socks5://127.0.0.1:1080': unsupported scheme"),
            std::string::npos)
      << error;
  EXPECT_TRUE(attempts_.empty());
}

std::string read_all(const std::filesystem::path& path) {
  std::string text;
  std::error_code error;
  auto add = [&](const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    text += std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  if (std::filesystem::is_directory(path, error)) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(path, error)) {
      if (entry.is_regular_file()) add(entry.path());
    }
  } else {
    add(path);
  }
  return text;
}

TEST_F(ProxyTest, Vigilctl_ValidatesEveryCombinationAndWritesAllOrNothing) {
  auto root = dir_.path() / "ctl";
  auto config = [&](const char* key) -> std::string {
    auto store = StateStore::open(root / "var/lib/vigil/config.db");
    auto value = store.value()->config().get(key);
    return value.ok() && value.value() ? *value.value() : std::string("(unset)");
  };
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  for (const Case& bad :
       {Case{{"proxy"}, "nothing to do"}, Case{{"proxy", "/n", "bob"}, "need --url (/u) or --pac (/a)"},
        Case{{"proxy", "/u", "http://a:1", "/p", "x"}, "--password (/p) needs --user (/n)"},
        Case{{"proxy", "/u", "http://a:1", "/a", "http://x/p.pac"}, "exclude each other"},
        Case{{"proxy", "/d", "/u", "http://a:1"}, "cannot be combined"},
        Case{{"proxy", "/u", "http://a:1;ftp://b:2"}, "proxy 2 of 2"},
        Case{{"proxy", "/u", "http://a:1", "/w", "maybe"}, "ProxyWpad must be on or off"},
        Case{{"proxy", "/a", "gopher://x/p.pac"}, "must start with http://, https:// or file:///"},
        Case{{"proxy", "--order", "sometimes"}, "ProxyOrder must be"},
        Case{{"proxy", "--connect-timeout", "0"}, "ConnectTimeout must be 1-120"}}) {
    auto result = vigilctl(root, bad.args);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_NE(result.err.find(bad.message), std::string::npos) << result.err;
  }
  std::error_code missing;
  if (std::filesystem::exists(root / "var/lib/vigil/config.db", missing)) {
    EXPECT_EQ(config("ProxyUrls"), "(unset)") << "a refused command wrote something";
  }

  // Plain credentials are stored as tokens; the list order is kept.
  auto saved = vigilctl(
      root, {"proxy", "/u", "http://ops:pa%24%24word@p1:3128;https://p2:8443;http://p3:1;http://p4:2;http://p5:3",
             "--order", "random", "/t", "off", "/w", "off", "/h", "on", "--connect-timeout", "2"});
  ASSERT_EQ(saved.exit_code, 0) << saved.err;
  std::string stored = config("ProxyUrls");
  EXPECT_EQ(stored.find("pa$$word"), std::string::npos);
  EXPECT_EQ(stored.find("ops"), std::string::npos);
  EXPECT_EQ(stored.substr(0, 9), "http://#v");
  EXPECT_NE(stored.find("@p1:3128;https://p2:8443;http://p3:1;http://p4:2;http://p5:3"), std::string::npos);
  EXPECT_EQ(config("ProxyOrder"), "random");
  auto shown = vigilctl(root, {"proxy", "--show"});
  EXPECT_NE(shown.out.find("http://***@p1:3128;https://p2:8443"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("Direct fallback:  off"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("Connect timeout:  2 s"), std::string::npos) << shown.out;

  // Tokens from encrypt-string work inside URLs; a token from another machine's key does not.
  auto user = vigilctl(root, {"encrypt-string", "ops"});
  ASSERT_EQ(user.exit_code, 0);
  std::string token = user.out.substr(0, user.out.find('\n'));
  EXPECT_EQ(vigilctl(root, {"proxy", "/u", "http://#" + token + "@p1:3128"}).exit_code, 0);
  auto elsewhere = vigilctl(dir_.path() / "other", {"encrypt-string", "ops"});
  std::string foreign = elsewhere.out.substr(0, elsewhere.out.find('\n'));
  auto refused = vigilctl(root, {"proxy", "/u", "http://#" + foreign + "@p1:3128"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("made with another key"), std::string::npos) << refused.err;
  EXPECT_NE(config("ProxyUrls").find(token), std::string::npos) << "the refused command changed the settings";

  // --delete removes every proxy setting.
  ASSERT_EQ(vigilctl(root, {"proxy", "/d"}).exit_code, 0);
  for (const char* key : {"ProxyUrls", "ProxyOrder", "ProxyDirectFallback", "ProxyWpad", "ConnectTimeout"}) {
    EXPECT_EQ(config(key), "(unset)") << key;
  }
}

TEST_F(ProxyTest, Vigilctl_PasswordFromStdin_ReplacedAloneWithoutTheUrl) {
  auto root = dir_.path() / "ctl";
  auto config = [&](const char* key) -> std::string {
    auto store = StateStore::open(root / "var/lib/vigil/config.db");
    auto value = store.value()->config().get(key);
    return value.ok() && value.value() ? *value.value() : std::string();
  };
  auto with_stdin = [&](const std::string& input, const std::string& args) {
    return run(
        {"/bin/sh", "-c",
         "printf '" + input + "' | " + std::string(VIGILCTL_PATH) + " --root " + root.string() + " proxy " + args});
  };
  auto opened = [&](std::string token) {
    auto box = proxy::SecretBox::load(root / "etc/vigil/secret.key");
    if (!box.ok()) return box.error();
    if (!token.empty() && token.front() == '#') token.erase(0, 1);
    auto plain = box->open(token);
    return plain.ok() ? plain.value() : plain.error();
  };

  auto saved = with_stdin("first-pw\\n", "--url http://127.0.0.1:3128 --user ops --password-stdin");
  ASSERT_EQ(saved.exit_code, 0) << saved.err;
  EXPECT_EQ(opened(config("ProxyPassword")), "first-pw");
  EXPECT_EQ(opened(config("ProxyUser")), "ops");

  // The password alone: the user and the URL stay.
  auto replaced = with_stdin("second-pw\\n", "--password-stdin");
  ASSERT_EQ(replaced.exit_code, 0) << replaced.err;
  EXPECT_NE(replaced.out.find("proxy password replaced"), std::string::npos);
  EXPECT_EQ(opened(config("ProxyPassword")), "second-pw");
  EXPECT_EQ(opened(config("ProxyUser")), "ops");
  EXPECT_EQ(config("ProxyUrls"), "http://127.0.0.1:3128");

  // Credentials inside the one URL that has them.
  ASSERT_EQ(vigilctl(root, {"proxy", "--url", "http://bob:old@127.0.0.1:3128;http://127.0.0.1:3129"}).exit_code, 0);
  ASSERT_EQ(with_stdin("fresh\\n", "--password-stdin").exit_code, 0);
  auto list = proxy::parse_proxy_list(config("ProxyUrls"));
  ASSERT_TRUE(list.ok()) << list.error();
  ASSERT_TRUE(list.value()[0].password && list.value()[0].user);
  EXPECT_EQ(opened(list.value()[0].password->text), "fresh");
  EXPECT_EQ(opened(list.value()[0].user->text), "bob");
  EXPECT_EQ(list.value()[1].address.to_string(), "127.0.0.1:3129");

  // What cannot be meant is refused, and nothing is written.
  ASSERT_EQ(vigilctl(root, {"proxy", "--url", "http://a:1@127.0.0.1:1;http://b:2@127.0.0.1:2"}).exit_code, 0);
  std::string before = config("ProxyUrls");
  auto ambiguous = with_stdin("x\\n", "--password-stdin");
  EXPECT_EQ(ambiguous.exit_code, 2);
  EXPECT_NE(ambiguous.err.find("several proxies carry credentials"), std::string::npos) << ambiguous.err;
  auto both = with_stdin("x\\n", "--password y --password-stdin");
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("exclude each other"), std::string::npos) << both.err;
  auto empty = run({"/bin/sh", "-c",
                    std::string(VIGILCTL_PATH) + " --root " + root.string() + " proxy --password-stdin </dev/null"});
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_NE(empty.err.find("nothing on stdin"), std::string::npos) << empty.err;
  EXPECT_EQ(config("ProxyUrls"), before);
}

TEST_F(ProxyTest, ProxyFile_HttpsProxyReachesTheCommandsScansRun_VigilHttpsProxyDoesNot) {
  auto root = dir_.path() / "commands";
  install_plugins(root, {plugin("test_scanner")});
  std::filesystem::create_directories(root / "etc/vigil");
  std::ofstream(root / "etc/vigil/proxy") << "https_proxy=http://proxy.corp.example:3128\n"
                                             "vigil_https_proxy=http://platform-only.corp.example:3128\n"
                                             "no_proxy=.corp.example\n";
  auto manifest = dir_.path() / "env.manifest";
  std::ofstream(manifest) << "exec /usr/bin/env\n";
  Daemon daemon(root);
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  ASSERT_EQ(vigilctl(root, {"manifest", "set", "--module", "testscan", "--file", manifest.string()}).exit_code, 0);
  ASSERT_EQ(vigilctl(root, {"demand", "--type", "testscan", "--wait"}).exit_code, 0) << daemon.log();
  auto results = vigilctl(root, {"results", "--module", "testscan", "--json"});
  ASSERT_EQ(results.exit_code, 0) << results.err;
  std::string output = nlohmann::json::parse(results.out)["rows"][0]["values"]["output"];
  EXPECT_NE(output.find("https_proxy=http://proxy.corp.example:3128\n"), std::string::npos) << output;
  EXPECT_NE(output.find("HTTPS_PROXY=http://proxy.corp.example:3128\n"), std::string::npos) << output;
  EXPECT_NE(output.find("no_proxy=.corp.example\n"), std::string::npos) << output;
  EXPECT_EQ(output.find("platform-only"), std::string::npos) << output;
}

// Through vigild and vigilctl: provisioning through an authenticating proxy,
// proxy changes without a restart, and the credentials nowhere in clear.
TEST_F(ProxyTest, Agent_ProvisionsThroughAProxy_AppliesChangesLive_KeepsSecretsHidden) {
  const std::string password = "s3cret.pass-1";
  auto tinyproxy = proxy(authenticating("agent", password));
  SKIP_UNLESS_RUNNING(tinyproxy);
  auto root = dir_.path() / "agent";
  install_plugins(root, {plugin("test_scanner")});
  auto set = vigilctl(root, {"proxy", "/u", tinyproxy->url(), "/n", "agent", "/p", password, "/t", "off"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  {
    auto store = StateStore::open(root / "var/lib/vigil/config.db");
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(store.value()->config().set("LinkBackoffMaxSeconds", "1").ok());
  }
  Daemon daemon(root);
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  auto provisioned = vigilctl(
      root, {"provision", "CustomerId=" + platform_->customer_id(), "ActivationId=" + platform_->activation_id(),
             "WebServiceUri=" + platform_->url(), "CaBundle=" + platform_->ca_bundle()});
  ASSERT_EQ(provisioned.exit_code, 0) << provisioned.err << daemon.log();
  EXPECT_GE(tinyproxy->connects(), 1u);
  auto status = [&] { return nlohmann::json::parse(vigilctl(root, {"status", "--json"}).out)["platform"]; };
  EXPECT_EQ(status()["route"], "proxy " + tinyproxy->url() + " (ProxyUrls)");

  auto shown = vigilctl(root, {"proxy", "/c"});
  EXPECT_EQ(shown.exit_code, 0);
  EXPECT_NE(shown.out.find("user and password set, encrypted"), std::string::npos) << shown.out;

  // A dead proxy and fail closed: the next connection fails and says why.
  std::string dead = "http://127.0.0.1:" + std::to_string(refused_port());
  ASSERT_EQ(vigilctl(root, {"proxy", "--url", dead, "--direct-fallback", "off"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] {
    auto platform = status();
    return platform.value("state", "") != "connected" &&
           platform.value("last_error", "").find("proxy " + dead + " (ProxyUrls)") != std::string::npos &&
           platform.value("last_error", "").find("fail closed") != std::string::npos;
  })) << status().dump()
      << daemon.log();
  // The route shown is none, not the last one that worked; the proxy's failure is listed.
  EXPECT_EQ(status().value("route", "").rfind("none (proxy " + dead, 0), 0u) << status().dump();
  EXPECT_EQ(status()["proxies"][dead]["state"], "failed") << status().dump();

  // Direct fallback on: direct carries the link, and the dead proxy stays visible.
  ASSERT_EQ(vigilctl(root, {"proxy", "--url", dead, "--direct-fallback", "on"}).exit_code, 0);
  auto connected_directly = [&] {
    vigilctl(root, {"checkin"});
    auto platform = status();
    return platform.value("state", "") == "connected" && platform.value("route", "") == "direct";
  };
  ASSERT_TRUE(eventually(connected_directly)) << status().dump() << daemon.log();
  auto proxies = status()["proxies"];
  EXPECT_EQ(proxies[dead]["state"], "failed") << proxies.dump();
  EXPECT_NE(proxies[dead].value("error", "").find("Connection refused"), std::string::npos) << proxies.dump();
  std::string text = vigilctl(root, {"status"}).out;
  EXPECT_NE(text.find("route:    direct\n          proxy " + dead + " failed at "), std::string::npos) << text;

  // No proxy settings: direct again, still without a restart.
  ASSERT_EQ(vigilctl(root, {"proxy", "/d"}).exit_code, 0);
  ASSERT_TRUE(eventually(connected_directly)) << status().dump() << daemon.log();

  for (const auto& place : {root / "var/lib/vigil", root / "var/log/vigil", root / "vigild.out", root / "run/vigil"}) {
    EXPECT_EQ(read_all(place).find(password), std::string::npos) << "the proxy password in clear under " << place;
  }
  EXPECT_EQ(shown.out.find(password), std::string::npos);
}

}  // namespace
}  // namespace vigil::test
