#include "https/https_client.h"

#include <algorithm>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>

#include "version.h"
#include "vigil/net/tls.h"

namespace vigil::link {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

std::string describe(const error_code& error) {
  if (error == beast::error::timeout) return "timed out";
  return error.message();
}

}  // namespace

HttpsClient::HttpsClient(wire::Url url, std::shared_ptr<asio::ssl::context> tls, LinkTimeouts timeouts,
                         RoutePlanner planner, AttemptObserver observer)
    : url_(std::move(url)),
      tls_(std::move(tls)),
      timeouts_(timeouts),
      planner_(std::move(planner)),
      observer_(std::move(observer)) {}

HttpsClient::~HttpsClient() = default;

void HttpsClient::cancel() {
  cancelled_ = true;
  io_.stop();
}

bool HttpsClient::run() {
  io_.restart();
  if (cancelled_) return false;
  io_.run();
  return !cancelled_;
}

void HttpsClient::disconnect() {
  if (!stream_) return;
  error_code ignored;
  stream_->next_layer().tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.reset();
  buffer_.clear();
}

Status HttpsClient::connect() {
  disconnect();
  RoutePlan plan = RoutePlan::direct();
  plan.connect_timeout_ms = static_cast<int>(timeouts_.connect.count());
  if (planner_) {
    auto planned = planner_(url_);
    if (!planned.ok()) return Error{"no route to the platform: " + planned.error()};
    plan = std::move(planned.value());
  }
  std::chrono::milliseconds connect_timeout(plan.connect_timeout_ms);
  std::vector<std::string> failures = plan.problems;
  bool tried_direct = false;
  auto attempt = [&](const Route& route) {
    tried_direct = tried_direct || !route.proxy;
    Status connected = connect_via(route, connect_timeout);
    if (observer_ && !cancelled_) observer_(route, connected.ok() ? std::string() : connected.error());
    if (connected.ok()) {
      route_ = route.display();
      return true;
    }
    failures.push_back(route.proxy ? route.display() + ": " + connected.error() : connected.error());
    return false;
  };
  for (const Route& route : plan.routes) {
    if (attempt(route)) return Status::Ok();
    if (cancelled_) return Error{"cancelled"};
  }
  if (!tried_direct && plan.direct_fallback) {
    if (attempt(Route{std::nullopt, "direct fallback"})) return Status::Ok();
    if (cancelled_) return Error{"cancelled"};
  }
  if (!tried_direct && !plan.direct_fallback) {
    failures.emplace_back("no direct connection tried: direct fallback is off (fail closed)");
  }
  if (failures.size() == 1) return Error{failures.front()};
  std::string joined;
  for (const auto& failure : failures) joined += (joined.empty() ? "" : "; ") + failure;
  return Error{"every route to " + url_.host + ":" + std::to_string(url_.port) + " failed: " + joined};
}

Status HttpsClient::connect_via(const Route& route, std::chrono::milliseconds connect_timeout) {
  // One deadline for the whole attempt (resolve, connect, the proxy's TLS
  // and CONNECT): a proxy that accepts and never answers costs ConnectTimeout.
  auto until = std::chrono::steady_clock::now() + connect_timeout;
  auto left = [until] {
    return std::max(std::chrono::milliseconds(1),
                    std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()));
  };
  const std::string& first_host = route.proxy ? route.proxy->host : url_.host;
  uint16_t first_port = route.proxy ? route.proxy->port : url_.port;
  std::string where = wire::HostPort{first_host, first_port}.to_string();
  tcp::resolver resolver(io_);
  asio::steady_timer deadline(io_);
  error_code error;
  tcp::resolver::results_type endpoints;
  resolver.async_resolve(first_host, std::to_string(first_port), [&](error_code e, tcp::resolver::results_type found) {
    error = e;
    endpoints = std::move(found);
    deadline.cancel();
  });
  deadline.expires_after(left());
  deadline.async_wait([&](error_code e) {
    if (!e) resolver.cancel();
  });
  if (!run()) return Error{"cancelled"};
  if (error) return Error{"cannot resolve " + first_host + ": " + describe(error)};

  Transport transport(io_);
  transport.tcp().expires_after(left());
  transport.tcp().async_connect(endpoints, [&](error_code e, const tcp::endpoint&) { error = e; });
  if (!run()) return Error{"cancelled"};
  if (error) return Error{"cannot connect to " + where + ": " + describe(error)};
  transport.tcp().socket().set_option(tcp::no_delay(true), error);
  if (route.proxy) {
    if (Status tunnel = open_tunnel(transport, *route.proxy, left); !tunnel.ok()) return tunnel;
  }

  std::string platform = wire::HostPort{url_.host, url_.port}.to_string();
  auto stream = std::make_unique<Stream>(std::move(transport), *tls_);
  if (Status host = tls::expect_peer_host(stream->native_handle(), url_.host); !host.ok()) return host;
  stream->next_layer().tcp().expires_after(timeouts_.handshake);
  stream->async_handshake(asio::ssl::stream_base::client, [&](error_code e) { error = e; });
  if (!run()) return Error{"cancelled"};
  if (error) return Error{"TLS handshake with " + platform + " failed: " + describe(error)};
  stream_ = std::move(stream);
  ++connections_made_;
  return Status::Ok();
}

