#include "https/http_get.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <sstream>

#include "base/file_safety.h"
#include "version.h"
#include "vigil/net/tls.h"
#include "vigil/net/wire.h"

namespace vigil::link {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

Result<std::string> read_file(const std::string& path, size_t max_bytes) {
  // A local PAC file decides where the agent's traffic goes.
  if (auto trusted = check_trusted(path, "the file"); !trusted.ok()) return Error{trusted.error()};
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read " + path};
  std::string text(max_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > max_bytes) return Error{path + " is larger than " + std::to_string(max_bytes) + " bytes"};
  return text;
}

template <class Stream>
Result<std::string> get(asio::io_context& io, Stream& stream, const std::string& host, const std::string& target,
                        const FetchOptions& options, std::string_view url) {
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, host);
  request.set(http::field::user_agent, std::string("vigild/") + kVigilVersion);
  request.keep_alive(false);
  error_code error;
  http::async_write(stream, request, [&](error_code e, size_t) { error = e; });
  io.run();
  io.restart();
  if (error) return Error{"sending the request for " + std::string(url) + " failed: " + error.message()};
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(options.max_bytes);
  http::async_read(stream, buffer, parser, [&](error_code e, size_t) { error = e; });
  io.run();
  io.restart();
  if (error == http::error::body_limit) {
    return Error{std::string(url) + " is larger than " + std::to_string(options.max_bytes) + " bytes"};
  }
  if (error && error != http::error::end_of_stream) {
    return Error{"reading " + std::string(url) +
                 " failed: " + (error == beast::error::timeout ? "timed out" : error.message())};
  }
  if (parser.get().result() != http::status::ok) {
    return Error{std::string(url) + " answered " + std::to_string(parser.get().result_int()) + " " +
                 std::string(parser.get().reason())};
  }
  return parser.release().body();
}

}  // namespace

Result<std::string> fetch_document(std::string_view url, const FetchOptions& options) {
  std::string text(url);
  std::string lowered = text;
  for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lowered.rfind("file://", 0) == 0) return read_file(text.substr(7), options.max_bytes);
  bool tls = lowered.rfind("https://", 0) == 0;
  if (!tls && lowered.rfind("http://", 0) != 0) return Error{"cannot fetch '" + text + "': not http, https or file"};
  std::string rest = text.substr(tls ? 8 : 7);
  size_t slash = rest.find('/');
  std::string target = slash == std::string::npos ? "/" : rest.substr(slash);
  auto address = wire::parse_host_port(rest.substr(0, slash), tls ? 443 : 80);
  if (!address.ok()) return Error{"cannot fetch '" + text + "': " + address.error()};
  if (tls && !options.tls) return Error{"cannot fetch '" + text + "': no TLS settings"};

  asio::io_context io;
  tcp::resolver resolver(io);
  error_code error;
  auto endpoints =
      resolver.resolve(options.connect_address.value_or(address->host), std::to_string(address->port), error);
  if (error) return Error{"cannot resolve " + address->host + ": " + error.message()};
  beast::tcp_stream tcp_stream(io);
  tcp_stream.expires_after(options.timeout);  // one deadline for connect, request and reply
  tcp_stream.async_connect(endpoints, [&](error_code e, const tcp::endpoint&) { error = e; });
  io.run();
  io.restart();
  if (error) {
    return Error{"cannot connect to " + address->to_string() + ": " +
                 (error == beast::error::timeout ? "timed out" : error.message())};
  }
  std::string host_header = address->port == (tls ? 443 : 80) ? address->host : address->to_string();
  if (!tls) return get(io, tcp_stream, host_header, target, options, url);

  asio::ssl::stream<beast::tcp_stream&> stream(tcp_stream, *options.tls);
  if (Status host = tls::expect_peer_host(stream.native_handle(), address->host); !host.ok())
    return Error{host.error()};
  stream.async_handshake(asio::ssl::stream_base::client, [&](error_code e) { error = e; });
  io.run();
  io.restart();
  if (error) return Error{"TLS handshake with " + address->to_string() + " failed: " + error.message()};
  return get(io, stream, host_header, target, options, url);
}

}  // namespace vigil::link
