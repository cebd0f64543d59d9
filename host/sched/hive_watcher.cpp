// inotify on the database directory: the main file and its WAL.
#include "sched/hive_watcher.h"
#include "base/error_text.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace vigil {

HiveWatcher::HiveWatcher(boost::asio::io_context& io, std::filesystem::path database, std::function<void()> on_change)
    : database_(std::move(database)), on_change_(std::move(on_change)), descriptor_(io), recheck_timer_(io) {}

HiveWatcher::~HiveWatcher() {
  stop();
}

Status HiveWatcher::start() {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return Error{std::string("inotify_init1: ") + error_text(errno)};
  // Watch the directory: SQLite creates and removes the -wal file as it goes.
  if (::inotify_add_watch(fd, database_.parent_path().c_str(), IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) <
      0) {
    int error = errno;
    ::close(fd);
    return Error{"inotify watch on " + database_.parent_path().string() + ": " + error_text(error)};
  }
  descriptor_.assign(fd);
  read();
  return Status::Ok();
}

void HiveWatcher::stop() {
  recheck_timer_.cancel();
  boost::system::error_code ignored;
  if (descriptor_.is_open()) descriptor_.close(ignored);
}

void HiveWatcher::read() {
  descriptor_.async_read_some(boost::asio::buffer(buffer_), [this](boost::system::error_code error, size_t length) {
    if (error) return;  // closed
    std::string main_name = database_.filename().string();
    bool relevant = false;
    for (size_t offset = 0; offset + sizeof(inotify_event) <= length;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer_.data() + offset);
      std::string_view name = event->len > 0 ? std::string_view(event->name) : std::string_view();
      if (name == main_name || name == main_name + "-wal") relevant = true;
      offset += sizeof(inotify_event) + event->len;
    }
    if (relevant) {
      on_change_();
      recheck(0);
    }
    read();
  });
}

// A writer's WAL frames land (and wake us) a moment before it publishes the
// commit in the shared-memory index, which inotify cannot see; and a writer
// that keeps its connection open sends no later event. So look again a few
// times shortly after each burst of writes: bounded, never a standing poll.
void HiveWatcher::recheck(size_t step) {
  static constexpr std::array kDelays = {std::chrono::milliseconds(2), std::chrono::milliseconds(10),
                                         std::chrono::milliseconds(50)};
  if (step >= kDelays.size()) return;
  recheck_timer_.expires_after(kDelays[step]);
  recheck_timer_.async_wait([this, step](boost::system::error_code error) {
    if (error) return;  // superseded by a newer burst, or stopped
    on_change_();
    recheck(step + 1);
  });
}

}  // namespace vigil