Status HttpsClient::open_tunnel(Transport& transport, const ProxyHop& proxy,
                                const std::function<std::chrono::milliseconds()>& left) {
  error_code error;
  if (proxy.tls) {
    auto& proxy_tls = transport.start_proxy_tls(*tls_);
    if (Status host = tls::expect_peer_host(proxy_tls.native_handle(), proxy.host); !host.ok()) return host;
    transport.tcp().expires_after(left());
    proxy_tls.async_handshake(asio::ssl::stream_base::client, [&](error_code e) { error = e; });
    if (!run()) return Error{"cancelled"};
    if (error) return Error{"TLS handshake with the proxy failed: " + describe(error)};
  }
  std::string target = wire::HostPort{url_.host, url_.port}.to_string();
  http::request<http::empty_body> request{http::verb::connect, target, 11};
  request.set(http::field::host, target);
  request.set(http::field::user_agent, std::string("vigild/") + kVigilVersion);
  if (!proxy.user.empty()) {
    request.set(http::field::proxy_authorization, "Basic " + wire::base64(proxy.user + ":" + proxy.password));
  }
  transport.tcp().expires_after(left());
  http::async_write(transport, request, [&](error_code e, size_t) { error = e; });
  if (!run()) return Error{"cancelled"};
  if (error) return Error{"sending CONNECT failed: " + describe(error)};

  beast::flat_buffer buffer;
  http::response_parser<http::empty_body> parser;
  parser.skip(true);  // a reply to CONNECT has no body: the tunnel starts after the header
  http::async_read_header(transport, buffer, parser, [&](error_code e, size_t) { error = e; });
  if (!run()) return Error{"cancelled"};
  if (error) return Error{"no reply to CONNECT: " + describe(error)};
  int status = static_cast<int>(parser.get().result_int());
  if (status == 407 || status == 401) {  // 407 is the standard; some proxies answer 401 to wrong credentials
    std::string code = "(" + std::to_string(status) + ")";
    return Error{proxy.user.empty() ? "the proxy requires authentication " + code + " and no proxy credentials are set"
                                    : "the proxy refused the configured credentials " + code};
  }
  if (status < 200 || status > 299) {
    return Error{"the proxy refused CONNECT " + target + " with " + std::to_string(status) + " " +
                 std::string(parser.get().reason())};
  }
  if (buffer.size() != 0) return Error{"the proxy sent data before the tunnel was used"};
  return Status::Ok();
}

ErrorCode code_of_http_status(int status) {
  switch (status) {
    case 400:
    case 413:
    case 422: return ErrorCode::kInvalidArgument;
    case 401: return ErrorCode::kUnauthenticated;
    case 403: return ErrorCode::kPermissionDenied;
    case 404: return ErrorCode::kNotFound;
    default: return status >= 500 || status == 408 || status == 429 ? ErrorCode::kUnavailable : ErrorCode::kFailed;
  }
}

Result<std::string> HttpsClient::post(std::string_view path, std::string_view body) {
  http_status_ = 0;
  if (cancelled_) return Error{"cancelled"};
  bool reused = stream_ != nullptr;
  if (!reused) {
    if (Status connected = connect(); !connected.ok()) return Error{connected.error(), ErrorCode::kUnavailable};
  }
  auto reply = exchange(path, body);
  if (!reply.ok() && reused && http_status_ == 0 && !cancelled_) {
    // The platform may have closed an idle kept-alive connection: one fresh try.
    if (Status connected = connect(); !connected.ok()) return Error{connected.error(), ErrorCode::kUnavailable};
    reply = exchange(path, body);
  }
  if (!reply.ok() && http_status_ == 0) {
    disconnect();
    if (!cancelled_) return Error{reply.error(), ErrorCode::kUnavailable};
  }
  return reply;
}

Result<std::string> HttpsClient::exchange(std::string_view path, std::string_view body) {
  http_status_ = 0;
  http::request<http::string_body> request{http::verb::post, url_.prefix + std::string(path), 11};
  request.set(http::field::host, url_.host);
  request.set(http::field::user_agent, std::string("vigild/") + kVigilVersion);
  request.set(http::field::content_type, std::string(wire::kContentType));
  request.set(http::field::accept_encoding, "gzip");
  request.keep_alive(true);
  if (body.size() > wire::kCompressAbove) {
    auto packed = wire::gzip(body);
    if (!packed.ok()) return Error{packed.error()};
    request.set(http::field::content_encoding, "gzip");
    request.body() = std::move(packed.value());
  } else {
    request.body() = std::string(body);
  }
  request.prepare_payload();
  last_request_bytes_ = request.body().size();

  error_code error;
  stream_->next_layer().tcp().expires_after(timeouts_.exchange);
  http::async_write(*stream_, request, [&](error_code e, size_t) { error = e; });
  if (!run()) return Error{"cancelled"};
  if (error) return Error{"sending " + std::string(path) + " failed: " + describe(error)};

  http::response_parser<http::string_body> parser;
  parser.body_limit(wire::kMaxBodyBytes);
  http::async_read(*stream_, buffer_, parser, [&](error_code e, size_t) { error = e; });
  if (!run()) return Error{"cancelled"};
  if (error) return Error{"reading the reply to " + std::string(path) + " failed: " + describe(error)};
  auto response = parser.release();
  last_reply_bytes_ = response.body().size();
  if (!response.keep_alive()) disconnect();

  std::string reply = std::move(response.body());
  if (response[http::field::content_encoding] == "gzip") {
    auto unpacked = wire::gunzip(reply);
    if (!unpacked.ok()) return Error{"reply to " + std::string(path) + ": " + unpacked.error()};
    reply = std::move(unpacked.value());
  }
  http_status_ = static_cast<int>(response.result_int());
  if (response.result() != http::status::ok) {
    return Error{"platform answered " + std::to_string(http_status_) + " to " + std::string(path) + ": " +
                     (reply.empty() ? std::string(response.reason()) : reply.substr(0, 300)),
                 code_of_http_status(http_status_)};
  }
  return reply;
}

}  // namespace vigil::link
