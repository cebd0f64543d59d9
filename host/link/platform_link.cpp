#include "link/platform_link.h"

#include "base/file_safety.h"
#include "proxy/proxy_settings.h"
#include "proxy/route_resolver.h"

#include <algorithm>
#include <random>

#include "version.h"
#include "vigil/crypto/digest.h"
#include "vigil/crypto/random.h"
#include "vigil/net/tls.h"
#include "vigil/net/wire.h"

namespace vigil {

using nlohmann::json;
using namespace std::chrono_literals;
namespace keys = link_keys;

namespace {

constexpr std::chrono::milliseconds kFirstBackoff = 1s;

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string short_digest(const std::string& data) {
  return crypto::sha256_hex(data).substr(0, 16);
}

template <typename Message>
Result<Message> parse_reply(const Result<std::string>& body, const char* what) {
  if (!body.ok()) return Error{body.error()};
  Message message;
  if (!message.ParseFromString(body.value()))
    return Error{std::string("malformed ") + what + " reply from the platform"};
  return message;
}

}  // namespace

// The configuration the link acts on, read fresh on every round.
struct PlatformLink::Settings {
  std::string server_uri;
  std::string customer_id;
  std::string activation_id;
  bool golden_image = false;
  std::string golden_fingerprint;
  std::string host_id_search_dir;
  std::optional<std::filesystem::path> ca_bundle;
  std::string agent_id;
  std::string agent_token;
  std::string reprovision_reason;
  std::string provisioned_for;  // server|customer|activation the identity was issued for
  std::string fingerprint;      // the machine's when the identity was issued
  std::string state_version;
  std::string nonce;
  int64_t checkin_seconds = PlatformLink::kDefaultCheckinSeconds;
  int64_t backoff_max_seconds = 300;
  uint64_t last_command = 0;

  bool configured() const { return !server_uri.empty(); }
  std::string target() const { return server_uri + "|" + customer_id + "|" + activation_id; }
};

ConfigChanges desired_state_config(const v1::DesiredState& state,
                                   const std::vector<std::pair<std::string, std::string>>& current) {
  ConfigChanges config;
  // Per-module values the profile no longer carries go back to their defaults.
  for (const auto& [key, value] : current) {
    bool per_module = key.size() > 13 && (key.ends_with(".ScanInterval") || key.ends_with(".CpuLimit"));
    if (per_module) config.emplace_back(key, std::nullopt);
  }
  // Only names a module could have become config keys.
  auto module_name = [](const std::string& name) {
    return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](unsigned char c) {
      return std::isalnum(c) || c == '_' || c == '-';
    });
  };
  const v1::Profile& profile = state.profile();
  for (const auto& [module, seconds] : profile.scan_interval_seconds()) {
    if (module_name(module) && seconds > 0) config.emplace_back(module + ".ScanInterval", std::to_string(seconds));
  }
  for (const auto& [module, percent] : profile.cpu_limit_percent()) {
    if (module_name(module) && percent >= 1 && percent <= 100) {
      config.emplace_back(module + ".CpuLimit", std::to_string(percent));
    }
  }
  config.emplace_back(keys::kCheckinInterval,
                      profile.checkin_interval_seconds() > 0
                          ? std::optional<std::string>(std::to_string(profile.checkin_interval_seconds()))
                          : std::nullopt);
  config.emplace_back("BlackoutWindows", profile.blackout_windows().empty()
                                             ? std::nullopt
                                             : std::optional<std::string>(profile.blackout_windows()));
  if (profile.log_level() >= 0 && profile.log_level() <= 5) {
    config.emplace_back("LogLevel", std::to_string(profile.log_level()));
  }
  config.emplace_back("Profile", profile.name());
  std::vector<std::string> activated;
  for (const auto& module : state.activated_modules()) {
    if (module_name(module)) activated.push_back(module);
  }
  std::sort(activated.begin(), activated.end());
  activated.erase(std::unique(activated.begin(), activated.end()), activated.end());
  config.emplace_back(keys::kActivatedModules, json(activated).dump());
  config.emplace_back("StateVersion", state.version());
  return config;
}

std::optional<std::vector<std::string>> activated_modules(StateStore& store) {
  auto value = store.config(keys::kActivatedModules);
  if (!value.ok() || !value.value()) return std::nullopt;
  try {
    return json::parse(*value.value()).get<std::vector<std::string>>();
  } catch (const json::exception&) {
    return std::vector<std::string>();  // unreadable: run nothing until the platform says again
  }
}

