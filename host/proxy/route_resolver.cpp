#include "proxy/route_resolver.h"

#include "vigil/text/text.h"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include "https/http_get.h"
#include "proxy/pac.h"
#include "proxy/secret_box.h"
#include "vigil/crypto/digest.h"

namespace vigil::proxy {
namespace {

using Clock = std::chrono::steady_clock;

// The address this machine would use towards `host` (PAC myIpAddress()):
// a connected UDP socket sends nothing but picks the source address.
std::string local_address_towards(const std::string& host, uint16_t port) {
  namespace asio = boost::asio;
  try {
    asio::io_context io;
    asio::ip::udp::resolver resolver(io);
    auto endpoints = resolver.resolve(host, std::to_string(port));
    asio::ip::udp::socket socket(io);
    socket.connect(*endpoints.begin());
    return socket.local_endpoint().address().to_string();
  } catch (const std::exception&) {
    return "127.0.0.1";
  }
}

// The DNS domain WPAD searches under: resolv.conf's domain or first search
// entry, else the host name's domain.
std::string dns_domain(const Paths& paths) {
  std::ifstream resolv(paths.root / "etc/resolv.conf");
  std::string line;
  std::string search;
  while (std::getline(resolv, line)) {
    std::istringstream words(line);
    std::string keyword, value;
    words >> keyword >> value;
    if (keyword == "domain" && !value.empty()) return to_lower(value);
    if (keyword == "search" && search.empty()) search = to_lower(value);
  }
  if (!search.empty()) return search;
  if (paths.root == "/") {
    char name[256] = {};
    if (::gethostname(name, sizeof(name) - 1) == 0) {
      std::string host = name;
      if (size_t dot = host.find('.'); dot != std::string::npos) return to_lower(host.substr(dot + 1));
    }
  }
  return {};
}

// Under a relocated root (tests), names come from <root>/etc/hosts only, so
// discovery never asks a real DNS server; on a real system the resolver does.
std::optional<std::string> resolve_under_root(const Paths& paths, const std::string& name) {
  if (paths.root != "/") {
    std::ifstream hosts(paths.root / "etc/hosts");
    std::string line;
    while (std::getline(hosts, line)) {
      line = line.substr(0, line.find('#'));
      std::istringstream words(line);
      std::string address, alias;
      words >> address;
      while (words >> alias) {
        if (to_lower(alias) == name) return address;
      }
    }
    return std::nullopt;
  }
  try {
    boost::asio::io_context io;
    boost::asio::ip::tcp::resolver resolver(io);
    auto found = resolver.resolve(name, "80");
    if (found.empty()) return std::nullopt;
    return found.begin()->endpoint().address().to_string();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::filesystem::path default_pac_helper() {
  std::error_code error;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return "vigil-pac";
  std::filesystem::path beside = self.parent_path() / "vigil-pac";
  if (std::filesystem::exists(beside, error)) return beside;
  return self.parent_path().parent_path() / "lib/vigil/vigil-pac";
}

RouteResolver::RouteResolver(ResolverOptions options) : options_(std::move(options)) {}

std::optional<std::string> RouteResolver::env(const char* name) const {
  if (options_.environment) return options_.environment(name);
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

Result<link::ProxyHop> RouteResolver::hop(const ProxyUrl& url, const ProxySettings& settings) {
  link::ProxyHop hop{url.tls, url.address.host, url.address.port, {}, {}};
  const std::optional<Credential>& user = url.user ? url.user : settings.user;
  const std::optional<Credential>& password = url.user ? url.password : settings.password;
  std::optional<SecretBox> box;
  auto reveal = [&](const Credential& credential, const char* what) -> Result<std::string> {
    if (!credential.encrypted) return credential.text;
    if (!box) {
      auto loaded = SecretBox::load(options_.paths.config_dir / "secret.key");
      if (!loaded.ok()) return Error{loaded.error()};
      box.emplace(std::move(loaded.value()));
    }
    auto opened = box->open(credential.text);
    if (!opened.ok()) return Error{std::string("its ") + what + ": " + opened.error()};
    return opened;
  };
  if (user) {
    auto text = reveal(*user, "user name");
    if (!text.ok()) return Error{url.display() + ": " + text.error()};
    hop.user = std::move(text.value());
  }
  if (password) {
    auto text = reveal(*password, "password");
    if (!text.ok()) return Error{url.display() + ": " + text.error()};
    hop.password = std::move(text.value());
  }
  return hop;
}

Result<RouteResolver::Script> RouteResolver::pac_script(const std::string& url,
                                                        const std::optional<std::string>& connect_address) {
  std::lock_guard lock(mutex_);
  auto cached = scripts_.find(url);
  if (cached != scripts_.end() && Clock::now() - cached->second.fetched < options_.pac_cache) return cached->second;
  link::FetchOptions fetch;
  fetch.tls = options_.tls;
  fetch.connect_address = connect_address;
  auto text = link::fetch_document(url, fetch);
  if (!text.ok()) {
    // A PAC server that is down for a moment must not change the routes.
    if (cached != scripts_.end()) return cached->second;
    return Error{"cannot fetch the PAC file: " + text.error()};
  }
  std::filesystem::path dir = options_.paths.run_dir / "pac";
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  std::filesystem::path file = dir / (crypto::sha256_hex(url).substr(0, 16) + ".pac");
  std::filesystem::path temporary = file;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text.value();
    if (!out.flush()) return Error{"cannot store the PAC file in " + dir.string()};
  }
  std::filesystem::rename(temporary, file, error);
  if (error) return Error{"cannot store the PAC file in " + dir.string() + ": " + error.message()};
  Script script{url, file, Clock::now()};
  scripts_[url] = script;
  return script;
}

Result<std::string> RouteResolver::discover_wpad() {
  {
    std::lock_guard lock(mutex_);
    if (wpad_ && Clock::now() - wpad_->second < options_.pac_cache) return wpad_->first;
  }
  std::string domain = dns_domain(options_.paths);
  if (domain.empty()) return Error{"no DNS domain to search (resolv.conf has no domain or search line)"};
  std::vector<std::string> tried;
  // wpad.a.b.example.com, wpad.b.example.com, wpad.example.com: never wpad.com.
  for (std::string suffix = domain; std::count(suffix.begin(), suffix.end(), '.') >= 1;
       suffix = suffix.substr(suffix.find('.') + 1)) {
    std::string name = "wpad." + suffix;
    auto address = resolve_under_root(options_.paths, name);
    if (!address) {
      tried.push_back(name + " does not resolve");
      continue;
    }
    std::string url = "http://" + name + "/wpad.dat";
    auto script = pac_script(url, address);
    if (!script.ok()) {
      tried.push_back(url + ": " + script.error());
      continue;
    }
    std::lock_guard lock(mutex_);
    wpad_ = {url, Clock::now()};
    wpad_address_ = address;
    return url;
  }
  std::string joined;
  for (const auto& entry : tried) joined += (joined.empty() ? "" : "; ") + entry;
  return Error{"no WPAD server under " + domain + (joined.empty() ? "" : " (" + joined + ")")};
}

void RouteResolver::add_pac_routes(link::RoutePlan& plan, const ProxySettings& settings, const std::string& pac_url,
                                   const std::optional<std::string>& connect_address, const wire::Url& target,
                                   const std::string& source) {
  auto script = pac_script(pac_url, connect_address);
  if (!script.ok()) {
    plan.problems.push_back(source + " " + pac_url + ": " + script.error());
    return;
  }
  std::string url = target.to_string() + "/";
  auto result = run_pac(options_.pac_helper, script->file, url, target.host,
                        local_address_towards(target.host, target.port), options_.pac_timeout);
  if (!result.ok()) {
    plan.problems.push_back(source + " " + pac_url + ": " + result.error());
    return;
  }
  auto directives = parse_pac_result(result.value());
  if (!directives.ok()) {
    plan.problems.push_back(source + " " + pac_url + ": " + directives.error());
    return;
  }
  for (const auto& directive : directives.value()) {
    if (directive.kind == PacDirective::Kind::kDirect) {
      plan.routes.push_back(link::Route{std::nullopt, source});
    } else if (directive.kind == PacDirective::Kind::kUnsupported) {
      plan.problems.push_back(source + " entry '" + directive.text + "' skipped: SOCKS proxies are not supported");
    } else {
      ProxyUrl proxy{directive.tls, directive.address, std::nullopt, std::nullopt};
      auto made = hop(proxy, settings);
      if (!made.ok()) {
        plan.problems.push_back(made.error());
        continue;
      }
      plan.routes.push_back(link::Route{std::move(made.value()), source});
    }
  }
}

Result<link::RoutePlan> RouteResolver::plan(const wire::Url& target) {
  auto settings = ProxySettings::read(options_.config);
  if (!settings.ok()) return Error{"the proxy settings are invalid: " + settings.error()};
  link::RoutePlan plan;
  plan.routes.clear();
  plan.direct_fallback = settings->direct_fallback;
  plan.connect_timeout_ms = settings->connect_timeout_seconds * 1000;

  auto file = read_proxy_file(options_.paths.config_dir / "proxy");
  if (!file.ok()) {
    plan.problems.push_back(file.error());
    file = ProxyFile{};
  }
  if (NoProxy::parse(file->no_proxy).matches(target.host, target.port)) {
    plan.routes.push_back(link::Route{std::nullopt, "no_proxy"});
    return plan;
  }
  auto add_list = [&](const std::vector<ProxyUrl>& proxies, const std::string& source) {
    for (const auto& proxy : proxies) {
      auto made = hop(proxy, settings.value());
      if (made.ok()) {
        plan.routes.push_back(link::Route{std::move(made.value()), source});
      } else {
        plan.problems.push_back(made.error());
      }
    }
  };

  if (!settings->urls.empty()) {
    std::vector<ProxyUrl> proxies = settings->urls;
    if (settings->random_order) {
      thread_local std::mt19937 random{std::random_device{}()};
      std::shuffle(proxies.begin(), proxies.end(), random);
    }
    add_list(proxies, keys::kUrls);
  } else if (!settings->pac.empty()) {
    add_pac_routes(plan, settings.value(), settings->pac, std::nullopt, target, "PAC");
  } else {
    bool from_wpad = false;
    if (settings->wpad) {
      auto url = discover_wpad();
      if (url.ok()) {
        std::optional<std::string> address;
        {
          std::lock_guard lock(mutex_);
          address = wpad_address_;
        }
        add_pac_routes(plan, settings.value(), url.value(), address, target, "WPAD");
        from_wpad = true;
      } else {
        plan.problems.push_back("WPAD: " + url.error());
      }
    }
    std::string file_proxy = !file->vigil_https_proxy.empty() ? file->vigil_https_proxy : file->https_proxy;
    if (from_wpad) {
      // WPAD decided.
    } else if (!file_proxy.empty()) {
      auto proxies = parse_proxy_list(file_proxy);
      if (proxies.ok()) add_list(proxies.value(), "proxy file");
    } else if (settings->system) {
      auto system_proxy = env("https_proxy");
      if (!system_proxy) system_proxy = env("HTTPS_PROXY");
      auto system_bypass = env("no_proxy");
      if (!system_bypass) system_bypass = env("NO_PROXY");
      if (system_proxy && !NoProxy::parse(system_bypass.value_or("")).matches(target.host, target.port)) {
        auto proxies = parse_proxy_list(*system_proxy);
        if (proxies.ok()) {
          add_list(proxies.value(), "environment");
        } else {
          plan.problems.push_back("https_proxy in the environment: " + proxies.error());
        }
      }
    }
  }
  if (plan.routes.empty() && plan.problems.empty()) plan.routes.push_back(link::Route{std::nullopt, "no proxy"});
  return plan;
}

}  // namespace vigil::proxy
