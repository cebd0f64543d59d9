#include "canary/platform_query.h"

#include "https/https_client.h"
#include "proxy/route_resolver.h"
#include "vigil/agent/v1/agent.pb.h"
#include "vigil/net/tls.h"

namespace vigil::canary {

namespace v1 = ::vigil::agent::v1;

Result<std::unique_ptr<PlatformQuery>> PlatformQuery::open(const health::Context& context,
                                                           std::chrono::milliseconds timeout) {
  auto server = context.config("ServerUri");
  auto agent_id = context.config("AgentId");
  auto token = context.config("AgentToken");
  if (!server || !agent_id || !token) {
    return Error{"the agent is not provisioned: there is no platform to confirm the event"};
  }
  auto url = wire::parse_url(*server);
  if (!url.ok()) return Error{"ServerUri " + *server + ": " + url.error()};
  auto tls = tls::client_context(context.ca_bundle());
  if (!tls.ok()) return Error{tls.error()};
  // The agent's own route plan, settings read at each connection as the link reads them.
  proxy::ResolverOptions options;
  options.paths = context.paths;
  options.config = [&context](const char* key) { return context.config(key); };
  options.pac_helper = proxy::default_pac_helper();
  options.tls = tls.value();
  options.pac_timeout = timeout;
  auto resolver = std::make_shared<proxy::RouteResolver>(std::move(options));
  std::unique_ptr<PlatformQuery> query(new PlatformQuery());
  query->agent_id_ = *agent_id;
  query->agent_token_ = *token;
  query->client_ =
      std::make_unique<link::HttpsClient>(url.value(), tls.value(), link::LinkTimeouts{timeout, timeout, timeout},
                                          [resolver](const wire::Url& target) { return resolver->plan(target); });
  return query;
}

PlatformQuery::~PlatformQuery() = default;

Result<std::optional<PlatformEvent>> PlatformQuery::find(const std::string& module, const std::string& path,
                                                         int64_t since_ms) {
  v1::CanaryRequest request;
  request.set_protocol(v1::PROTOCOL_1);
  request.set_agent_id(agent_id_);
  request.set_agent_token(agent_token_);
  request.set_module(module);
  request.set_path(path);
  request.set_since_ms(since_ms);
  auto reply = client_->post("/v1/canary", request.SerializeAsString());
  if (!reply.ok()) return reply.failure();
  v1::CanaryResponse response;
  if (!response.ParseFromString(reply.value())) return Error{"the platform's canary reply is not a CanaryResponse"};
  if (!response.found()) return std::optional<PlatformEvent>();
  return std::optional<PlatformEvent>(
      PlatformEvent{response.action(), response.event_time_ms(), response.received_at()});
}

}  // namespace vigil::canary
