// Fuzzes what operators and PAC scripts hand the proxy code as text: proxy
// URL lists (vigilctl proxy --url, ProxyUrls, the proxy file), no_proxy
// lists, and FindProxyForURL results. Parsing must never crash, and what
// parses must survive a round trip through its written form.
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/pac.h"
#include "proxy/proxy_url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto list = vigil::proxy::parse_proxy_list(text);
  if (list.ok()) {
    auto again = vigil::proxy::parse_proxy_list(vigil::proxy::format_proxy_list(list.value()));
    if (!again.ok() || again->size() != list->size()) __builtin_trap();
    for (size_t i = 0; i < list->size(); ++i) {
      const auto& a = list->at(i);
      const auto& b = again->at(i);
      if (a.display() != b.display() || a.to_string() != b.to_string()) __builtin_trap();
      if (a.user.has_value() != b.user.has_value() || (a.user && a.user->text != b.user->text)) __builtin_trap();
      if (a.password.has_value() != b.password.has_value() || (a.password && a.password->text != b.password->text))
        __builtin_trap();
    }
  }
  auto decoded = vigil::proxy::percent_decode(vigil::proxy::percent_encode(text));
  if (!decoded.ok() || decoded.value() != text) __builtin_trap();
  (void)vigil::proxy::mask_credentials(text);

  auto rules = vigil::proxy::NoProxy::parse(text);
  for (const char* host : {"localhost", "127.0.0.1", "::1", "platform.corp.example", "10.1.2.3"}) {
    (void)rules.matches(host, 443);
  }
  auto pac = vigil::proxy::parse_pac_result(text);
  if (pac.ok() && pac->empty()) __builtin_trap();  // an empty result means DIRECT, never nothing
  return 0;
}
