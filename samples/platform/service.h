// The platform's side of the vigil.agent.v1 protocol: one call per request,
// thread-safe. The hot path (check-in) is served from memory; check-in facts
// are written to the database in batches by flush(), and what the admin
// commands change in the database (another process) is picked up as soon as
// the database's generation moves.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
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

  std::mutex mutex_;
  PlatformStore store_;
  UpdateRepository updates_;
  uint64_t update_timestamp_version_ = 0;  // the hint each check-in carries
  int64_t seen_version_ = -1;
  std::unordered_map<std::string, CachedAgent> agents_;
  std::unordered_set<std::string> with_commands_;
  std::unordered_map<std::string, v1::DesiredState> desired_;  // by activation key
};

}  // namespace vigil::platform
