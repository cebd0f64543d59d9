// Control socket server: accept, check the peer, then a read-line -> handle ->
// write-line loop per connection.
#include "control_socket/control_server.h"

#include "control_socket/control_protocol.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

namespace vigil {
namespace {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;

class Session : public std::enable_shared_from_this<Session> {
 public:
  // The buffer holds the longest line and its newline, no more.
  Session(local::socket socket, const ControlServer::Handler& handler)
      : socket_(std::move(socket)), buffer_(kMaxControlRequestBytes + 1), handler_(handler) {}

  void start() {
    ucred peer{};
    socklen_t length = sizeof(peer);
    if (getsockopt(socket_.native_handle(), SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0 ||
        !ControlServer::peer_allowed(peer.uid, geteuid())) {
      send({{"ok", false}, {"error", "permission denied: only root or the agent's user may control vigild"}}, false);
      return;
    }
    read();
  }

 private:
  void read() {
    asio::async_read_until(
        socket_, buffer_, '\n',
        [self = shared_from_this()](boost::system::error_code error, size_t) { self->on_read(error); });
  }

  void on_read(boost::system::error_code error) {
    if (error == asio::error::not_found) {  // the buffer is full and holds no newline
      send({{"ok", false}, {"error", kControlRequestTooLong}}, false);
      return;
    }
    if (error) return;  // peer closed
    std::string line;
    std::istream stream(&buffer_);
    std::getline(stream, line);
    auto request = parse_control_request(line);
    if (!request.ok()) {
      send({{"ok", false}, {"error", request.error()}}, true);
      return;
    }
    // The reply may come from a worker thread; hop back to the socket's executor.
    handler_(request.value(), [self = shared_from_this()](nlohmann::json response) {
      asio::post(self->socket_.get_executor(),
                 [self, response = std::move(response)]() mutable { self->send(std::move(response), true); });
    });
  }

  void send(const nlohmann::json& response, bool keep_open) {
    auto text = std::make_shared<std::string>(response.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    text->push_back('\n');
    asio::async_write(socket_, asio::buffer(*text),
                      [self = shared_from_this(), text, keep_open](boost::system::error_code error, size_t) {
                        if (!error && keep_open) self->read();
                      });
  }

  local::socket socket_;
  asio::streambuf buffer_;
  ControlServer::Handler handler_;
};

}  // namespace

ControlServer::ControlServer(boost::asio::io_context& io, std::filesystem::path socket_path, Handler handler)
    : socket_path_(std::move(socket_path)), handler_(std::move(handler)), acceptor_(io) {}

ControlServer::~ControlServer() {
  stop();
}

Status ControlServer::start() {
  std::error_code ignored;
  std::filesystem::create_directories(socket_path_.parent_path(), ignored);
  std::filesystem::remove(socket_path_, ignored);  // the agent's instance lock guarantees it is stale
  boost::system::error_code error;
  acceptor_.open(local(), error);
  if (!error) acceptor_.bind(local::endpoint(socket_path_.string()), error);
  if (!error) {
    ::chmod(socket_path_.c_str(), 0660);
    acceptor_.listen(asio::socket_base::max_listen_connections, error);
  }
  if (error) return Error{"control socket " + socket_path_.string() + ": " + error.message()};
  accept();
  return Status::Ok();
}

void ControlServer::stop() {
  if (!acceptor_.is_open()) return;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  std::error_code ignored_fs;
  std::filesystem::remove(socket_path_, ignored_fs);
}

void ControlServer::accept() {
  acceptor_.async_accept([this](boost::system::error_code error, local::socket socket) {
    if (error == asio::error::operation_aborted) return;
    if (!error) std::make_shared<Session>(std::move(socket), handler_)->start();
    // A connection accepted just before stop() is served, but no accept is
    // started on the closed acceptor: it would fail at once, again and again,
    // and keep the worker from exiting.
    if (acceptor_.is_open()) accept();
  });
}

}  // namespace vigil
