// Delivers the outbox to an UploadTarget, one entry at a time on the thread
// pool, driven from the agent's io_context thread. Each module's entries go in
// sequence order; modules take turns (round robin), so a module with a huge
// delta or a failing upload cannot hold the others back. A transient failure
// keeps the module's order and backs it off (exponential, jittered); an entry
// the receiver refuses for good is tried kRefusalsBeforeSetAside times, then
// set aside with its reason and the module's next entry goes on. Blackout
// windows (config BlackoutWindows) hold every upload.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "log/log_manager.h"
#include "outbox/upload_target.h"
#include "store/outbox.h"
#include "store/state_store.h"

namespace vigil {

// What the scheduler hears of its modules' uploads (io_context thread).
class DeliveryListener {
 public:
  virtual ~DeliveryListener() = default;
  virtual void upload_started(const std::string& module) = 0;
  // Delivered, failed or set aside: the module's outbox may have changed.
  virtual void upload_ended(const std::string& module) = 0;
};

class OutboxDelivery {
 public:
  static constexpr int64_t kRefusalsBeforeSetAside = 3;
  static constexpr std::chrono::seconds kMaxBackoff{300};

  OutboxDelivery(boost::asio::io_context& io, boost::asio::thread_pool& pool, StateStore& store, LogManager& logs,
                 std::unique_ptr<UploadTarget> target, DeliveryListener& listener);

  // Something entered the outbox, or a held upload may go now.
  void kick();
  // The receiver is reachable again: transient back-offs end now.
  void retry_now();
  void stop();
  bool uploading(const std::string& module) const { return in_flight_ && in_flight_module_ == module; }
  // Why the module's uploads are not moving, or "".
  std::string held_reason(const std::string& module) const;
  nlohmann::json status();

 private:
  struct Backoff {
    std::chrono::steady_clock::time_point next_try{};
    std::chrono::milliseconds delay{0};
    std::string error;
  };

  // True while a blackout window holds every upload (and arms a re-check).
  bool in_blackout();
  void finished(const OutboxEntry& entry, const UploadResult& result);
  void back_off(const std::string& module, const std::string& error, std::chrono::milliseconds first);
  void wake_at(std::chrono::steady_clock::time_point when);

  boost::asio::io_context& io_;
  boost::asio::thread_pool& pool_;
  StateStore& store_;
  LogManager& logs_;
  std::unique_ptr<UploadTarget> target_;
  DeliveryListener& listener_;
  boost::asio::steady_timer timer_;
  std::mt19937_64 jitter_{std::random_device{}()};
  std::map<std::string, Backoff> backoff_;  // modules whose last upload failed
  std::string last_module_;                 // the round robin's position
  std::string blackout_;                    // the window holding uploads, or ""
  bool in_flight_ = false;
  std::string in_flight_module_;
  // Uploads since the worker started, by outcome (status()["uploads"], the metrics).
  int64_t delivered_ = 0, retried_ = 0, refused_ = 0;
  bool stopped_ = false;
};

}  // namespace vigil
