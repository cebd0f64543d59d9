#include "server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <optional>

#include "vigil/net/wire.h"

namespace vigil::platform {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto kHandshakeTimeout = 10s;
constexpr auto kIdleTimeout = 120s;
constexpr size_t kMaxHeaderBytes = 8 * 1024;
constexpr size_t kMaxWireBodyBytes = size_t{16} << 20;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, asio::ssl::context& tls, Service& service)
      : stream_(std::move(socket), tls), service_(service), hold_timer_(stream_.get_executor()) {}

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->handshake(); });
  }

 private:
  void handshake() {
    beast::get_lowest_layer(stream_).expires_after(kHandshakeTimeout);
    stream_.async_handshake(asio::ssl::stream_base::server, [self = shared_from_this()](error_code error) {
      if (error) {
        spdlog::debug("TLS handshake refused: {}", error.message());
        return;
      }
      self->read();
    });
  }

  void read() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(kMaxWireBodyBytes);
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](error_code error, size_t) { self->on_read(error); });
  }

  void on_read(error_code error) {
    if (error == http::error::end_of_stream || error == asio::ssl::error::stream_truncated) return close();
    if (error == http::error::body_limit || error == http::error::header_limit) {
      return respond({413, "request too large"}, false, false);
    }
    if (error) {
      if (error != beast::error::timeout && error != asio::error::operation_aborted) {
        spdlog::debug("request not read: {}", error.message());
        // A malformed request: say so if the stream still works, then close.
        if (error.category() == http::make_error_code(http::error::bad_target).category())
          return respond({400, error.message()}, false, false);
      }
      return close();
    }
    auto request = parser_->release();
    bool keep_alive = request.keep_alive();
    bool gzip_ok = request[http::field::accept_encoding].find("gzip") != beast::string_view::npos;
    if (request.method() != http::verb::post) {
      return respond({405, "only POST is served here"}, keep_alive, false);
    }
    std::string body = std::move(request.body());
    auto encoding = request[http::field::content_encoding];
    if (encoding == "gzip") {
      auto unpacked = wire::gunzip(body);
      if (!unpacked.ok()) return respond({400, unpacked.error()}, keep_alive, false);
      body = std::move(unpacked.value());
    } else if (!encoding.empty() && encoding != "identity") {
      return respond({415, "unsupported Content-Encoding " + std::string(encoding)}, keep_alive, false);
    }
    std::string target(request.target());
    if (target == "/v1/wait") return hold(body, keep_alive, gzip_ok);
    respond(service_.handle(target, body), keep_alive, gzip_ok);
  }

  // A wait the service cannot answer at once is held here, without a thread:
  // the service's wake (news for the agent) or the hold timer answers it.
  void hold(const std::string& body, bool keep_alive, bool gzip_ok) {
    Service::WaitStart wait = service_.begin_wait(body);
    if (wait.now) return respond(std::move(*wait.now), keep_alive, gzip_ok);
    std::weak_ptr<Session> weak = shared_from_this();
    auto hold = wait.hold;
    held_ = true;
    hold_timer_.expires_after(hold);
    hold_timer_.async_wait([self = shared_from_this(), keep_alive, gzip_ok](error_code error) {
      if (!error) self->end_hold(false, keep_alive, gzip_ok);
    });
    waiter_ = service_.add_waiter(std::move(wait), [weak, keep_alive, gzip_ok] {
      if (auto self = weak.lock()) {
        asio::post(self->stream_.get_executor(),
                   [self, keep_alive, gzip_ok] { self->end_hold(true, keep_alive, gzip_ok); });
      }
    });
  }

  void end_hold(bool news, bool keep_alive, bool gzip_ok) {
    if (!held_) return;  // the timer and the wake raced: the first one answered
    held_ = false;
    hold_timer_.cancel();
    service_.remove_waiter(waiter_);
    respond(Service::wait_reply(news), keep_alive, gzip_ok);
  }

  void respond(Reply reply, bool keep_alive, bool gzip_ok) {
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(reply.status));
    response_.set(http::field::server, "vigil-platform");
    response_.set(http::field::content_type,
                  reply.status == 200 ? std::string(wire::kContentType) : std::string("text/plain; charset=utf-8"));
    if (reply.status == 200 && gzip_ok && reply.body.size() > wire::kCompressAbove) {
      if (auto packed = wire::gzip(reply.body); packed.ok()) {
        reply.body = std::move(packed.value());
        response_.set(http::field::content_encoding, "gzip");
      }
    }
    response_.body() = std::move(reply.body);
    response_.keep_alive(keep_alive);
    response_.prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    http::async_write(stream_, response_, [self = shared_from_this(), keep_alive](error_code error, size_t) {
      if (error) return;
      if (!keep_alive) return self->close();
      self->read();
    });
  }

  void close() {
    beast::get_lowest_layer(stream_).expires_after(5s);
    stream_.async_shutdown([self = shared_from_this()](error_code) {});
  }

  asio::ssl::stream<beast::tcp_stream> stream_;
  Service& service_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  asio::steady_timer hold_timer_;
  bool held_ = false;
  uint64_t waiter_ = 0;
};

}  // namespace

Server::Server(asio::io_context& io, std::shared_ptr<asio::ssl::context> tls, Service& service)
    : io_(io), tls_(std::move(tls)), service_(service), acceptor_(asio::make_strand(io)), timer_(io) {}

Result<uint16_t> Server::listen(const std::string& address, uint16_t port) {
  error_code error;
  auto ip = asio::ip::make_address(address, error);
  if (error) return Error{"bad listen address '" + address + "': " + error.message()};
  tcp::endpoint endpoint(ip, port);
  acceptor_.open(endpoint.protocol(), error);
  if (!error) acceptor_.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor_.bind(endpoint, error);
  if (!error) acceptor_.listen(asio::socket_base::max_listen_connections, error);
  if (error) return Error{"cannot listen on " + address + ":" + std::to_string(port) + ": " + error.message()};
  accept();
  tick();
  return acceptor_.local_endpoint().port();
}

void Server::stop() {
  error_code ignored;
  acceptor_.close(ignored);
  timer_.cancel();
}

void Server::accept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](error_code error, tcp::socket socket) {
    if (error == asio::error::operation_aborted) return;
    if (!error) {
      socket.set_option(tcp::no_delay(true), error);
      std::make_shared<Session>(std::move(socket), *tls_, service_)->start();
    }
    accept();
  });
}

void Server::tick() {
  // Check-in facts reach the database in batches; admin changes are picked up.
  timer_.expires_after(500ms);
  timer_.async_wait([this](error_code error) {
    if (error) return;
    try {
      service_.flush();
      service_.refresh();
    } catch (const std::exception& failure) {
      spdlog::error("database maintenance failed: {}", failure.what());
    }
    tick();
  });
}

}  // namespace vigil::platform
