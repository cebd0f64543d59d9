#include "link/platform_link.h"

#include <algorithm>
#include <random>

#include "link/platform_upload_target.h"
#include "store/config_table.h"
#include "store/outbox.h"

namespace vigil {

using namespace std::chrono_literals;

namespace {

constexpr std::chrono::milliseconds kFirstBackoff = 1s;

}  // namespace

PlatformLink::PlatformLink(Paths paths, StateStore& store, LogManager& logs, LinkDelegate& delegate)
    : paths_(std::move(paths)),
      store_(store),
      logs_(logs),
      delegate_(delegate),
      connection_(paths_, store, logs, status_),
      provisioner_(paths_, store, logs, connection_),
      desired_state_(store, logs, delegate, connection_, paths_.root),
      checkin_(store, logs, delegate, status_, connection_, desired_state_, outcomes_),
      update_check_(paths_, store, logs, connection_, delegate),
      order_wait_(connection_, logs, status_, [this] { wake(); }) {}

PlatformLink::~PlatformLink() {
  stop();
}

void PlatformLink::start() {
  order_wait_.start();
  thread_ = std::thread([this] { run(); });
}

void PlatformLink::stop() {
  stopping_ = true;
  connection_.cancel();
  wake();
  if (thread_.joinable()) thread_.join();
  order_wait_.stop();
}

void PlatformLink::scan_ended(const std::string& module, const std::string& control_id, const Status& outcome) {
  bool ordered = !control_id.empty() && outcomes_.scan_ended(control_id, outcome);
  std::string error = outcome.ok() ? std::string() : outcome.error();
  auto [last, first] = last_scan_error_.try_emplace(module, error);
  bool changed = first || last->second != error;
  last->second = error;
  if (ordered || changed) wake();
}

void PlatformLink::idle_until_next_checkin(const LinkSettings& settings) {
  auto interval = std::chrono::seconds(settings.checkin_seconds);
  v1::WaitRequest request;
  request.set_protocol(v1::PROTOCOL_1);
  request.set_agent_id(settings.agent_id);
  request.set_agent_token(settings.agent_token);
  request.set_state_version(settings.state_version);
  request.set_update_timestamp_version(checkin_.announced_update());
  request.set_hold_seconds(static_cast<uint32_t>(std::min(interval, PlatformConnection::kMaxHold).count()));
  order_wait_.watch(std::move(request));
  wait_for(interval);
  order_wait_.pause();
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
  status_.set_state(state, error);
  logs_.daemon()->warn("platform link {}: {}; next attempt in {} ms", state, error, delay.count());
  wait_for(delay);
}

nlohmann::json PlatformLink::status() {
  LinkSettings settings = read_settings();
  nlohmann::json report = status_.report();
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
  report["updates"] = update_check_.status(settings);
  return report;
}

LinkSettings PlatformLink::read_settings() {
  return read_link_settings(store_.config(), paths_);
}

bool PlatformLink::configured() {
  return read_settings().configured();
}

Status PlatformLink::provision(const LinkSettings& settings, const link::MachineFacts& facts,
                               const std::string& reason) {
  auto identity = provisioner_.provision(settings, facts, reason);
  if (!identity.ok()) return Error{identity.error()};
  checkin_.forget();
  if (!identity.value().update_root().empty()) {
    // Another platform (migrated) brings its own root; a re-provisioning with the same one never replaces it.
    if (Status pinned = update_check_.pin_root(identity.value().update_root(), reason == "migrated"); !pinned.ok()) {
      logs_.daemon()->error("{}", pinned.error());
    }
  }
  if (identity.value().has_state()) {
    // Applied with the new identity: manifests are fetched as the new agent.
    if (Status applied = desired_state_.apply(identity.value().state(), read_settings()); !applied.ok()) {
      logs_.daemon()->warn("desired state not applied yet: {}", applied.error());
    }
  }
  delegate_.uploads_possible();
  return Status::Ok();
}

void PlatformLink::leave(std::function<void(Status)> done) {
  {
    std::lock_guard lock(leave_mutex_);
    if (!link_finished_) {
      leave_requests_.push_back(std::move(done));
      done = nullptr;
    }
  }
  if (done) {
    done(Error{"the agent is stopping"});
    return;
  }
  wake();
}

void PlatformLink::answer_leave_requests() {
  std::vector<std::function<void(Status)>> requests;
  {
    std::lock_guard lock(leave_mutex_);
    requests.swap(leave_requests_);
  }
  if (requests.empty()) return;
  if (!left_) {
    LinkSettings settings = read_settings();
    if (!settings.provisioned()) {
      left_ = Error{"the agent is not provisioned: no platform to tell"};
    } else if (Status ready = connection_.ensure(settings); !ready.ok()) {
      left_ = ready;
    } else {
      left_ = checkin_.leave(settings, link::read_machine_facts(paths_.root));
    }
    if (left_->ok()) {
      logs_.daemon()->warn("told the platform that agent {} is being uninstalled; no more check-ins",
                           settings.agent_id);
    } else {
      logs_.daemon()->warn("could not tell the platform that this agent is being uninstalled: {}", left_->error());
    }
    status_.set_state("left", left_->ok() ? std::string() : left_->error());
  }
  for (auto& done : requests) done(*left_);
}

void PlatformLink::run() {
  auto log = logs_.daemon();
  while (!stopping_) {
    answer_leave_requests();
    if (left_) {
      wait_for(24h);
      continue;
    }
    LinkSettings settings = read_settings();
    if (!settings.configured()) {
      status_.set_state("not configured");
      wait_for(24h);
      continue;
    }
    if (Status ready = connection_.ensure(settings); !ready.ok()) {
      // E.g. the CA bundle is missing: it may come back, so keep looking.
      retry_later("misconfigured", ready.error());
      continue;
    }
    link::MachineFacts facts = link::read_machine_facts(paths_.root);
    if (auto reason = provisioning_reason(settings, facts)) {
      if (settings.golden_image && settings.agent_id.empty() && settings.golden_fingerprint == facts.fingerprint) {
        status_.set_state("golden image");
        log->info("golden image: no agent id is made on the image itself; each clone provisions on its first start");
        wait_for(24h);
        continue;
      }
      status_.set_state("provisioning");
      if (Status done = provision(settings, facts, *reason); !done.ok()) {
        retry_later("provisioning failed", done.error());
        continue;
      }
      backoff_ = 0ms;
      continue;  // check in right away
    }
    bool was_failing = backoff_ > 0ms;
    auto acted = checkin_.check_in(settings, facts);
    if (!acted.ok()) {
      if (acted.code() == ErrorCode::kUnauthenticated) {
        log->warn("the platform does not know agent {} ({}); provisioning again", settings.agent_id, acted.error());
        link::log_unsaved(logs_, store_.config().set(link_keys::kReprovisionReason, "unknown to the platform"));
        continue;
      }
      retry_later("check-in failing", acted.error());
      continue;
    }
    backoff_ = 0ms;
    status_.set_state("connected");
    if (was_failing) {
      log->info("platform reachable again");
      delegate_.uploads_possible();
    }
    update_check_.after_checkin(settings, checkin_.announced_update());
    if (!acted.value()) idle_until_next_checkin(read_settings());
  }
  status_.set_state("stopped");
  std::vector<std::function<void(Status)>> unanswered;
  {
    std::lock_guard lock(leave_mutex_);
    link_finished_ = true;
    unanswered.swap(leave_requests_);
  }
  for (auto& done : unanswered) done(Error{"the agent is stopping"});
}

UploadResult PlatformLink::upload(const OutboxEntry& entry) {
  LinkSettings settings = read_settings();
  if (!settings.provisioned()) return UploadResult::retry("the agent is not provisioned yet");
  if (Status ready = connection_.ensure(settings); !ready.ok()) return UploadResult::retry(ready.error());
  return upload_to_platform(connection_, settings, entry);
}

}  // namespace vigil
