// Blocking control-socket client.
#include "control/control_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

namespace vigil {

namespace asio = boost::asio;

bool daemon_running(const std::filesystem::path& socket_path) {
  asio::io_context io;
  asio::local::stream_protocol::socket socket(io);
  boost::system::error_code error;
  socket.connect(asio::local::stream_protocol::endpoint(socket_path.string()), error);
  return !error;
}

Result<nlohmann::json> call_daemon(const std::filesystem::path& socket_path, const nlohmann::json& request) {
  asio::io_context io;
  asio::local::stream_protocol::socket socket(io);
  boost::system::error_code error;
  socket.connect(asio::local::stream_protocol::endpoint(socket_path.string()), error);
  if (error)
    return Error{"vigild is not running (no control socket at " + socket_path.string() + ": " + error.message() + ")"};

  std::string line = request.dump() + "\n";
  asio::write(socket, asio::buffer(line), error);
  if (error) return Error{"control socket write failed: " + error.message()};

  asio::streambuf buffer;
  asio::read_until(socket, buffer, '\n', error);
  if (error) return Error{"control socket read failed: " + error.message()};
  std::istream stream(&buffer);
  std::string response_line;
  std::getline(stream, response_line);
  nlohmann::json response = nlohmann::json::parse(response_line, nullptr, false);
  if (response.is_discarded() || !response.is_object()) return Error{"malformed response from vigild"};
  return response;
}

}  // namespace vigil
