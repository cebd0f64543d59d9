// Takes real-time events from any thread and writes them to the outbox in
// batches, per module: a batch closes after kMaxDelay or kMaxEvents, becomes
// one outbox entry with its own sequence number, and is delivered like a delta.
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
#include "store/state_store.h"

namespace vigil {

class EventBatcher : public EventSink {
 public:
  static constexpr std::chrono::milliseconds kMaxDelay{1000};
  static constexpr size_t kMaxEvents = 500;

  // `on_written` runs on the io_context after a batch entered the outbox.
  EventBatcher(boost::asio::io_context& io, StateStore& store, LogManager& logs, std::function<void()> on_written);

  void add(const std::string& module, std::string event) override;
  // Writes every open batch now (shutdown).
  void flush_all();

 private:
  void flush(const std::string& module);

  boost::asio::io_context& io_;
  StateStore& store_;
  LogManager& logs_;
  std::function<void()> on_written_;
  std::mutex mutex_;
  std::map<std::string, std::vector<std::string>> open_;                      // module -> events, guarded by mutex_
  std::map<std::string, std::unique_ptr<boost::asio::steady_timer>> timers_;  // io thread only
};

}  // namespace vigil
