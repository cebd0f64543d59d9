// The byte stream under the platform's TLS: a TCP connection (to the platform
// or to an http:// proxy), or TLS to an https:// proxy over that connection.
// Deadlines are set on tcp(); they bound everything that passes through it.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <memory>
#include <utility>

namespace vigil::link {

class Transport {
 public:
  using lowest_layer_type = boost::asio::ip::tcp::socket;
  using executor_type = lowest_layer_type::executor_type;

  explicit Transport(boost::asio::io_context& io) : tcp_(std::make_unique<boost::beast::tcp_stream>(io)) {}

  boost::beast::tcp_stream& tcp() { return proxy_tls_ ? proxy_tls_->next_layer() : *tcp_; }
  lowest_layer_type& lowest_layer() { return tcp().socket(); }
  executor_type get_executor() { return tcp().socket().get_executor(); }

  // From now on bytes go through TLS with the proxy (the handshake is the caller's).
  boost::asio::ssl::stream<boost::beast::tcp_stream>& start_proxy_tls(boost::asio::ssl::context& tls) {
    proxy_tls_ = std::make_unique<boost::asio::ssl::stream<boost::beast::tcp_stream>>(std::move(*tcp_), tls);
    tcp_.reset();
    return *proxy_tls_;
  }

  template <class MutableBuffers, class Handler>
  void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    if (proxy_tls_) {
      proxy_tls_->async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      tcp_->async_read_some(buffers, std::forward<Handler>(handler));
    }
  }

  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    if (proxy_tls_) {
      proxy_tls_->async_write_some(buffers, std::forward<Handler>(handler));
    } else {
      tcp_->async_write_some(buffers, std::forward<Handler>(handler));
    }
  }

 private:
  std::unique_ptr<boost::beast::tcp_stream> tcp_;
  std::unique_ptr<boost::asio::ssl::stream<boost::beast::tcp_stream>> proxy_tls_;
};

}  // namespace vigil::link