PlatformLink::PlatformLink(Paths paths, StateStore& store, LogManager& logs, LinkDelegate& delegate)
    : paths_(std::move(paths)), store_(store), logs_(logs), delegate_(delegate) {}

PlatformLink::~PlatformLink() {
  stop();
}

void PlatformLink::start() {
  thread_ = std::thread([this] { run(); });
}

void PlatformLink::stop() {
  stopping_ = true;
  {
    std::lock_guard lock(clients_mutex_);
    if (checkin_client_) checkin_client_->cancel();
    if (upload_client_) upload_client_->cancel();
  }
  wake();
  if (thread_.joinable()) thread_.join();
}

void PlatformLink::wake() {
  {
    std::lock_guard lock(wake_mutex_);
    woken_ = true;
  }
  wake_cv_.notify_all();
}

void PlatformLink::wait_for(std::chrono::milliseconds delay) {
  std::unique_lock lock(wake_mutex_);
  wake_cv_.wait_for(lock, delay, [this] { return woken_ || stopping_; });
  woken_ = false;
}

std::chrono::milliseconds PlatformLink::next_backoff() {
  // Exponential with jitter: the nth failure waits a random time in
  // [d/2, d] where d doubles from 1 s up to BackoffMaxSeconds.
  auto settings_max = std::chrono::seconds(read_settings().backoff_max_seconds);
  backoff_ = std::min<std::chrono::milliseconds>(settings_max, backoff_ == 0ms ? kFirstBackoff : backoff_ * 2);
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uniform_int_distribution<int64_t> spread(backoff_.count() / 2, backoff_.count());
  return std::chrono::milliseconds(spread(random));
}

void PlatformLink::retry_later(const std::string& state, const std::string& error) {
  auto delay = next_backoff();
  set_state(state, error);
  logs_.daemon()->warn("platform link {}: {}; next attempt in {} ms", state, error, delay.count());
  wait_for(delay);
}

void PlatformLink::remember(const Status& saved) {
  if (!saved.ok()) logs_.daemon()->error("platform link: state not saved: {}", saved.error());
}

void PlatformLink::set_state(const std::string& state, const std::string& error) {
  std::lock_guard lock(status_mutex_);
  status_["state"] = state;
  if (!error.empty()) {
    status_["last_error"] = error;
    status_["last_error_at"] = unix_now();
  }
}

json PlatformLink::status() {
  Settings settings = read_settings();
  std::lock_guard lock(status_mutex_);
  json report = status_;
  report["configured"] = settings.configured();
  report["server"] = settings.server_uri;
  report["customer_id"] = settings.customer_id;
  report["activation_id"] = settings.activation_id;
  report["agent_id"] = settings.agent_id;
  report["provisioned"] = !settings.agent_id.empty();
  report["golden_image"] = settings.golden_image;
  report["checkin_interval"] = settings.checkin_seconds;
  report["state_version"] = settings.state_version;
  // False while the identity was issued for other settings (a migration under way).
  report["identity_current"] = !settings.agent_id.empty() && settings.provisioned_for == settings.target();
  return report;
}

PlatformLink::Settings PlatformLink::read_settings() {
  Settings settings;
  auto text = [&](const char* key) {
    auto value = store_.config(key);
    return value.ok() && value.value() ? *value.value() : std::string();
  };
  auto number = [&](const char* key, int64_t fallback, int64_t min, int64_t max) {
    try {
      std::string value = text(key);
      int64_t parsed = value.empty() ? fallback : std::stoll(value);
      return std::clamp(parsed, min, max);
    } catch (const std::exception&) {
      return fallback;
    }
  };
  settings.server_uri = text(keys::kServerUri);
  settings.customer_id = text(keys::kCustomerId);
  settings.activation_id = text(keys::kActivationId);
  settings.golden_image = text(keys::kGoldenImage) == "true" || text(keys::kGoldenImage) == "1";
  settings.golden_fingerprint = text(keys::kGoldenImageFingerprint);
  settings.host_id_search_dir = text(keys::kHostIdSearchDir);
  std::string bundle = text(keys::kCaBundle);
  if (!bundle.empty()) {
    settings.ca_bundle = std::filesystem::path(bundle);
  } else if (std::filesystem::exists(paths_.config_dir / "ca-bundle.crt")) {
    settings.ca_bundle = paths_.config_dir / "ca-bundle.crt";
  }
  settings.agent_id = text(keys::kAgentId);
  settings.agent_token = text(keys::kAgentToken);
  settings.reprovision_reason = text(keys::kReprovisionReason);
  settings.provisioned_for = text("ProvisionedFor");
  settings.fingerprint = text("HostFingerprint");
  settings.state_version = text("StateVersion");
  settings.nonce = text("ProvisionNonce");
  settings.checkin_seconds = number(keys::kCheckinInterval, kDefaultCheckinSeconds, 1, int64_t{7} * 24 * 3600);
  settings.backoff_max_seconds = number("LinkBackoffMaxSeconds", 300, 1, 3600);
  settings.last_command = static_cast<uint64_t>(number("LastCommandId", 0, 0, INT64_MAX));
  return settings;
}

