// Outbox delivery: per-module order, round robin between modules, back-off,
// set-aside of refused entries, blackout windows.
#include "outbox/outbox_delivery.h"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <optional>

#include "store/config_table.h"
#include "store/outbox.h"
#include "vigil/time_windows/time_windows.h"

namespace vigil {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

// A refused entry is tried again soon: the receiver may have been mid-upgrade.
constexpr std::chrono::milliseconds kRefusalRetry{1000};
constexpr std::chrono::milliseconds kFirstBackoff{1000};

}  // namespace

OutboxDelivery::OutboxDelivery(asio::io_context& io, asio::thread_pool& pool, StateStore& store, LogManager& logs,
                               std::unique_ptr<UploadTarget> target, DeliveryListener& listener)
    : io_(io), pool_(pool), store_(store), logs_(logs), target_(std::move(target)), listener_(listener), timer_(io) {}

void OutboxDelivery::stop() {
  stopped_ = true;
  timer_.cancel();
}

void OutboxDelivery::retry_now() {
  backoff_.clear();
  kick();
}

bool OutboxDelivery::in_blackout() {
  auto text = store_.config().get("BlackoutWindows");
  auto windows = TimeWindows::parse(text.ok() && text.value() ? *text.value() : "");
  if (!windows.ok()) logs_.warn_once("configuration ignored: " + windows.error());
  int minute = TimeWindows::minute_of_day(std::chrono::system_clock::now());
  if (!windows.ok() || !windows.value().contains(minute)) {
    blackout_.clear();
    return false;
  }
  std::string window = "blackout window " + windows.value().to_string();
  if (window != blackout_) {
    logs_.daemon()->info("outbox: uploads held by the {} for {} more minute(s)", window,
                         windows.value().minutes_until_open(minute));
  }
  blackout_ = window;
  // Re-check at the next minute boundary: the window may also be edited meanwhile.
  auto now = std::chrono::system_clock::now();
  auto next_minute = std::chrono::ceil<std::chrono::minutes>(now + std::chrono::milliseconds(1));
  wake_at(Clock::now() + (next_minute - now));
  return true;
}

void OutboxDelivery::wake_at(Clock::time_point when) {
  timer_.expires_at(when);
  timer_.async_wait([this](boost::system::error_code error) {
    if (!error) kick();
  });
}

void OutboxDelivery::kick() {
  if (stopped_ || in_flight_) return;
  auto modules = store_.outbox().modules();
  if (!modules.ok()) {
    logs_.daemon()->error("outbox: {}", modules.error());
    return;
  }
  for (auto it = backoff_.begin(); it != backoff_.end();) {  // modules whose entries are gone
    bool listed = std::find(modules.value().begin(), modules.value().end(), it->first) != modules.value().end();
    it = listed ? std::next(it) : backoff_.erase(it);
  }
  if (modules.value().empty() || in_blackout()) return;

  // Round robin: the first ready module after the one served last.
  auto now = Clock::now();
  const auto& names = modules.value();
  size_t start = std::upper_bound(names.begin(), names.end(), last_module_) - names.begin();
  std::optional<Clock::time_point> earliest;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& module = names[(start + i) % names.size()];
    auto held = backoff_.find(module);
    if (held != backoff_.end() && held->second.next_try > now) {
      earliest = std::min(earliest.value_or(held->second.next_try), held->second.next_try);
      continue;
    }
    auto entry = store_.outbox().oldest(module);
    if (!entry.ok()) {
      logs_.daemon()->error("outbox: {}", entry.error());
      return;
    }
    if (!entry.value()) continue;
    last_module_ = module;
    in_flight_ = true;
    in_flight_module_ = module;
    listener_.upload_started(module);
    asio::post(pool_, [this, next = std::move(*entry.value())]() mutable {
      UploadResult result = target_->upload(next);
      asio::post(io_, [this, next = std::move(next), result = std::move(result)]() { finished(next, result); });
    });
    return;
  }
  if (earliest) wake_at(*earliest);
}

void OutboxDelivery::back_off(const std::string& module, const std::string& error, std::chrono::milliseconds first) {
  Backoff& state = backoff_[module];
  state.delay = std::min<std::chrono::milliseconds>(kMaxBackoff, std::max(first, state.delay * 2));
  // Jitter: a fleet that lost its platform does not come back in lockstep.
  std::uniform_int_distribution<int64_t> spread(state.delay.count() / 2, state.delay.count());
  state.next_try = Clock::now() + std::chrono::milliseconds(spread(jitter_));
  state.error = error;
}

