// Fuzzes PAC evaluation input: the URL and host FindProxyForURL receives and
// hands to every standard helper function (shExpMatch patterns, isInNet
// addresses and masks, the *Range arguments), and the list it returns.
// The input is "url\nhost\nargument". Names resolve from a fixed table, so
// the fuzzer never asks DNS.
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/pac.h"

namespace {

constexpr const char* kScript = R"JS(
function FindProxyForURL(url, host) {
  var a = __argument;
  var seen = [isPlainHostName(host), dnsDomainIs(host, a), localHostOrDomainIs(host, a), dnsDomainLevels(host),
              isResolvable(host), isInNet(host, a, url), isInNet(a, host, '255.255.0.0'), convert_addr(a),
              shExpMatch(url, a), shExpMatch(a, host), weekdayRange(a, host), weekdayRange(a),
              dateRange(a), dateRange(a, host), dateRange(a, host, url, a), timeRange(a), timeRange(a, host, 'GMT'),
              timeRange(a, a, host, host), dnsResolve(a), myIpAddress()];
  return 'PROXY ' + host + ':3128; ' + a + '; DIRECT';
}
)JS";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  size_t first = text.find('\n');
  size_t second = first == std::string::npos ? std::string::npos : text.find('\n', first + 1);
  std::string url = text.substr(0, first);
  std::string host = first == std::string::npos ? "" : text.substr(first + 1, second - first - 1);
  std::string argument = second == std::string::npos ? "" : text.substr(second + 1);
  // Passed as a JavaScript string without quoting games: through a global set by a second script.
  std::string escaped;
  for (unsigned char c : argument) {
    char buffer[8];
    std::snprintf(buffer, sizeof(buffer), "\\u%04x", c);
    escaped += buffer;
  }
  vigil::proxy::PacContext context;
  context.resolve = [](const std::string& name) -> std::optional<std::string> {
    if (name == "localhost") return "127.0.0.1";
    if (name.size() == 7 && name.rfind("corp.", 0) == 0) return "10.0.0.7";
    return std::nullopt;
  };
  std::string script = "var __argument = \"" + escaped + "\";\n" + kScript;
  auto result = vigil::proxy::find_proxy_for_url(script, url, host, context);
  if (result.ok()) (void)vigil::proxy::parse_pac_result(result.value());
  return 0;
}
