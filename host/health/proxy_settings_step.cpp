// Step 5, proxy settings: what `vigilctl proxy` set, the proxy file and the
// environment, validated as the agent validates them; never credentials.
#include <fmt/format.h>

#include <cstdlib>

#include "health/steps.h"
#include "proxy/proxy_settings.h"

namespace vigil::health {

Step check_proxy_settings(const Context& context) {
  Step step{.name = "proxy", .title = "Proxy settings"};
  auto settings = proxy::ProxySettings::read([&context](const char* key) { return context.config(key); });
  if (!settings.ok()) {
    step.add(Severity::kCritical, "proxy-settings-invalid", "the proxy settings are invalid: " + settings.error(),
             "set them again: vigilctl proxy --url … (or vigilctl proxy --delete), see docs/proxy.md");
    return step;
  }
  const proxy::ProxySettings& proxy = settings.value();
  nlohmann::json urls = nlohmann::json::array();
  for (const proxy::ProxyUrl& url : proxy.urls) {
    urls.push_back({{"url", url.display()}, {"authenticated", url.user.has_value() || proxy.user.has_value()}});
  }
  step.details = {{"urls", urls},
                  {"pac", proxy::mask_credentials(proxy.pac)},
                  {"wpad", proxy.wpad},
                  {"system", proxy.system},
                  {"direct_fallback", proxy.direct_fallback},
                  {"order", proxy.random_order ? "random" : "sequential"},
                  {"connect_timeout_seconds", proxy.connect_timeout_seconds},
                  {"credentials_set", proxy.user.has_value() || proxy.password.has_value()}};
  if (urls.empty()) {
    step.lines.push_back("proxy URLs: none");
  } else {
    for (const auto& url : urls) {
      step.lines.push_back("proxy: " + url["url"].get<std::string>() +
                           (url["authenticated"].get<bool>() ? " (with credentials)" : ""));
    }
  }
  if (!proxy.pac.empty()) step.lines.push_back("PAC: " + proxy::mask_credentials(proxy.pac));
  step.lines.push_back(fmt::format("WPAD {}, system proxy {}, direct fallback {}, order {}, connect timeout {} s",
                                   proxy.wpad ? "on" : "off", proxy.system ? "on" : "off",
                                   proxy.direct_fallback ? "on" : "off", proxy.random_order ? "random" : "sequential",
                                   proxy.connect_timeout_seconds));
  auto file = proxy::read_proxy_file(context.paths.config_dir / "proxy");
  if (!file.ok()) {
    step.add(Severity::kCritical, "proxy-file-invalid", file.error(),
             "fix the line it names in " + (context.paths.config_dir / "proxy").string());
  } else if (!file.value().https_proxy.empty() || !file.value().vigil_https_proxy.empty()) {
    std::string chosen =
        !file.value().vigil_https_proxy.empty() ? file.value().vigil_https_proxy : file.value().https_proxy;
    step.details["proxy_file"] = {{"proxy", proxy::mask_credentials(chosen)}, {"no_proxy", file.value().no_proxy}};
    step.lines.push_back("proxy file: " + proxy::mask_credentials(chosen));
  }
  // The environment counts only where the agent reads it; vigild's own is not ours to see.
  if (proxy.system) {
    for (const char* name : {"https_proxy", "HTTPS_PROXY"}) {
      if (const char* value = std::getenv(name); value != nullptr && *value != '\0') {
        step.lines.push_back(std::string("environment (of vigilctl, vigild's may differ): ") + name + "=" +
                             proxy::mask_credentials(value));
        break;
      }
    }
  }
  if (!proxy.direct_fallback && urls.empty() && proxy.pac.empty() && !proxy.wpad) {
    step.add(Severity::kInfo, "fail-closed-without-proxy", "direct fallback is off but no proxy is configured",
             "this changes nothing unless the proxy file or the environment names a proxy");
  }
  for (const std::string& problem : context.probes.plan_problems) {
    step.add(Severity::kWarning, "proxy-configuration-problem", problem,
             "fix the PAC or WPAD setup it names, or set proxies explicitly: vigilctl proxy --url …");
  }
  return step;
}

}  // namespace vigil::health
