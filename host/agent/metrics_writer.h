// Writes the metrics textfile (docs/metrics.md) every MetricsInterval while
// MetricsTextfile is set: the status report is taken on the agent's thread,
// rendered and written (temp file + rename) on the pool, so the agent's
// thread never waits for the disk.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/paths.h"
#include "log/log_manager.h"
#include "store/config_table.h"

namespace vigil {

class MetricsWriter {
 public:
  struct Sources {
    std::function<nlohmann::json()> status;                   // Agent::status_report
    std::function<std::map<std::string, int64_t>()> crashes;  // crashes charged, by module
  };
  MetricsWriter(boost::asio::io_context& io, boost::asio::thread_pool& pool, ConfigTable& config, Paths paths,
                LogManager& logs, Sources sources);

  void start();  // writes at once, then every MetricsInterval
  void stop();

 private:
  void tick();

  boost::asio::io_context& io_;
  boost::asio::thread_pool& pool_;
  ConfigTable& config_;
  Paths paths_;
  LogManager& logs_;
  Sources sources_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
  std::shared_ptr<std::string> last_error_ = std::make_shared<std::string>();  // logged once until it changes
  std::shared_ptr<std::mutex> writing_ = std::make_shared<std::mutex>();
};

}  // namespace vigil
