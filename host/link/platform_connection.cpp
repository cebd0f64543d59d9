#include "link/platform_connection.h"

#include "base/file_safety.h"
#include "proxy/proxy_settings.h"
#include "proxy/route_resolver.h"
#include "store/config_table.h"
#include "vigil/net/tls.h"
#include "vigil/net/wire.h"

namespace vigil {

Status PlatformConnection::ensure(const LinkSettings& settings) {
  std::string key = connection_key(settings);
  std::lock_guard lock(clients_mutex_);
  if (link_client_ && key == client_key_) return Status::Ok();
  auto url = wire::parse_url(settings.server_uri);
  if (!url.ok()) return Error{url.error()};
  if (settings.ca_bundle) {
    // Whoever can write the bundle decides which platform the agent believes.
    auto trusted = check_trusted(*settings.ca_bundle, "the CA bundle");
    if (!trusted.ok()) return Error{trusted.error()};
    if (!trusted.value().empty()) logs_.daemon()->warn("{}", trusted.value());
  }
  auto tls = vigil::tls::client_context(settings.ca_bundle);
  if (!tls.ok()) return Error{tls.error()};
  proxy::ResolverOptions options;
  options.paths = paths_;
  options.config = [this](const char* name) -> std::optional<std::string> {
    auto value = store_.config().get(name);
    return value.ok() ? value.value() : std::nullopt;
  };
  options.pac_helper = proxy::default_pac_helper();
  options.tls = tls.value();
  auto resolver = std::make_shared<proxy::RouteResolver>(std::move(options));
  auto planner = [resolver](const wire::Url& target) { return resolver->plan(target); };
  auto observer = [this](const link::Route& route, const std::string& failure) { attempted(route, failure); };
  link_client_ = std::make_shared<link::HttpsClient>(url.value(), tls.value(), link::LinkTimeouts{}, planner, observer);
  upload_client_ =
      std::make_shared<link::HttpsClient>(url.value(), tls.value(), link::LinkTimeouts{}, planner, observer);
  // A held wait takes up to kMaxHold before its reply: its exchange may last that long.
  link::LinkTimeouts wait_timeouts;
  wait_timeouts.exchange = kMaxHold + std::chrono::seconds(30);
  wait_client_ = std::make_shared<link::HttpsClient>(url.value(), tls.value(), wait_timeouts, planner, observer);
  if (cancelled_) {
    link_client_->cancel();
    upload_client_->cancel();
    wait_client_->cancel();
  }
  client_key_ = key;
  {
    std::lock_guard lock(routes_mutex_);
    proxy_attempts_ = nlohmann::json::object();  // other settings: other proxies
  }
  return Status::Ok();
}

void PlatformConnection::attempted(const link::Route& route, const std::string& failure) {
  std::lock_guard lock(routes_mutex_);
  // Each proxy's last attempt stays visible, also when a later route (direct
  // fallback) connected: a dead proxy is not hidden by a working fallback.
  std::string proxy = route.proxy ? route.proxy->display() : std::string();
  if (failure.empty()) {
    logs_.daemon()->info("platform connection via {}: connected", route.display());
    if (!proxy.empty()) proxy_attempts_[proxy] = {{"state", "connected"}, {"at", link::unix_now()}};
    status_.update({{"route", route.display()}, {"proxies", proxy_attempts_}});
    return;
  }
  logs_.daemon()->warn("platform connection via {}: failed: {}", route.display(), failure);
  if (!proxy.empty()) proxy_attempts_[proxy] = {{"state", "failed"}, {"error", failure}, {"at", link::unix_now()}};
  // The route shown is the one in use: not one that just failed.
  status_.update({{"route", "none (" + route.display() + " failed)"}, {"proxies", proxy_attempts_}});
}

void PlatformConnection::cancel() {
  cancelled_ = true;
  std::lock_guard lock(clients_mutex_);
  if (link_client_) link_client_->cancel();
  if (upload_client_) upload_client_->cancel();
  if (wait_client_) wait_client_->cancel();
}

std::string PlatformConnection::connection_key(const LinkSettings& settings) {
  std::string key = settings.server_uri + "|" + (settings.ca_bundle ? settings.ca_bundle->string() : "");
  for (const char* name : proxy::all_keys()) {
    auto value = store_.config().get(name);
    key += "|" + (value.ok() && value.value() ? *value.value() : std::string());
  }
  std::error_code error;
  auto changed = std::filesystem::last_write_time(paths_.config_dir / "proxy", error);
  if (!error) key += "|" + std::to_string(changed.time_since_epoch().count());
  return key;
}

Result<std::string> PlatformConnection::post_bytes(Channel channel, const char* path,
                                                   const google::protobuf::Message& request) {
  std::shared_ptr<link::HttpsClient> client;
  std::mutex* in_use = &link_mutex_;
  {
    std::lock_guard lock(clients_mutex_);
    switch (channel) {
      case Channel::kLink: client = link_client_; break;
      case Channel::kUpload: client = upload_client_, in_use = &upload_mutex_; break;
      case Channel::kWait: client = wait_client_, in_use = &wait_mutex_; break;
    }
  }
  if (!client) return Error{"the platform link is not set up"};
  std::lock_guard lock(*in_use);
  return client->post(path, request.SerializeAsString());
}

}  // namespace vigil
