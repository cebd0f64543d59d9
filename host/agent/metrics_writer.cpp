#include "agent/metrics_writer.h"

#include <boost/asio/post.hpp>
#include <ctime>

#include "metrics/exposition.h"
#include "settings/reader.h"

namespace vigil {

MetricsWriter::MetricsWriter(boost::asio::io_context& io, boost::asio::thread_pool& pool, ConfigTable& config,
                             Paths paths, LogManager& logs, Sources sources)
    : io_(io),
      pool_(pool),
      config_(config),
      paths_(std::move(paths)),
      logs_(logs),
      sources_(std::move(sources)),
      timer_(io) {}

void MetricsWriter::start() {
  tick();
}

void MetricsWriter::stop() {
  stopped_ = true;
  timer_.cancel();
}

void MetricsWriter::tick() {
  if (stopped_) return;
  // Read at every tick: vigilctl config set MetricsTextfile=… applies at the next one.
  settings::Reader reader(config_, [this](const std::string& warning) { logs_.warn_once(warning); });
  auto configured = reader.text("MetricsTextfile");
  if (configured && !configured->empty()) {
    // Relocated under the root like every path of the agent.
    std::filesystem::path file = paths_.root / std::filesystem::path(*configured).relative_path();
    auto status = sources_.status();
    auto crashes = sources_.crashes();
    boost::asio::post(pool_, [file, status = std::move(status), crashes = std::move(crashes), logs = &logs_,
                              last_error = last_error_, writing = writing_] {
      std::lock_guard lock(*writing);  // a slow disk: ticks do not overtake each other
      std::string text = metrics::render(status, crashes, metrics::sample_self(), std::time(nullptr));
      std::error_code ignored;  // a missing directory is made; one that cannot be is the write's error
      std::filesystem::create_directories(file.parent_path(), ignored);
      Status written = metrics::write_textfile(file, text);
      std::string error = written.ok() ? std::string() : written.error();
      if (error != *last_error) {
        if (error.empty()) {
          logs->daemon()->info("metrics: writing {}", file.string());
        } else {
          logs->daemon()->warn("metrics: {}", error);
        }
        *last_error = error;
      }
    });
  }
  timer_.expires_after(std::chrono::seconds(reader.integer("MetricsInterval")));
  timer_.async_wait([this](boost::system::error_code error) {
    if (!error) tick();
  });
}

}  // namespace vigil