void OutboxDelivery::finished(const OutboxEntry& entry, const UploadResult& result) {
  in_flight_ = false;
  auto log = logs_.daemon();
  switch (result.outcome) {
    case UploadResult::Outcome::kDelivered: {
      ++delivered_;
      backoff_.erase(entry.module);
      if (auto acknowledged = store_.outbox().acknowledge(entry.sequence); !acknowledged.ok()) {
        log->error("outbox: sequence {} delivered but not acknowledged locally: {}", entry.sequence,
                   acknowledged.error());
      }
      log->info("outbox: sequence {} ({} of module '{}') uploaded to {}", entry.sequence, entry.kind, entry.module,
                target_->describe());
      break;
    }
    case UploadResult::Outcome::kRetry: {
      ++retried_;
      back_off(entry.module, result.error, kFirstBackoff);
      log->warn("outbox: sequence {} of module '{}' not delivered to {}: {}; retrying in {} ms", entry.sequence,
                entry.module, target_->describe(), result.error,
                std::chrono::duration_cast<std::chrono::milliseconds>(backoff_[entry.module].next_try - Clock::now())
                    .count());
      break;
    }
    case UploadResult::Outcome::kRefused: {
      ++refused_;
      auto attempts = store_.outbox().record_upload_attempt(entry.sequence);
      if (attempts.ok() && attempts.value() < kRefusalsBeforeSetAside) {
        back_off(entry.module, result.error, kRefusalRetry);
        log->warn("outbox: {} refused sequence {} of module '{}' (attempt {} of {}): {}", target_->describe(),
                  entry.sequence, entry.module, attempts.value(), kRefusalsBeforeSetAside, result.error);
        break;
      }
      backoff_.erase(entry.module);
      auto moved = store_.outbox().set_aside(entry.sequence, result.error);
      if (!moved.ok()) {
        log->error("outbox: sequence {} could not be set aside: {}", entry.sequence, moved.error());
        back_off(entry.module, moved.error(), kFirstBackoff);
        break;
      }
      log->error(
          "outbox: {} refused sequence {} ({} of module '{}') {} times: {}; set aside with {} entr{} of "
          "its snapshot, the module's next entries go on (vigilctl status: outbox.set_aside)",
          target_->describe(), entry.sequence, entry.kind, entry.module, kRefusalsBeforeSetAside, result.error,
          moved.value(), moved.value() == 1 ? "y" : "ies");
      break;
    }
  }
  listener_.upload_ended(entry.module);
  kick();
}

std::string OutboxDelivery::held_reason(const std::string& module) const {
  if (!blackout_.empty()) return blackout_;
  auto held = backoff_.find(module);
  return held == backoff_.end() ? std::string() : "upload failed: " + held->second.error;
}

json OutboxDelivery::status() {
  auto stats = store_.outbox().stats();
  if (!stats.ok()) return {{"error", stats.error()}};
  json failing = json::object();
  auto now = Clock::now();
  for (const auto& [module, state] : backoff_) {
    failing[module] = {
        {"error", state.error},
        {"retry_in_ms",
         std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(state.next_try - now).count())}};
  }
  json set_aside = json::array();
  if (auto recent = store_.outbox().set_aside_entries(5); recent.ok()) {
    for (const SetAsideEntry& entry : recent.value()) {
      set_aside.push_back({{"sequence", entry.sequence},
                           {"module", entry.module},
                           {"kind", entry.kind},
                           {"bytes", entry.bytes},
                           {"at", entry.set_aside_at},
                           {"reason", entry.reason}});
    }
  }
  return {{"depth", stats.value().depth},
          {"bytes", stats.value().bytes},
          {"dropped", stats.value().dropped},
          {"set_aside", stats.value().set_aside},
          {"recently_set_aside", std::move(set_aside)},
          {"last_sequence", stats.value().last_sequence},
          {"target", target_->describe()},
          {"blocked", blackout_},
          {"failing", std::move(failing)},
          {"uploads", {{"delivered", delivered_}, {"retried", retried_}, {"refused", refused_}}}};
}

}  // namespace vigil
