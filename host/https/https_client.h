// A blocking HTTPS/1.1 client for the platform link: one kept-alive TLS
// connection, a deadline on every step (resolve, connect, handshake, write,
// read), gzip both ways above a size, and clear errors naming the step that
// failed. Each new connection asks the route planner how to reach the
// platform (direct, or through HTTP CONNECT proxies in order) and tries the
// routes until one works. Not thread-safe: each user (check-in loop,
// uploader) owns one.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "https/route.h"
#include "https/transport.h"
#include "vigil/net/wire.h"
#include "vigil/result/result.h"

namespace vigil::link {

// Asked before every new connection; an error fails the connection (fail closed).
using RoutePlanner = std::function<Result<RoutePlan>(const wire::Url& target)>;
// Told about every connection attempt: an empty `failure` means it worked.
using AttemptObserver = std::function<void(const Route& route, const std::string& failure)>;

struct LinkTimeouts {
  std::chrono::milliseconds connect{5000};  // direct connections without a planner; a plan carries its own
  std::chrono::milliseconds handshake{10000};
  std::chrono::milliseconds exchange{60000};  // one request written and its reply read
};

// 400, 413, 422: kInvalidArgument (refused for good); 401: kUnauthenticated;
// 403: kPermissionDenied; 404: kNotFound; 408, 429, 5xx: kUnavailable.
ErrorCode code_of_http_status(int status);

class HttpsClient {
 public:
  HttpsClient(wire::Url url, std::shared_ptr<boost::asio::ssl::context> tls, LinkTimeouts timeouts = {},
              RoutePlanner planner = {}, AttemptObserver observer = {});
  ~HttpsClient();
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  // POSTs `body` to <prefix><path> and returns the reply body of a 200. Any
  // other status is an error carrying the platform's message and the status's
  // code (code_of_http_status); no reply at all is kUnavailable. A kept-alive connection the peer closed is retried
  // once on a new connection (every endpoint is idempotent).
  Result<std::string> post(std::string_view path, std::string_view body);
  void disconnect();
  // From any thread: stops what is in flight and fails every later call.
  void cancel();

  int http_status() const { return http_status_; }
  size_t connections_made() const { return connections_made_; }
  // Body bytes of the last exchange as they went over the wire (after gzip).
  size_t last_request_bytes() const { return last_request_bytes_; }
  size_t last_reply_bytes() const { return last_reply_bytes_; }
  const wire::Url& url() const { return url_; }
  // How the current (or last) connection reached the platform.
  const std::string& route() const { return route_; }

 private:
  using Stream = boost::asio::ssl::stream<Transport>;
  Status connect();
  Status connect_via(const Route& route, std::chrono::milliseconds connect_timeout);
  // `left`: the time the attempt has left (its ConnectTimeout deadline).
  Status open_tunnel(Transport& transport, const ProxyHop& proxy,
                     const std::function<std::chrono::milliseconds()>& left);
  Result<std::string> exchange(std::string_view path, std::string_view body);
  // Runs the io_context for the operation just started; false when cancelled.
  bool run();

  wire::Url url_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  LinkTimeouts timeouts_;
  RoutePlanner planner_;
  AttemptObserver observer_;
  std::string route_;
  boost::asio::io_context io_;
  std::unique_ptr<Stream> stream_;
  boost::beast::flat_buffer buffer_;
  int http_status_ = 0;
  size_t connections_made_ = 0;
  size_t last_request_bytes_ = 0;
  size_t last_reply_bytes_ = 0;
  std::atomic<bool> cancelled_{false};
};

}  // namespace vigil::link
