// The platform's HTTPS/1.1 front: TLS 1.2+, keep-alive, POST only, bodies
// bounded before and after gzip, a deadline on every read and write. Each
// request goes to the Service; a bad request gets a 4xx with a text reason
// and the connection lives on (or closes, when the stream is unusable).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>

#include "service.h"
#include "vigil/result/result.h"

namespace vigil::platform {

class Server {
 public:
  Server(boost::asio::io_context& io, std::shared_ptr<boost::asio::ssl::context> tls, Service& service);
  // Binds `address`:`port` (port 0 picks one); returns the port bound.
  Result<uint16_t> listen(const std::string& address, uint16_t port);
  void stop();

 private:
  void accept();
  void tick();

  boost::asio::io_context& io_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  Service& service_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer timer_;
};

}  // namespace vigil::platform
