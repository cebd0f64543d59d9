#include "link/order_wait.h"

#include <algorithm>

namespace vigil {

using namespace std::chrono_literals;

void OrderWait::start() {
  thread_ = std::thread([this] { run(); });
}

void OrderWait::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OrderWait::watch(v1::WaitRequest request) {
  {
    std::lock_guard lock(mutex_);
    watching_ = std::move(request);
    ++phase_;
  }
  changed_.notify_all();
}

void OrderWait::pause() {
  std::lock_guard lock(mutex_);
  watching_.reset();
  ++phase_;
}

void OrderWait::run() {
  std::chrono::milliseconds backoff = 0ms;
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return stopping_ || watching_; });
    if (stopping_) return;
    v1::WaitRequest request = *watching_;
    uint64_t phase = phase_;
    // Known before the first reply, which may take the whole hold.
    if (!said_unsupported_) status_.update({{"orders", "prompt"}});
    lock.unlock();
    auto reply = connection_.post<v1::WaitResponse>(PlatformConnection::Channel::kWait, "/v1/wait", request, "wait");
    lock.lock();
    if (stopping_) return;
    if (reply.ok()) {
      backoff = 0ms;
      said_unsupported_ = false;
      // A wait sent in an earlier idle phase still brings news for this one.
      if (reply.value().check_in() && watching_) {
        watching_.reset();
        ++phase_;
        status_.count("woken_by_platform");
        lock.unlock();
        wake_link_();
        lock.lock();
      }
      continue;  // nothing yet: the hold ended, ask again while idle
    }
    if (reply.code() == ErrorCode::kNotFound) {
      // An older platform: orders come with the check-ins. Asked again next interval.
      if (!said_unsupported_) {
        logs_.daemon()->info("the platform does not hold waits (/v1/wait: {}): orders arrive with check-ins",
                             reply.error());
        said_unsupported_ = true;
      }
      status_.update({{"orders", "at check-in (the platform has no /v1/wait)"}});
      if (phase == phase_) watching_.reset();
      continue;
    }
    // Unreachable or refused: the check-ins say why; retry with a backoff while idle.
    backoff = std::min<std::chrono::milliseconds>(60s, backoff == 0ms ? 1s : backoff * 2);
    status_.update({{"orders", "at check-in (wait failed: " + reply.error() + ")"}});
    logs_.daemon()->debug("wait for orders failed: {}; again in {} ms", reply.error(), backoff.count());
    changed_.wait_for(lock, backoff, [this, phase] { return stopping_ || phase_ != phase; });
  }
}

}  // namespace vigil