bool PlatformLink::configured() {
  return read_settings().configured();
}

// What the connections depend on: a change closes them so the next request
// uses the new settings (proxy changes apply without a restart).
std::string PlatformLink::connection_key(const Settings& settings) {
  std::string key = settings.server_uri + "|" + (settings.ca_bundle ? settings.ca_bundle->string() : "");
  for (const char* name : proxy::all_keys()) {
    auto value = store_.config(name);
    key += "|" + (value.ok() && value.value() ? *value.value() : std::string());
  }
  std::error_code error;
  auto proxy_file = paths_.config_dir / "proxy";
  auto changed = std::filesystem::last_write_time(proxy_file, error);
  if (!error) key += "|" + std::to_string(changed.time_since_epoch().count());
  return key;
}

Status PlatformLink::ensure_clients(const Settings& settings) {
  std::string key = connection_key(settings);
  std::lock_guard lock(clients_mutex_);
  if (checkin_client_ && key == client_key_) return Status::Ok();
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
    auto value = store_.config(name);
    return value.ok() ? value.value() : std::nullopt;
  };
  options.pac_helper = proxy::default_pac_helper();
  options.tls = tls.value();
  auto resolver = std::make_shared<proxy::RouteResolver>(std::move(options));
  auto planner = [resolver](const wire::Url& target) { return resolver->plan(target); };
  auto observer = [this](const link::Route& route, const std::string& failure) {
    if (failure.empty()) {
      logs_.daemon()->info("platform connection via {}: connected", route.display());
    } else {
      logs_.daemon()->warn("platform connection via {}: failed: {}", route.display(), failure);
    }
    std::lock_guard status_lock(status_mutex_);
    if (failure.empty()) status_["route"] = route.display();
  };
  checkin_client_ =
      std::make_shared<link::HttpsClient>(url.value(), tls.value(), link::LinkTimeouts{}, planner, observer);
  upload_client_ =
      std::make_shared<link::HttpsClient>(url.value(), tls.value(), link::LinkTimeouts{}, planner, observer);
  if (stopping_) {
    checkin_client_->cancel();
    upload_client_->cancel();
  }
  client_key_ = key;
  return Status::Ok();
}

Result<std::string> PlatformLink::call(const char* path, const google::protobuf::Message& request, bool upload,
                                       int* http_status) {
  std::shared_ptr<link::HttpsClient> client;
  {
    std::lock_guard lock(clients_mutex_);
    client = upload ? upload_client_ : checkin_client_;
  }
  if (!client) return Error{"the platform link is not set up"};
  std::lock_guard lock(upload ? upload_mutex_ : checkin_mutex_);
  auto reply = client->post(path, request.SerializeAsString());
  if (!upload) checkin_http_status_ = client->http_status();
  if (http_status != nullptr) *http_status = client->http_status();
  return reply;
}

std::optional<std::string> PlatformLink::provisioning_reason(const Settings& settings,
                                                             const link::MachineFacts& facts) {
  if (settings.agent_id.empty() || settings.agent_token.empty()) return std::string("new");
  if (!settings.reprovision_reason.empty()) return settings.reprovision_reason;
  if (settings.provisioned_for != settings.target()) return std::string("migrated");
  if (settings.fingerprint != facts.fingerprint) return std::string("cloned");
  return std::nullopt;
}

