#include "service.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "vigil/advisories/manifest.h"
#include "vigil/crypto/digest.h"
#include "vigil/crypto/random.h"
#include "vigil/net/wire.h"
#include "vigil/time_windows/time_windows.h"

namespace vigil::platform {

using nlohmann::json;

namespace {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Reply refuse(int status, std::string message) {
  return {status, std::move(message)};
}

template <typename Message>
bool parse(const std::string& body, Message& message) {
  return message.ParseFromString(body);
}

uint32_t bounded(const json& body, const char* field, int64_t min, int64_t max, int64_t fallback) {
  if (!body.contains(field)) return static_cast<uint32_t>(fallback);
  const json& value = body.at(field);
  if (!value.is_number_integer() || value.get<int64_t>() < min || value.get<int64_t>() > max) {
    throw std::invalid_argument(std::string("profile field '") + field + "' must be an integer in " +
                                std::to_string(min) + ".." + std::to_string(max));
  }
  return static_cast<uint32_t>(value.get<int64_t>());
}

// A time-window field, checked as the agent reads it (so it is never ignored there).
std::string time_windows(const json& body, const char* field) {
  const json& value = body.at(field);
  if (!value.is_string()) {
    throw std::invalid_argument(std::string("profile field '") + field + "' must be a string (HH:MM-HH:MM,...)");
  }
  if (auto parsed = TimeWindows::parse(value.get<std::string>()); !parsed.ok()) {
    throw std::invalid_argument(std::string("profile field '") + field + "': " + parsed.error());
  }
  return value.get<std::string>();
}

}  // namespace

v1::Profile profile_message(const std::string& name, const json& body) {
  if (!body.is_object()) throw std::invalid_argument("a profile is a JSON object");
  static const std::vector<std::string> known = {"checkin_interval", "scan_interval",  "cpu_limit",
                                                 "blackout_windows", "log_level",      "auto_upgrade",
                                                 "plugin_pins",      "upgrade_window", "self_protection"};
  for (const auto& [field, value] : body.items()) {
    if (std::find(known.begin(), known.end(), field) == known.end()) {
      throw std::invalid_argument("unknown profile field '" + field + "'");
    }
  }
  v1::Profile profile;
  profile.set_name(name);
  profile.set_checkin_interval_seconds(bounded(body, "checkin_interval", 1, 7 * 24 * 3600, 900));
  for (const char* field : {"scan_interval", "cpu_limit"}) {
    if (!body.contains(field)) continue;
    if (!body.at(field).is_object())
      throw std::invalid_argument(std::string("profile field '") + field + "' must map modules to integers");
    for (const auto& [module, value] : body.at(field).items()) {
      bool interval = std::string(field) == "scan_interval";
      uint32_t number = bounded(body.at(field), module.c_str(), interval ? 60 : 1, interval ? 31 * 24 * 3600 : 100, 0);
      (interval ? *profile.mutable_scan_interval_seconds() : *profile.mutable_cpu_limit_percent())[module] = number;
    }
  }
  if (body.contains("blackout_windows")) profile.set_blackout_windows(time_windows(body, "blackout_windows"));
  profile.set_log_level(body.contains("log_level") ? static_cast<int32_t>(bounded(body, "log_level", 0, 5, 3)) : -1);
  if (body.contains("plugin_pins")) {
    if (!body.at("plugin_pins").is_object())
      throw std::invalid_argument("profile field 'plugin_pins' must map modules to plugin versions");
    for (const auto& [module, version] : body.at("plugin_pins").items()) {
      if (!version.is_string() || version.get<std::string>().empty())
        throw std::invalid_argument("profile field 'plugin_pins' of module '" + module + "' must be a version string");
      (*profile.mutable_plugin_pins())[module] = version.get<std::string>();
    }
  }
  if (body.contains("upgrade_window")) profile.set_upgrade_window(time_windows(body, "upgrade_window"));
  if (body.contains("auto_upgrade")) {
    if (!body.at("auto_upgrade").is_boolean())
      throw std::invalid_argument("profile field 'auto_upgrade' must be true or false");
    profile.set_auto_upgrade(body.at("auto_upgrade").get<bool>());
  }
  if (body.contains("self_protection")) {
    if (!body.at("self_protection").is_boolean())
      throw std::invalid_argument("profile field 'self_protection' must be true or false");
    profile.set_self_protection(body.at("self_protection").get<bool>());
  }
  return profile;
}

v1::DesiredState desired_state(PlatformStore& store, const ActivationKey& key) {
  v1::DesiredState state;
  std::vector<std::string> modules = key.modules;
  std::sort(modules.begin(), modules.end());
  json fingerprint = {{"modules", modules}};
  for (const auto& module : modules) state.add_activated_modules(module);
  for (const auto& manifest : store.manifest_versions()) {
    if (!std::binary_search(modules.begin(), modules.end(), manifest.module)) continue;
    v1::ManifestVersion* version = state.add_manifests();
    version->set_module(manifest.module);
    version->set_manifest_type(manifest.manifest_type);
    version->set_version(manifest.version);
    fingerprint["manifests"].push_back({manifest.module, manifest.manifest_type, manifest.version});
  }
  json profile = store.profile(key.profile).value_or(json::object());
  try {
    *state.mutable_profile() = profile_message(key.profile, profile);
  } catch (const std::exception& error) {
    spdlog::error("profile '{}' of activation key {} is invalid ({}); defaults sent", key.profile, key.id,
                  error.what());
    state.mutable_profile()->set_name(key.profile);
    state.mutable_profile()->set_log_level(-1);
    profile = json::object();
  }
  fingerprint["profile"] = {key.profile, profile};
  state.set_version(crypto::sha256_hex(fingerprint.dump()).substr(0, 16));
  return state;
}

Service::Service(const std::filesystem::path& database)
    : store_(database), updates_(store_.db(), database.parent_path() / "signing-keys") {
  std::lock_guard lock(mutex_);
  load();
}

size_t Service::agent_count() {
  std::lock_guard lock(mutex_);
  return agents_.size();
}

void Service::load() {
  seen_version_ = store_.generation();
  std::unordered_map<std::string, CachedAgent> fresh;
  for (const AgentRecord& record : store_.agents()) {
    if (record.state != "active" && record.state != "uninstalled") continue;
    CachedAgent& agent = fresh[record.id];
    agent.uninstalled = record.state == "uninstalled";
    agent.token_hash = record.token_hash;
    agent.activation_id = record.activation_id;
    agent.fingerprint = record.fingerprint;
    agent.status_digest = record.status_digest;
    if (record.health.is_object()) {
      json health = record.health;
      agent.health_since = health.value("since", int64_t{0});
      health.erase("since");
      agent.health = health.dump();
    }
    agent.last_checkin = record.last_checkin;
    agent.outbox_depth = record.outbox_depth;
    if (auto cached = agents_.find(record.id); cached != agents_.end() && cached->second.dirty) {
      agent.last_checkin = cached->second.last_checkin;  // not flushed yet
      agent.outbox_depth = cached->second.outbox_depth;
      agent.health = cached->second.health;
      agent.health_since = cached->second.health_since;
      agent.health_dirty = cached->second.health_dirty;
      agent.dirty = true;
    }
  }
  agents_ = std::move(fresh);
  auto with = store_.agents_with_commands();
  with_commands_ = {with.begin(), with.end()};
  for (const std::string& id : with_commands_) {
    auto agent = agents_.find(id);
    if (agent == agents_.end()) continue;
    for (const QueuedCommand& queued : store_.pending_commands(id)) {
      if (queued.kind == "rotate_token") agent->second.next_token_hash = queued.arguments.value("token_hash", "");
    }
  }
  desired_.clear();
  for (const ActivationKey& key : store_.keys()) desired_[key.id] = desired_state(store_, key);
  update_timestamp_version_ = static_cast<uint64_t>(updates_.version(tuf::Role::kTimestamp));
  wake_waiters();
}

void Service::refresh() {
  std::lock_guard lock(mutex_);
  if (store_.generation() != seen_version_) load();
}

void Service::flush() {
  std::lock_guard lock(mutex_);
  sqlite::Transaction transaction(store_.db());
  for (auto& [id, agent] : agents_) {
    if (!agent.dirty) continue;
    store_.touch_agent(id, agent.last_checkin, agent.outbox_depth);
    if (agent.health_dirty) {
      json health = json::parse(agent.health);
      health["since"] = agent.health_since;
      store_.set_agent_health(id, health);
    }
    agent.dirty = false;
    agent.health_dirty = false;
  }
  transaction.commit();
}

Reply Service::handle(std::string_view endpoint, const std::string& body) {
  std::lock_guard lock(mutex_);
  try {
    // What the admin commands changed is served from the very next request.
    if (store_.generation() != seen_version_) load();
    if (endpoint == "/v1/checkin") return checkin(body);
    if (endpoint == "/v1/upload") return upload(body);
    if (endpoint == "/v1/manifest") return manifest(body);
    if (endpoint == "/v1/provision") return provision(body);
    if (endpoint == "/v1/update-metadata") return update_metadata(body);
    if (endpoint == "/v1/plugin-package") return plugin_package(body);
    if (endpoint == "/v1/canary") return canary(body);
    return refuse(404, "no endpoint " + std::string(endpoint));
  } catch (const sqlite::SqliteError& error) {
    spdlog::error("database error on {}: {}", endpoint, error.what());
    return refuse(503, "the platform's database failed; try again");
  }
}

Service::CachedAgent* Service::authenticate(const std::string& agent_id, const std::string& token, Reply& refusal) {
  auto found = agents_.find(agent_id);
  if (found == agents_.end()) {
    refusal = refuse(401, "unknown agent " + agent_id);
    return nullptr;
  }
  CachedAgent& agent = found->second;
  // The token is stored hashed; once it has matched, later requests compare
  // it in memory (constant time) instead of hashing again.
  bool known = agent.verified_token.size() == token.size() &&
               CRYPTO_memcmp(agent.verified_token.data(), token.data(), token.size()) == 0;
  if (!known) {
    std::string hash = crypto::sha256_hex(token);
    if (!agent.next_token_hash.empty() && hash == agent.next_token_hash) {
      // The agent has its new token: from now on the old one is refused.
      store_.finish_token_rotation(agent_id, hash);
      agent.token_hash = hash;
      agent.next_token_hash.clear();
      spdlog::info("agent {}: token rotated; the previous token is refused from now on", agent_id);
    } else if (hash != agent.token_hash) {
      refusal = refuse(401, "wrong token for agent " + agent_id);
      return nullptr;
    }
    agent.verified_token = token;
  }
  return &agent;
}

Reply Service::provision(const std::string& body) {
  v1::ProvisionRequest request;
  if (!parse(body, request)) return refuse(400, "malformed ProvisionRequest");
  auto key = store_.key(request.activation_id());
  if (!crypto::is_uuid(request.customer_id()) || !crypto::is_uuid(request.activation_id())) {
    return refuse(400, "CustomerId and ActivationId must be UUIDs");
  }
  if (!key || key->customer_id != request.customer_id()) {
    return refuse(403, "unknown activation key " + request.activation_id() + " for customer " + request.customer_id());
  }
  const v1::HostFacts& facts = request.facts();
  std::string token = crypto::random_hex(16);

  AgentRecord agent;
  // A retry of a provisioning that reached us: the same agent, a fresh token.
  std::optional<std::string> retried;
  if (!request.request_nonce().empty()) retried = store_.agent_by_nonce(request.request_nonce());
  if (retried) {
    agent = *store_.agent(*retried);
  } else {
    auto previous = request.previous_agent_id().empty() ? std::nullopt : store_.agent(request.previous_agent_id());
    bool reinstall = previous && request.reason() == "reinstalled" && previous->fingerprint == facts.fingerprint() &&
                     previous->customer_id == request.customer_id();
    agent.id = reinstall ? previous->id : crypto::random_uuid();
    agent.previous_agent_id = reinstall ? "" : request.previous_agent_id();
    agent.reason = request.reason().empty() ? "new" : request.reason();
    // A clone leaves the original running; a migrated or duplicate agent leaves its old record behind.
    if (previous && !reinstall && request.reason() != "cloned" && previous->customer_id == request.customer_id()) {
      store_.set_agent_state(previous->id, "superseded");
      agents_.erase(previous->id);
    }
  }
  agent.token_hash = crypto::sha256_hex(token);
  agent.customer_id = request.customer_id();
  agent.activation_id = request.activation_id();
  agent.fingerprint = facts.fingerprint();
  agent.hostname = facts.hostname();
  agent.state = "active";
  agent.provisioned_at = unix_now();
  {
    sqlite::Transaction transaction(store_.db());
    store_.put_agent(agent);
    if (!request.request_nonce().empty()) store_.set_agent_nonce(agent.id, request.request_nonce());
    transaction.commit();
  }
  CachedAgent& cached = agents_[agent.id];
  cached = CachedAgent{};
  cached.token_hash = agent.token_hash;
  cached.activation_id = agent.activation_id;
  cached.fingerprint = agent.fingerprint;

  spdlog::info("agent {} provisioned ({}; host {}, customer {}{})", agent.id, agent.reason, agent.hostname,
               agent.customer_id, agent.previous_agent_id.empty() ? "" : ", was " + agent.previous_agent_id);
  v1::ProvisionResponse response;
  response.set_agent_id(agent.id);
  response.set_agent_token(token);
  if (auto desired = desired_.find(agent.activation_id); desired != desired_.end()) {
    *response.mutable_state() = desired->second;
  }
  if (std::optional<std::string> root = updates_.metadata(tuf::Role::kRoot)) response.set_update_root(*root);
  return {200, response.SerializeAsString()};
}

Reply Service::checkin(const std::string& body) {
  v1::CheckinRequest request;
  if (!parse(body, request)) return refuse(400, "malformed CheckinRequest");
  Reply refusal;
  CachedAgent* agent = authenticate(request.agent_id(), request.agent_token(), refusal);
  if (agent == nullptr) return refusal;
  v1::CheckinResponse response;
  response.set_update_timestamp_version(update_timestamp_version_);
  agent->last_checkin = unix_now();
  agent->outbox_depth = request.outbox_depth();
  agent->dirty = true;
  if (request.has_health()) {
    // Kept in memory like the check-in time; written by flush() only when it changed.
    const v1::HealthDigest& digest = request.health();
    json content = {{"overall", digest.overall()},
                    {"findings", digest.findings()},
                    {"top_code", digest.top_code()},
                    {"top_text", digest.top_text()}};
    std::string health = content.dump();
    if (health != agent->health) {
      agent->health = std::move(health);
      agent->health_since = digest.checked_at();
      agent->health_dirty = true;
    }
  }

  if (!request.fingerprint().empty() && request.fingerprint() != agent->fingerprint) {
    // Two machines speak for one agent id: the newcomer takes a new identity.
    spdlog::warn("agent {}: check-in from another machine (fingerprint {}); told to re-provision", request.agent_id(),
                 request.fingerprint());
    v1::Command* command = response.add_commands();
    command->set_id(0);
    command->mutable_reprovision()->set_reason("duplicate");
    return {200, response.SerializeAsString()};
  }
  if (!request.done_commands().empty()) {
    for (uint64_t id : request.done_commands()) {
      if (id != 0) store_.command_done(request.agent_id(), static_cast<int64_t>(id));
    }
    if (store_.pending_commands(request.agent_id()).empty()) with_commands_.erase(request.agent_id());
  }
  for (const v1::CommandOutcome& outcome : request.command_outcomes()) {
    store_.command_outcome(request.agent_id(), outcome);
    if (outcome.outcome() == "refused" || outcome.outcome() == "failed") {
      spdlog::warn("agent {}: command {} {}: {}", request.agent_id(), outcome.id(), outcome.outcome(),
                   outcome.reason());
    }
  }
  if (request.leaving()) {
    // Its last word: nothing more is sent to it, its results stay.
    store_.set_agent_state(request.agent_id(), "uninstalled");
    agent->uninstalled = true;
    spdlog::info("agent {}: uninstalled", request.agent_id());
    return {200, response.SerializeAsString()};
  }
  if (agent->uninstalled) {
    // Installed again with its identity kept.
    store_.set_agent_state(request.agent_id(), "active");
    agent->uninstalled = false;
    spdlog::info("agent {}: checking in again after it was uninstalled", request.agent_id());
  }
  if (request.modules_size() > 0 || request.ignored_settings_size() > 0) {
    json modules = json::array();
    for (const auto& module : request.modules()) {
      json manifests = json::array();
      for (const auto& manifest : module.manifests()) {
        manifests.push_back({{"type", manifest.manifest_type()}, {"version", manifest.version()}});
      }
      json entry = {{"module", module.module()},
                    {"state", module.state()},
                    {"plugin_version", module.plugin_version()},
                    {"manifests", manifests},
                    {"last_scan_completed", module.last_scan_completed()}};
      if (!module.plugin_slot().empty()) {
        entry["plugin_slot"] = module.plugin_slot();
        entry["plugin_slot_state"] = module.plugin_slot_state();
      }
      if (!module.last_scan_result().empty()) {
        entry["last_scan"] = {{"result", module.last_scan_result()},
                              {"error", module.last_scan_error()},
                              {"ended", module.last_scan_ended()}};
      }
      json conditions = json::array();
      for (const auto& condition : module.conditions()) {
        conditions.push_back({{"code", condition.code()}, {"text", condition.text()}});
      }
      entry["conditions"] = conditions;
      entry["settings"] = {{"cpu_limit", module.cpu_limit_percent()},
                           {"scan_interval", module.scan_interval_seconds()}};
      if (module.has_last_upgrade()) {
        const v1::PluginUpgrade& last = module.last_upgrade();
        entry["last_upgrade"] = {{"at", last.at()},
                                 {"from", last.from_version()},
                                 {"to", last.to_version()},
                                 {"outcome", last.outcome()},
                                 {"reason", last.reason()}};
      }
      modules.push_back(entry);
    }
    store_.set_agent_modules(request.agent_id(), request.status_digest(), modules);
    store_.set_ignored_settings(request.agent_id(), json(std::vector<std::string>(request.ignored_settings().begin(),
                                                                                  request.ignored_settings().end())));
    agent->status_digest = request.status_digest();
  } else if (request.status_digest() != agent->status_digest) {
    response.set_send_module_status(true);
  }
  if (auto desired = desired_.find(agent->activation_id);
      desired != desired_.end() && desired->second.version() != request.state_version()) {
    *response.mutable_state() = desired->second;
  }
  if (with_commands_.count(request.agent_id()) > 0) {
    for (const QueuedCommand& queued : store_.pending_commands(request.agent_id())) {
      v1::Command* command = response.add_commands();
      command->set_id(static_cast<uint64_t>(queued.id));
      if (queued.kind == "scan_now") {
        command->mutable_scan_now()->set_module(queued.arguments.value("module", ""));
        command->mutable_scan_now()->set_cpu_throttle(queued.arguments.value("cpu_throttle", 0u));
      } else if (queued.kind == "uninstall") {
        command->mutable_uninstall();
      } else if (queued.kind == "reprovision") {
        command->mutable_reprovision()->set_reason(queued.arguments.value("reason", "requested"));
      } else if (queued.kind == "rotate_token") {
        // A fresh token per delivery: a reply that was lost leaves nothing usable behind.
        std::string token = crypto::random_hex(16);
        agent->next_token_hash = crypto::sha256_hex(token);
        store_.set_command_arguments(queued.id, {{"token_hash", agent->next_token_hash}});
        command->mutable_rotate_token()->set_agent_token(token);
      }
    }
  }
  return {200, response.SerializeAsString()};
}

Reply Service::manifest(const std::string& body) {
  v1::ManifestRequest request;
  if (!parse(body, request)) return refuse(400, "malformed ManifestRequest");
  Reply refusal;
  CachedAgent* agent = authenticate(request.agent_id(), request.agent_token(), refusal);
  if (agent == nullptr) return refusal;
  auto key = store_.key(agent->activation_id);
  if (!key || std::count(key->modules.begin(), key->modules.end(), request.module()) == 0) {
    return refuse(403, "module '" + request.module() + "' is not activated for agent " + request.agent_id());
  }
  auto stored = store_.manifest(request.module(), request.manifest_type());
  if (!stored) return refuse(404, "no manifest " + request.module() + "/" + request.manifest_type());
  if (stored->body.empty()) {
    // Published per OS release: the agent's own, or a body that says there is none for it (the
    // module then fails its scan naming the release, rather than finding nothing).
    std::string release = request.os_release().empty() ? "unknown" : request.os_release();
    auto body = store_.release_manifest(request.module(), request.manifest_type(), release);
    stored->body =
        body ? *body : advisories::manifest_header(release) + "# no advisories were imported for " + release + "\n";
  }
  v1::ManifestResponse response;
  response.mutable_manifest()->set_module(stored->module);
  response.mutable_manifest()->set_manifest_type(stored->manifest_type);
  response.mutable_manifest()->set_version(stored->version);
  response.set_body(stored->body);
  return {200, response.SerializeAsString()};
}

Reply Service::upload(const std::string& body) {
  v1::UploadRequest request;
  if (!parse(body, request)) return refuse(400, "malformed UploadRequest");
  Reply refusal;
  if (authenticate(request.agent_id(), request.agent_token(), refusal) == nullptr) return refusal;
  if (request.sequence() <= 0) return refuse(400, "upload sequence must be positive");
  UploadOutcome outcome;
  try {
    outcome = store_.apply_upload(request.agent_id(), request.sequence(), request.module(), request.kind(),
                                  request.payload(), unix_now());
  } catch (const sqlite::SqliteError&) {
    throw;
  } catch (const std::exception& error) {
    return refuse(422, "upload " + std::to_string(request.sequence()) + " not applied: " + error.what());
  }
  spdlog::debug("agent {}: sequence {} ({} of {}) {}", request.agent_id(), request.sequence(), request.kind(),
                request.module(),
                outcome.duplicate ? "already applied" : std::to_string(outcome.rows_applied) + " rows");
  v1::UploadResponse response;
  response.set_acknowledged_sequence(request.sequence());
  response.set_duplicate(outcome.duplicate);
  return {200, response.SerializeAsString()};
}

Reply Service::update_metadata(const std::string& body) {
  v1::UpdateMetadataRequest request;
  if (!parse(body, request)) return refuse(400, "malformed UpdateMetadataRequest");
  Reply refusal;
  if (authenticate(request.agent_id(), request.agent_token(), refusal) == nullptr) return refusal;
  std::optional<tuf::Role> role;
  for (tuf::Role known : {tuf::Role::kRoot, tuf::Role::kTimestamp, tuf::Role::kSnapshot, tuf::Role::kTargets}) {
    if (request.role() == tuf::role_name(known)) role = known;
  }
  if (!role) return refuse(400, "unknown update role '" + request.role() + "'");
  // Lazy re-signing: an agent asking for the timestamp never gets one near its expiry.
  if (*role == tuf::Role::kTimestamp && updates_.renew(unix_now())) {
    update_timestamp_version_ = static_cast<uint64_t>(updates_.version(tuf::Role::kTimestamp));
    spdlog::info("update metadata renewed: timestamp v{}", update_timestamp_version_);
  }
  std::optional<int64_t> version;
  if (request.version() != 0) version = static_cast<int64_t>(request.version());
  std::optional<std::string> document = updates_.metadata(*role, version);
  if (!document) {
    return refuse(404, "no " + request.role() + (version ? " v" + std::to_string(*version) : std::string()));
  }
  v1::UpdateMetadataResponse response;
  response.set_metadata(*document);
  return {200, response.SerializeAsString()};
}

Reply Service::plugin_package(const std::string& body) {
  constexpr uint64_t kDefaultChunk = 1 << 20, kMaxChunk = 4 << 20;
  v1::PluginPackageRequest request;
  if (!parse(body, request)) return refuse(400, "malformed PluginPackageRequest");
  Reply refusal;
  if (authenticate(request.agent_id(), request.agent_token(), refusal) == nullptr) return refusal;
  if (request.sha256().size() != 64) return refuse(400, "a plugin file is asked for by its sha256 (64 hex digits)");
  uint64_t max = request.max_bytes() == 0 ? kDefaultChunk : std::min<uint64_t>(request.max_bytes(), kMaxChunk);
  auto chunk =
      updates_.plugin_chunk(request.sha256(), static_cast<int64_t>(request.offset()), static_cast<int64_t>(max));
  if (!chunk) return refuse(404, "no plugin file with sha256 " + request.sha256());
  if (request.offset() > static_cast<uint64_t>(chunk->file.length)) {
    return refuse(400, "offset " + std::to_string(request.offset()) + " is beyond the file's " +
                           std::to_string(chunk->file.length) + " bytes");
  }
  v1::PluginPackageResponse response;
  response.set_module(chunk->file.module);
  response.set_version(chunk->file.version);
  response.set_library(chunk->bytes);
  response.set_offset(request.offset());
  response.set_total_length(static_cast<uint64_t>(chunk->file.length));
  return {200, response.SerializeAsString()};
}

Reply Service::canary(const std::string& body) {
  v1::CanaryRequest request;
  if (!parse(body, request)) return refuse(400, "malformed CanaryRequest");
  Reply refusal;
  if (authenticate(request.agent_id(), request.agent_token(), refusal) == nullptr) return refusal;
  if (request.module().empty() || request.path().empty()) return refuse(400, "a canary names a module and a path");
  v1::CanaryResponse response;
  if (auto found = store_.canary_event(request.agent_id(), request.module(), request.path(), request.since_ms())) {
    response.set_found(true);
    response.set_action(found->action);
    response.set_event_time_ms(found->time_ms);
    response.set_received_at(found->received_at);
  }
  return {200, response.SerializeAsString()};
}

Service::WaitStart Service::begin_wait(const std::string& body) {
  std::lock_guard lock(mutex_);
  WaitStart wait;
  try {
    if (store_.generation() != seen_version_) load();
    v1::WaitRequest request;
    if (!parse(body, request)) {
      wait.now = refuse(400, "malformed WaitRequest");
      return wait;
    }
    Reply refusal;
    CachedAgent* agent = authenticate(request.agent_id(), request.agent_token(), refusal);
    if (agent == nullptr) {
      wait.now = refusal;
      return wait;
    }
    wait.agent_id = request.agent_id();
    wait.activation_id = agent->activation_id;
    wait.state_version = request.state_version();
    wait.update_version = request.update_timestamp_version();
    wait.hold = std::chrono::seconds(std::clamp<uint32_t>(request.hold_seconds(), 1, kMaxHoldSeconds));
    if (agent->uninstalled || has_news(wait)) wait.now = wait_reply(!agent->uninstalled);
  } catch (const sqlite::SqliteError& error) {
    spdlog::error("database error on /v1/wait: {}", error.what());
    wait.now = refuse(503, "the platform's database failed; try again");
  }
  return wait;
}

bool Service::has_news(const WaitStart& wait) {
  if (with_commands_.count(wait.agent_id) > 0) return true;
  if (update_timestamp_version_ > wait.update_version) return true;
  auto desired = desired_.find(wait.activation_id);
  return desired != desired_.end() && desired->second.version() != wait.state_version;
}

uint64_t Service::add_waiter(WaitStart wait, std::function<void()> wake) {
  std::lock_guard lock(mutex_);
  uint64_t id = ++last_waiter_;
  // Something may have arrived since begin_wait: then it is told at once.
  if (has_news(wait)) {
    wake();
    return id;
  }
  waiters_.emplace(id, Waiter{std::move(wait), std::move(wake)});
  return id;
}

void Service::remove_waiter(uint64_t id) {
  std::lock_guard lock(mutex_);
  waiters_.erase(id);
}

size_t Service::waiting_count() {
  std::lock_guard lock(mutex_);
  return waiters_.size();
}

void Service::wake_waiters() {
  for (auto waiter = waiters_.begin(); waiter != waiters_.end();) {
    if (has_news(waiter->second.wait)) {
      waiter->second.wake();
      waiter = waiters_.erase(waiter);
    } else {
      ++waiter;
    }
  }
}

Reply Service::wait_reply(bool check_in) {
  v1::WaitResponse response;
  response.set_check_in(check_in);
  return {200, response.SerializeAsString()};
}

}  // namespace vigil::platform
