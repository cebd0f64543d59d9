// Prompt orders (docs/platform-link.md, "Prompt orders"): while the link
// waits out its check-in interval, this thread keeps one request open to the
// platform's /v1/wait. The platform answers it as soon as something waits for
// the agent (commands, another desired state, a newer update) and the link
// checks in at once; otherwise the request ends with the interval, so an idle
// agent sends one wait per check-in. A platform without /v1/wait (404) leaves
// orders to the check-in interval, as before.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "link/link_status.h"
#include "link/platform_connection.h"
#include "log/log_manager.h"
#include "vigil/agent/v1/agent.pb.h"

namespace vigil {

namespace v1 = ::vigil::agent::v1;

class OrderWait {
 public:
  OrderWait(PlatformConnection& connection, LogManager& logs, LinkStatus& status, std::function<void()> wake_link)
      : connection_(connection), logs_(logs), status_(status), wake_link_(std::move(wake_link)) {}
  ~OrderWait() { stop(); }
  OrderWait(const OrderWait&) = delete;
  OrderWait& operator=(const OrderWait&) = delete;

  void start();
  // Returns once the thread ended (the connection must be cancelled first
  // for a wait in flight to end at once).
  void stop();
  // The link is idle until its next check-in: wait for orders with `request`.
  void watch(v1::WaitRequest request);
  // The link is checking in: no wait until the next watch().
  void pause();

 private:
  void run();

  PlatformConnection& connection_;
  LogManager& logs_;
  LinkStatus& status_;
  std::function<void()> wake_link_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<v1::WaitRequest> watching_;
  uint64_t phase_ = 0;  // moves with every watch() and pause()
  bool stopping_ = false;
  bool said_unsupported_ = false;
};

}  // namespace vigil