Status PlatformLink::provision(const Settings& settings, const link::MachineFacts& facts, const std::string& reason) {
  auto log = logs_.daemon();
  auto host_id_path = link::host_id_file(paths_.root, settings.host_id_search_dir);
  v1::ProvisionRequest request;
  request.set_protocol(v1::PROTOCOL_1);
  request.set_customer_id(settings.customer_id);
  request.set_activation_id(settings.activation_id);
  std::string previous = settings.agent_id;
  std::string why = reason;
  if (previous.empty()) {
    // A reinstall keeps the host id file: offer the id it holds back.
    if (auto kept = link::read_host_id(host_id_path)) {
      previous = *kept;
      why = "reinstalled";
    }
  }
  if (!previous.empty()) {
    request.set_previous_agent_id(previous);
    request.set_reason(why);
  }
  std::string nonce = settings.nonce;
  if (nonce.empty()) {
    nonce = crypto::random_hex(16);
    if (Status kept = store_.set_config("ProvisionNonce", nonce); !kept.ok()) return kept;
  }
  request.set_request_nonce(nonce);
  v1::HostFacts* host = request.mutable_facts();
  host->set_hostname(facts.hostname);
  host->set_os_name(facts.os_name);
  host->set_kernel(facts.kernel);
  host->set_architecture(facts.architecture);
  for (const auto& mac : facts.mac_addresses) host->add_mac_addresses(mac);
  for (const auto& address : facts.ip_addresses) host->add_ip_addresses(address);
  host->set_agent_version(kVigilVersion);
  host->set_fingerprint(facts.fingerprint);

  log->info("provisioning against {} (customer {}, reason: {}{})", settings.server_uri, settings.customer_id, why,
            previous.empty() ? "" : ", previous agent id " + previous);
  auto reply = parse_reply<v1::ProvisionResponse>(call("/v1/provision", request, false), "provision");
  if (!reply.ok()) return Error{reply.error()};
  const v1::ProvisionResponse& response = reply.value();
  if (!crypto::is_uuid(response.agent_id()) || response.agent_token().empty()) {
    return Error{"the platform's provision reply carries no valid agent id"};
  }

  // The new identity in one transaction; a crash before it means provisioning again
  // with the same nonce, which the platform answers with the same agent.
  bool new_id = response.agent_id() != settings.agent_id;
  if (new_id && !settings.agent_id.empty()) {
    auto dropped = store_.reset_uploaded_state();
    if (!dropped.ok()) return Error{dropped.error()};
    log->info("new identity: {} outbox entries of agent {} dropped; every module uploads in full next", dropped.value(),
              settings.agent_id);
  }
  Status saved = store_.update_config({{keys::kAgentId, response.agent_id()},
                                       {keys::kAgentToken, response.agent_token()},
                                       {"ProvisionedFor", settings.target()},
                                       {"HostFingerprint", facts.fingerprint},
                                       {"ProvisionedAt", std::to_string(unix_now())},
                                       {keys::kReprovisionReason, std::nullopt},
                                       {"ProvisionNonce", std::nullopt},
                                       {"StateVersion", std::nullopt},
                                       {"LastCommandId", std::nullopt}});
  if (!saved.ok()) return saved;
  if (Status written = link::write_host_id(host_id_path, response.agent_id()); !written.ok()) {
    log->warn("host id file not written: {}", written.error());
  }
  last_status_digest_.clear();
  done_commands_.clear();
  log->info("provisioned: agent id {} (platform {})", response.agent_id(), settings.server_uri);
  if (response.has_state()) {
    Settings now = read_settings();
    if (Status applied = apply(response.state(), now); !applied.ok()) {
      log->warn("desired state not applied yet: {}", applied.error());
    }
  }
  delegate_.uploads_possible();
  return Status::Ok();
}

