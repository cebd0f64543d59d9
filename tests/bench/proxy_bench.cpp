// Connection set-up to the platform (TCP, CONNECT if any, TLS, one small
// exchange) by route, each reported as a ratio to the direct connection
// measured in the same run (counter x_direct):
// - direct (the reference);
// - through one proxy (squid, and tinyproxy, on 127.0.0.1);
// - after two dead proxies (refused at once) then the live one (squid);
// - through a PAC file (fetched once, evaluated by vigil-pac per connection) naming squid;
// - after one unresponsive proxy (SYNs dropped): the cost is ConnectTimeout,
//   never the kernel's TCP timeout (minutes).
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>

#include "https/https_client.h"
#include "platform_process.h"
#include "proxy/route_resolver.h"
#include "proxy_servers.h"
#include "test_support.h"
#include "vigil/net/tls.h"

namespace {

using namespace vigil;
using namespace vigil::test;
using Clock = std::chrono::steady_clock;

// A listening socket that never accepts, its one-slot queue filled: further
// connection attempts get no answer at all, like a proxy behind a dead route.
class UnresponsivePort {
 public:
  UnresponsivePort() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    ::listen(listener_, 0);
    socklen_t size = sizeof(address);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    for (int& filler : fillers_) {
      filler = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      ::connect(filler, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    }
  }
  ~UnresponsivePort() {
    for (int filler : fillers_) ::close(filler);
    ::close(listener_);
  }
  uint16_t port() const { return port_; }

 private:
  int listener_ = -1;
  int fillers_[3] = {-1, -1, -1};
  uint16_t port_ = 0;
};

struct Setup {
  TempDir dir;
  std::unique_ptr<PlatformProcess> platform;
  std::unique_ptr<ProxyServer> proxy;
  std::unique_ptr<ProxyServer> squid;
  std::unique_ptr<DocumentServer> pac;
  UnresponsivePort unresponsive;
  Paths paths;
  double direct_seconds = 0;  // the reference: mean direct set-up

  Setup() {
    platform = std::make_unique<PlatformProcess>(dir.path() / "platform");
    proxy = std::make_unique<ProxyServer>(dir.path() / "proxy", ProxyServer::Options{});
    squid = std::make_unique<ProxyServer>(dir.path() / "squid", ProxyServer::squid_options());
    if (!proxy->unavailable().empty()) throw std::runtime_error(proxy->unavailable());
    if (!squid->unavailable().empty()) throw std::runtime_error(squid->unavailable());
    pac = std::make_unique<DocumentServer>(std::map<std::string, std::string>{
        {"/p.pac", "function FindProxyForURL(u, h) { return isInNet(h, '127.0.0.0', '255.0.0.0') ? 'PROXY " +
                       squid->url().substr(7) + "' : 'DIRECT'; }"}});
    paths = Paths::under(dir.path() / "root");
    std::filesystem::create_directories(paths.run_dir);
    direct_seconds = measure({}, 50);
  }

  std::unique_ptr<link::HttpsClient> client(const std::map<std::string, std::string>& config) {
    auto tls = vigil::tls::client_context(std::filesystem::path(platform->ca_bundle())).value();
    proxy::ResolverOptions options;
    options.paths = paths;
    options.config = [config](const char* key) -> std::optional<std::string> {
      auto found = config.find(key);
      return found == config.end() ? std::nullopt : std::optional<std::string>(found->second);
    };
    options.environment = [](const char*) -> std::optional<std::string> { return std::nullopt; };
    options.pac_helper = VIGIL_PAC_PATH;
    options.tls = tls;
    auto resolver = std::make_shared<proxy::RouteResolver>(options);
    return std::make_unique<link::HttpsClient>(wire::parse_url(platform->url()).value(), tls, link::LinkTimeouts{},
                                               [resolver](const wire::Url& target) { return resolver->plan(target); });
  }

  // One new connection and one exchange; false when the platform did not answer.
  static bool connect_once(link::HttpsClient& client) {
    client.disconnect();
    (void)client.post("/v1/checkin", "");
    return client.http_status() != 0;
  }

  double measure(const std::map<std::string, std::string>& config, int rounds) {
    auto link_client = client(config);
    connect_once(*link_client);  // warm up (PAC fetch, caches)
    auto started = Clock::now();
    for (int i = 0; i < rounds; ++i) connect_once(*link_client);
    return std::chrono::duration<double>(Clock::now() - started).count() / rounds;
  }
};

Setup& setup() {
  static Setup instance;
  return instance;
}

void run(benchmark::State& state, const std::map<std::string, std::string>& config) {
  auto link_client = setup().client(config);
  Setup::connect_once(*link_client);
  auto started = Clock::now();
  int64_t rounds = 0;
  for (auto _ : state) {
    if (!Setup::connect_once(*link_client)) state.SkipWithError("the platform did not answer");
    ++rounds;
  }
  double seconds = std::chrono::duration<double>(Clock::now() - started).count() / static_cast<double>(rounds);
  state.counters["set_up_ms"] = seconds * 1000;
  state.counters["x_direct"] = seconds / setup().direct_seconds;
  state.SetLabel(link_client->route());
}

std::string dead() {
  return "http://127.0.0.1:" + std::to_string(refused_port());
}

void BM_Direct(benchmark::State& state) {
  run(state, {});
}
void BM_OneProxy_Squid(benchmark::State& state) {
  run(state, {{"ProxyUrls", setup().squid->url()}});
}
// tinyproxy relays without TCP_NODELAY: its delayed-ACK stall shows here, not ours.
void BM_OneProxy_Tinyproxy(benchmark::State& state) {
  run(state, {{"ProxyUrls", setup().proxy->url()}});
}
void BM_AfterTwoDeadProxies(benchmark::State& state) {
  run(state, {{"ProxyUrls", dead() + ";" + dead() + ";" + setup().squid->url()}});
}
void BM_Pac(benchmark::State& state) {
  run(state, {{"ProxyPac", "http://127.0.0.1:" + std::to_string(setup().pac->port()) + "/p.pac"}});
}
void BM_AfterOneUnresponsiveProxy_ConnectTimeout1s(benchmark::State& state) {
  run(state,
      {{"ProxyUrls", "http://127.0.0.1:" + std::to_string(setup().unresponsive.port()) + ";" + setup().squid->url()},
       {"ConnectTimeout", "1"}});
}

BENCHMARK(BM_Direct)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_OneProxy_Squid)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_OneProxy_Tinyproxy)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AfterTwoDeadProxies)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Pac)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AfterOneUnresponsiveProxy_ConnectTimeout1s)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace
