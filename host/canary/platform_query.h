// The canary's question to the platform (POST /v1/canary, agent.proto): does
// it hold an event of this agent's module for a path, seen since a time?
// Asked as the agent: its identity, its CA bundle and its route plan
// (proxies included).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "health/context.h"
#include "vigil/result/result.h"

namespace vigil::link {
class HttpsClient;
}

namespace vigil::canary {

struct PlatformEvent {
  std::string action;
  int64_t event_time_ms = 0;  // when the agent saw the change
  int64_t received_at = 0;    // when the platform stored it, unix seconds
};

class PlatformQuery {
 public:
  // Fails when the agent has no platform or identity, or the URL, CA bundle
  // or proxy settings do not give a connection.
  static Result<std::unique_ptr<PlatformQuery>> open(const health::Context& context, std::chrono::milliseconds timeout);
  ~PlatformQuery();

  // nullopt: not (yet) there. An error: the platform did not answer, or refused.
  Result<std::optional<PlatformEvent>> find(const std::string& module, const std::string& path, int64_t since_ms);

 private:
  PlatformQuery() = default;

  std::string agent_id_, agent_token_;
  std::unique_ptr<link::HttpsClient> client_;
};

}  // namespace vigil::canary