Result<bool> PlatformLink::checkin(const Settings& settings, const link::MachineFacts& facts) {
  v1::CheckinRequest request;
  request.set_protocol(v1::PROTOCOL_1);
  request.set_agent_id(settings.agent_id);
  request.set_agent_token(settings.agent_token);
  request.set_state_version(settings.state_version);
  request.set_fingerprint(facts.fingerprint);
  std::vector<v1::ModuleStatus> modules = delegate_.module_statuses();
  std::string serialized;
  for (const auto& module : modules) serialized += module.SerializeAsString() + "\n";
  std::string digest = short_digest(serialized);
  request.set_status_digest(digest);
  if (digest != last_status_digest_) {
    for (auto& module : modules) *request.add_modules() = std::move(module);
  }
  auto outbox = store_.outbox_stats();
  if (outbox.ok()) {
    request.set_outbox_depth(outbox.value().depth);
    request.set_outbox_dropped(outbox.value().dropped);
  }
  for (uint64_t id : done_commands_) request.add_done_commands(id);

  auto reply = parse_reply<v1::CheckinResponse>(call("/v1/checkin", request, false), "check-in");
  if (!reply.ok()) return Error{reply.error()};
  const v1::CheckinResponse& response = reply.value();
  done_commands_.clear();
  last_status_digest_ = response.send_module_status() ? std::string() : digest;
  {
    std::lock_guard lock(status_mutex_);
    status_["last_checkin"] = unix_now();
    status_["last_checkin_bytes"] = request.ByteSizeLong();
    status_["last_checkin_reply_bytes"] = response.ByteSizeLong();
  }
  bool act = false;
  if (response.has_state()) {
    act = true;
    if (Status applied = apply(response.state(), settings); !applied.ok()) return Error{applied.error()};
  }
  for (const v1::Command& command : response.commands()) {
    act = true;
    done_commands_.push_back(command.id());
    if (command.id() != 0 && command.id() <= settings.last_command) continue;  // carried out before a restart
    carry_out(command);
    if (command.id() != 0) remember(store_.set_config("LastCommandId", std::to_string(command.id())));
  }
  return act || response.send_module_status();
}

Status PlatformLink::apply(const v1::DesiredState& state, const Settings& settings) {
  auto log = logs_.daemon();
  // Manifests first: the state version moves only once everything is here.
  std::vector<std::string> changed;
  for (const v1::ManifestVersion& wanted : state.manifests()) {
    auto stored = store_.manifest(wanted.module(), wanted.manifest_type());
    if (!stored.ok()) return Error{stored.error()};
    if (stored.value() && stored.value()->version == wanted.version()) continue;
    v1::ManifestRequest request;
    request.set_protocol(v1::PROTOCOL_1);
    request.set_agent_id(settings.agent_id);
    request.set_agent_token(settings.agent_token);
    request.set_module(wanted.module());
    request.set_manifest_type(wanted.manifest_type());
    auto reply = parse_reply<v1::ManifestResponse>(call("/v1/manifest", request, false), "manifest");
    if (!reply.ok()) return Error{"manifest " + wanted.module() + "/" + wanted.manifest_type() + ": " + reply.error()};
    const v1::ManifestResponse& manifest = reply.value();
    Manifest record{wanted.module(), wanted.manifest_type(), manifest.manifest().version(), manifest.body()};
    if (Status put = store_.put_manifest(record); !put.ok()) return put;
    log->info("manifest {}/{} version {} downloaded ({} bytes)", record.module, record.manifest_type, record.version,
              record.body.size());
    changed.push_back(record.module);
  }

  // Profile and activation in one transaction.
  auto all = store_.all_config();
  if (!all.ok()) return Error{all.error()};
  auto config = desired_state_config(state, all.value());
  if (Status saved = store_.update_config(config); !saved.ok()) return saved;
  const v1::Profile& profile = state.profile();
  log->info("desired state {} applied: profile '{}', check-in every {} s, activated: {}", state.version(),
            profile.name(), profile.checkin_interval_seconds() > 0 ? profile.checkin_interval_seconds() : 900,
            state.activated_modules().empty() ? std::string("none") : json(state.activated_modules()).dump());
  delegate_.desired_state_applied(changed);
  return Status::Ok();
}

