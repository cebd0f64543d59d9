// Takes real-time events from any thread and writes them to the outbox in
// batches, per module (group commit): an event that finds the module idle is
// written at once; events that arrive within kSpacing of the module's last
// write share the next entry (at most kMaxEvents each). Each entry has its
// own sequence number and is delivered like a delta.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "log/log_manager.h"
#include "plugin/event_sink.h"
#include "store/outbox.h"

namespace vigil {

class EventBatcher : public EventSink {
 public:
  // Bounds the outbox entries a busy module makes (≤ 200/s) while an idle
  // module's event reaches the outbox within one SQLite commit.
  static constexpr std::chrono::milliseconds kSpacing{5};
  static constexpr size_t kMaxEvents = 500;

  // `on_written` runs on the io_context after a batch entered the outbox.
  EventBatcher(boost::asio::io_context& io, Outbox& outbox, LogManager& logs, std::function<void()> on_written);

  void add(const std::string& module, std::string event) override;
  // Writes every open batch now (shutdown).
  void flush_all();

  // Per module since the worker started: events a plugin handed over, events
  // in the outbox, events lost because their batch could not be written.
  struct Counts {
    int64_t received = 0;
    int64_t written = 0;
    int64_t lost = 0;
  };
  std::map<std::string, Counts> counts();

 private:
  void schedule(const std::string& module);
  void flush(const std::string& module);

  boost::asio::io_context& io_;
  Outbox& outbox_;
  LogManager& logs_;
  std::function<void()> on_written_;
  std::mutex mutex_;
  std::map<std::string, std::vector<std::string>> open_;                      // module -> events, guarded by mutex_
  std::map<std::string, Counts> counts_;                                      // guarded by mutex_
  std::map<std::string, std::unique_ptr<boost::asio::steady_timer>> timers_;  // io thread only
  std::map<std::string, std::chrono::steady_clock::time_point> last_write_;   // io thread only
};

}  // namespace vigil
