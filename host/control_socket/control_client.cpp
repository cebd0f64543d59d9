// Blocking control-socket client.
#include "control_socket/control_client.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

namespace vigil {

namespace asio = boost::asio;

bool instance_lock_held(const Paths& paths) {
  int fd = ::open(paths.instance_lock().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return held;
}

bool daemon_running(const std::filesystem::path& socket_path) {
  asio::io_context io;
  asio::local::stream_protocol::socket socket(io);
  boost::system::error_code error;
  socket.connect(asio::local::stream_protocol::endpoint(socket_path.string()), error);
  // A socket we may not open still means a daemon is there.
  return !error || error == asio::error::access_denied;
}

Result<nlohmann::json> call_daemon(const std::filesystem::path& socket_path, const nlohmann::json& request) {
  asio::io_context io;
  asio::local::stream_protocol::socket socket(io);
  boost::system::error_code error;
  socket.connect(asio::local::stream_protocol::endpoint(socket_path.string()), error);
  if (error == asio::error::access_denied) {
    return Error{"permission denied on the control socket " + socket_path.string() +
                 ": only root or the agent's user may control vigild"};
  }
  if (error) {
    return Error{"vigild is not running (no control socket at " + socket_path.string() + ": " + error.message() + ")"};
  }

  std::string line = request.dump() + "\n";
  boost::system::error_code write_error;
  asio::write(socket, asio::buffer(line), write_error);

  // Read even when the write failed: a daemon that refuses a peer answers and
  // closes before reading, so its reason may already be waiting for us.
  asio::streambuf buffer;
  asio::read_until(socket, buffer, '\n', error);
  if (error && write_error) return Error{"control socket write failed: " + write_error.message()};
  if (error) return Error{"control socket read failed: " + error.message()};
  std::istream stream(&buffer);
  std::string response_line;
  std::getline(stream, response_line);
  nlohmann::json response = nlohmann::json::parse(response_line, nullptr, false);
  if (response.is_discarded() || !response.is_object()) return Error{"malformed response from vigild"};
  return response;
}

Result<nlohmann::json> call_daemon(const std::filesystem::path& socket_path, const nlohmann::json& request,
                                   std::chrono::milliseconds timeout) {
  asio::io_context io;
  asio::local::stream_protocol::socket socket(io);
  std::string line = request.dump() + "\n";
  asio::streambuf buffer;
  std::optional<Result<nlohmann::json>> answer;
  socket.async_connect(socket_path.string(), [&](boost::system::error_code error) {
    if (error) {
      answer =
          Error{"vigild is not running (no control socket at " + socket_path.string() + ": " + error.message() + ")"};
      return;
    }
    asio::async_write(socket, asio::buffer(line), [&](boost::system::error_code, size_t) {
      // Read even when the write failed: a refusing daemon answers before it reads.
      asio::async_read_until(socket, buffer, '\n', [&](boost::system::error_code read_error, size_t) {
        if (read_error) {
          answer = Error{"control socket read failed: " + read_error.message()};
          return;
        }
        std::istream stream(&buffer);
        std::string response_line;
        std::getline(stream, response_line);
        nlohmann::json response = nlohmann::json::parse(response_line, nullptr, false);
        if (response.is_discarded() || !response.is_object()) {
          answer = Error{"malformed response from vigild"};
        } else {
          answer = std::move(response);
        }
      });
    });
  });
  io.run_for(timeout);
  if (!answer) {
    return Error{"vigild did not answer '" + request.value("command", std::string()) + "' within " +
                     std::to_string(timeout.count()) + " ms",
                 ErrorCode::kTimedOut};
  }
  return std::move(*answer);
}

}  // namespace vigil
