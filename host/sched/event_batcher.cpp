// Event batching into the outbox.
#include "sched/event_batcher.h"

#include "delta/delta_encoder.h"

#include <boost/asio/post.hpp>

namespace vigil {

EventBatcher::EventBatcher(boost::asio::io_context& io, Outbox& outbox, LogManager& logs,
                           std::function<void()> on_written)
    : io_(io), outbox_(outbox), logs_(logs), on_written_(std::move(on_written)) {}

void EventBatcher::add(const std::string& module, std::string event) {
  size_t size = 0;
  {
    std::lock_guard lock(mutex_);
    auto& batch = open_[module];
    batch.push_back(std::move(event));
    size = batch.size();
    ++counts_[module].received;
  }
  if (size == 1 || size == kMaxEvents) boost::asio::post(io_, [this, module] { schedule(module); });
}

void EventBatcher::schedule(const std::string& module) {
  auto now = std::chrono::steady_clock::now();
  auto last = last_write_.find(module);
  bool full = false;
  {
    std::lock_guard lock(mutex_);
    full = open_[module].size() >= kMaxEvents;
  }
  if (full || last == last_write_.end() || now - last->second >= kSpacing) {
    flush(module);
    return;
  }
  auto& timer = timers_[module];
  if (!timer) timer = std::make_unique<boost::asio::steady_timer>(io_);
  timer->expires_at(last->second + kSpacing);
  timer->async_wait([this, module](boost::system::error_code error) {
    if (!error) flush(module);
  });
}

void EventBatcher::flush(const std::string& module) {
  std::vector<std::string> events;
  {
    std::lock_guard lock(mutex_);
    events.swap(open_[module]);
  }
  if (events.empty()) return;
  last_write_[module] = std::chrono::steady_clock::now();
  auto count = [&](int64_t Counts::*field) {
    std::lock_guard lock(mutex_);
    counts_[module].*field += static_cast<int64_t>(events.size());
  };
  auto payload = encode_event_batch(module, events);
  if (!payload.ok()) {
    logs_.daemon()->error("events of module '{}' not written: {}", module, payload.error());
    count(&Counts::lost);
    return;
  }
  auto written = outbox_.append(module, "events", payload.value());
  if (!written.ok()) {
    logs_.daemon()->error("events of module '{}' not written: {}", module, written.error());
    count(&Counts::lost);
    return;
  }
  count(&Counts::written);
  logs_.module(module)->debug("{} events queued as sequence {}", events.size(), written.value().sequence);
  if (written.value().dropped > 0) {
    logs_.daemon()->warn("outbox bound reached: {} oldest entries dropped", written.value().dropped);
  }
  if (on_written_) on_written_();
}

std::map<std::string, EventBatcher::Counts> EventBatcher::counts() {
  std::lock_guard lock(mutex_);
  return counts_;
}

void EventBatcher::flush_all() {
  std::vector<std::string> modules;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [module, events] : open_) modules.push_back(module);
  }
  for (const auto& module : modules) flush(module);
  for (auto& [module, timer] : timers_) timer->cancel();
}

}  // namespace vigil
