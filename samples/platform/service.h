// The platform's side of the vigil.agent.v1 protocol: one call per request,
// thread-safe. The hot path (check-in) is served from memory; check-in facts
// are written to the database in batches by flush(), and what the admin
// commands change in the database (another process) is picked up as soon as
// the database's generation moves.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "platform_store.h"
#include "update_repository.h"
#include "vigil/agent/v1/agent.pb.h"

namespace vigil::platform {

namespace v1 = ::vigil::agent::v1;

struct Reply {
  int status = 200;
  std::string body;  // protobuf on 200, a text message otherwise
};

// The desired state of every agent of an activation key: modules, manifests, profile.
v1::DesiredState desired_state(PlatformStore& store, const ActivationKey& key);
// A profile JSON document (docs/platform.md) as the protocol message; throws on a bad one.
v1::Profile profile_message(const std::string& name, const nlohmann::json& body);

class Service {
 public:
  explicit Service(const std::filesystem::path& database);

  // `endpoint` is the request path, e.g. "/v1/checkin".
  Reply handle(std::string_view endpoint, const std::string& body);
  void flush();
  void refresh();

  size_t agent_count();

  // POST /v1/wait (docs/platform-link.md, "Prompt orders"), served by the
  // server without holding a thread: begin_wait answers at once when it can
  // (`now`); otherwise the server registers a waiter and holds the request
  // until its `wake` is called or `hold` passes.
  static constexpr uint32_t kMaxHoldSeconds = 900;
  struct WaitStart {
    std::optional<Reply> now;
    std::string agent_id, activation_id, state_version;
    uint64_t update_version = 0;
    std::chrono::seconds hold{0};
  };
  WaitStart begin_wait(const std::string& body);
  // `wake` is called under the service's lock, on whichever thread noticed
  // the news: it must only post. Returns the waiter's id for remove_waiter.
  uint64_t add_waiter(WaitStart wait, std::function<void()> wake);
  void remove_waiter(uint64_t id);
  static Reply wait_reply(bool check_in);
  size_t waiting_count();

 private:
  struct CachedAgent {
    std::string token_hash;
    std::string next_token_hash;  // handed out by a pending token rotation
    std::string verified_token;   // in memory only
    std::string activation_id;
    std::string fingerprint;
    std::string status_digest;
    // The last health digest (overall, findings, top finding) as JSON text, ""
    // when none came, and since when the agent reports it: a digest that did
    // not change is not written again.
    std::string health;
    int64_t health_since = 0;
    bool health_dirty = false;
    int64_t last_checkin = 0;
    int64_t outbox_depth = 0;
    bool uninstalled = false;  // it said so in its last check-in
    bool dirty = false;
  };

  Reply provision(const std::string& body);
  Reply checkin(const std::string& body);
  Reply manifest(const std::string& body);
  Reply upload(const std::string& body);
  Reply update_metadata(const std::string& body);
  Reply plugin_package(const std::string& body);
  Reply canary(const std::string& body);
  // The agent the request speaks for, or why it is refused.
  CachedAgent* authenticate(const std::string& agent_id, const std::string& token, Reply& refusal);
  void load();
  // Something waits for the agent: commands, another desired state, a newer update.
  bool has_news(const WaitStart& wait);
  void wake_waiters();

  std::mutex mutex_;
  PlatformStore store_;
  UpdateRepository updates_;
  uint64_t update_timestamp_version_ = 0;  // the hint each check-in carries
  int64_t seen_version_ = -1;
  std::unordered_map<std::string, CachedAgent> agents_;
  std::unordered_set<std::string> with_commands_;
  std::unordered_map<std::string, v1::DesiredState> desired_;  // by activation key
  struct Waiter {
    WaitStart wait;
    std::function<void()> wake;
  };
  std::unordered_map<uint64_t, Waiter> waiters_;
  uint64_t last_waiter_ = 0;
};

}  // namespace vigil::platform