void PlatformLink::carry_out(const v1::Command& command) {
  auto log = logs_.daemon();
  switch (command.kind_case()) {
    case v1::Command::kScanNow: {
      auto control_id =
          delegate_.scan_now(command.scan_now().module(), static_cast<int>(command.scan_now().cpu_throttle()));
      if (control_id.ok()) {
        log->info("platform command {}: on-demand scan of '{}' queued, ControlId {}", command.id(),
                  command.scan_now().module(), control_id.value());
      } else {
        log->warn("platform command {}: on-demand scan of '{}' refused: {}", command.id(), command.scan_now().module(),
                  control_id.error());
      }
      break;
    }
    case v1::Command::kReprovision:
      log->warn("platform command {}: re-provision ({})", command.id(), command.reprovision().reason());
      remember(store_.set_config(keys::kReprovisionReason, command.reprovision().reason().empty()
                                                               ? "requested"
                                                               : command.reprovision().reason()));
      break;
    case v1::Command::kRotateToken: {
      const std::string& token = command.rotate_token().agent_token();
      bool printable = std::all_of(token.begin(), token.end(), [](char c) { return c > ' ' && c < 127; });
      if (token.empty() || token.size() > 256 || !printable) {
        log->warn("platform command {}: token rotation refused: the new token is empty, too long or not printable",
                  command.id());
        break;
      }
      // Never logged: the old token stops working once the platform sees this one.
      remember(store_.set_config(keys::kAgentToken, token));
      log->info("platform command {}: agent token rotated", command.id());
      break;
    }
    case v1::Command::kUninstall:
      log->warn("platform command {}: uninstall", command.id());
      delegate_.uninstall_requested();
      break;
    default: log->warn("platform command {} of a kind this agent does not know; ignored", command.id());
  }
}

void PlatformLink::run() {
  auto log = logs_.daemon();
  while (!stopping_) {
    Settings settings = read_settings();
    if (!settings.configured()) {
      set_state("not configured");
      wait_for(24h);
      continue;
    }
    if (Status ready = ensure_clients(settings); !ready.ok()) {
      // E.g. the CA bundle is missing: it may come back, so keep looking.
      retry_later("misconfigured", ready.error());
      continue;
    }
    link::MachineFacts facts = link::read_machine_facts(paths_.root);
    if (auto reason = provisioning_reason(settings, facts)) {
      if (settings.golden_image && settings.agent_id.empty() && settings.golden_fingerprint == facts.fingerprint) {
        set_state("golden image");
        log->info("golden image: no agent id is made on the image itself; each clone provisions on its first start");
        wait_for(24h);
        continue;
      }
      set_state("provisioning");
      if (Status done = provision(settings, facts, *reason); !done.ok()) {
        retry_later("provisioning failed", done.error());
        continue;
      }
      backoff_ = 0ms;
      continue;  // check in right away
    }
    bool was_failing = backoff_ > 0ms;
    auto acted = checkin(settings, facts);
    if (!acted.ok()) {
      if (checkin_http_status_ == 401 || checkin_http_status_ == 404) {
        log->warn("the platform does not know agent {} ({}); provisioning again", settings.agent_id, acted.error());
        remember(store_.set_config(keys::kReprovisionReason, "unknown to the platform"));
        continue;
      }
      retry_later("check-in failing", acted.error());
      continue;
    }
    backoff_ = 0ms;
    set_state("connected");
    if (was_failing) {
      log->info("platform reachable again");
      delegate_.uploads_possible();
    }
    if (!acted.value()) wait_for(std::chrono::seconds(read_settings().checkin_seconds));
  }
  set_state("stopped");
}

UploadResult PlatformLink::upload(const OutboxEntry& entry) {
  Settings settings = read_settings();
  if (settings.agent_id.empty() || settings.agent_token.empty()) {
    return UploadResult::retry("the agent is not provisioned yet");
  }
  if (Status ready = ensure_clients(settings); !ready.ok()) return UploadResult::retry(ready.error());
  v1::UploadRequest request;
  request.set_protocol(v1::PROTOCOL_1);
  request.set_agent_id(settings.agent_id);
  request.set_agent_token(settings.agent_token);
  request.set_sequence(entry.sequence);
  request.set_module(entry.module);
  request.set_kind(entry.kind);
  request.set_created_at(entry.created_at);
  request.set_payload(entry.payload);
  int http_status = 0;
  auto reply = parse_reply<v1::UploadResponse>(call("/v1/upload", request, true, &http_status), "upload");
  if (!reply.ok()) {
    bool for_good = http_status == 400 || http_status == 413 || http_status == 422;
    return for_good ? UploadResult::refused(reply.error()) : UploadResult::retry(reply.error());
  }
  if (reply.value().acknowledged_sequence() != entry.sequence) {
    return UploadResult::retry("the platform acknowledged sequence " +
                               std::to_string(reply.value().acknowledged_sequence()) + " for " +
                               std::to_string(entry.sequence));
  }
  return UploadResult::delivered();
}

}  // namespace vigil
