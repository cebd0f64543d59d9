#include "link/https_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>

#include "link/tls.h"
#include "version.h"

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

HttpsClient::HttpsClient(wire::Url url, std::shared_ptr<asio::ssl::context> tls, LinkTimeouts timeouts)
    : url_(std::move(url)), tls_(std::move(tls)), timeouts_(timeouts) {}

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
  beast::get_lowest_layer(*stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.reset();
  buffer_.clear();
}

Status HttpsClient::connect() {
  disconnect();
  std::string where = url_.host + ":" + std::to_string(url_.port);
  tcp::resolver resolver(io_);
  asio::steady_timer deadline(io_);
  error_code error;
  tcp::resolver::results_type endpoints;
  resolver.async_resolve(url_.host, std::to_string(url_.port), [&](error_code e, tcp::resolver::results_type found) {
    error = e;
    endpoints = std::move(found);
    deadline.cancel();
  });
  deadline.expires_after(timeouts_.connect);
  deadline.async_wait([&](error_code e) {
    if (!e) resolver.cancel();
  });
  if (!run()) return Error{"cancelled"};
  if (error) return Error{"cannot resolve " + url_.host + ": " + describe(error)};

  auto stream = std::make_unique<Stream>(io_, *tls_);
  if (Status host = expect_peer_host(stream->native_handle(), url_.host); !host.ok()) return host;
  beast::tcp_stream& tcp_layer = beast::get_lowest_layer(*stream);
  tcp_layer.expires_after(timeouts_.connect);
  tcp_layer.async_connect(endpoints, [&](error_code e, const tcp::endpoint&) { error = e; });
  if (!run()) return Error{"cancelled"};
  if (error) return Error{"cannot connect to " + where + ": " + describe(error)};
  tcp_layer.socket().set_option(tcp::no_delay(true), error);

  tcp_layer.expires_after(timeouts_.handshake);
  stream->async_handshake(asio::ssl::stream_base::client, [&](error_code e) { error = e; });
  if (!run()) return Error{"cancelled"};
  if (error) return Error{"TLS handshake with " + where + " failed: " + describe(error)};
  stream_ = std::move(stream);
  ++connections_made_;
  return Status::Ok();
}

Result<std::string> HttpsClient::post(std::string_view path, std::string_view body) {
  if (cancelled_) return Error{"cancelled"};
  bool reused = stream_ != nullptr;
  if (!reused) {
    if (Status connected = connect(); !connected.ok()) return Error{connected.error()};
  }
  auto reply = exchange(path, body);
  if (!reply.ok() && reused && http_status_ == 0 && !cancelled_) {
    // The platform may have closed an idle kept-alive connection: one fresh try.
    if (Status connected = connect(); !connected.ok()) return Error{connected.error()};
    reply = exchange(path, body);
  }
  if (!reply.ok() && http_status_ == 0) disconnect();
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
  beast::tcp_stream& tcp_layer = beast::get_lowest_layer(*stream_);
  tcp_layer.expires_after(timeouts_.exchange);
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
                 (reply.empty() ? std::string(response.reason()) : reply.substr(0, 300))};
  }
  return reply;
}

}  // namespace vigil::link
