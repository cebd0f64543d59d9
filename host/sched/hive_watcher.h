// Watches the state store's files with inotify so writes from any process
// (vigilctl, scripts, configuration tools writing the database) are noticed
// at once, with no polling. Runs on the agent's io_context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <filesystem>
#include <functional>

#include "vigil/result/result.h"

namespace vigil {

class HiveWatcher {
 public:
  // `on_change` runs on the io_context after any write to the database files.
  HiveWatcher(boost::asio::io_context& io, std::filesystem::path database, std::function<void()> on_change);
  ~HiveWatcher();
  HiveWatcher(const HiveWatcher&) = delete;
  HiveWatcher& operator=(const HiveWatcher&) = delete;

  Status start();
  void stop();

 private:
  void read();
  void recheck(size_t step);

  std::filesystem::path database_;
  std::function<void()> on_change_;
  boost::asio::posix::stream_descriptor descriptor_;
  boost::asio::steady_timer recheck_timer_;
  alignas(8) std::array<char, 4096> buffer_{};
};

}  // namespace vigil
