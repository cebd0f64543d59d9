#include "proxy/proxy_settings.h"

#include "base/file_safety.h"
#include "settings/reader.h"
#include "vigil/text/text.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>

namespace vigil::proxy {
namespace {

Result<std::optional<Credential>> read_token(const ConfigLookup& config, const char* key) {
  auto value = config(key);
  if (!value || value->empty()) return std::optional<Credential>();
  if (value->front() != '#') return Error{std::string(key) + " must hold an encrypted #TOKEN"};
  return std::optional<Credential>(Credential{value->substr(1), true});
}

}  // namespace

const std::vector<const char*>& all_keys() {
  static const std::vector<const char*> names = {
      keys::kUrls,   keys::kUser,           keys::kPassword, keys::kPac,           keys::kWpad,
      keys::kSystem, keys::kDirectFallback, keys::kOrder,    keys::kConnectTimeout};
  return names;
}

Result<bool> parse_switch(const std::string& key, const std::string& value) {
  auto parsed = settings::boolean_value(trim(value));
  if (parsed.ok()) return parsed.value();
  return Error{key + " must be on or off, got '" + value + "'"};
}

Result<bool> parse_order(const std::string& value) {
  std::string word = to_lower(trim(value));
  if (word == "sequential" || word == "seq") return false;
  if (word == "random") return true;
  return Error{std::string(keys::kOrder) + " must be sequential, seq or random, got '" + value + "'"};
}

Result<int> parse_connect_timeout(const std::string& value) {
  const settings::Setting& timeout = settings::setting(keys::kConnectTimeout);  // its range
  auto seconds = settings::integer_value(timeout, value);
  if (!seconds.ok()) {
    return Error{std::string(keys::kConnectTimeout) + " must be " + std::to_string(timeout.min) + "-" +
                 std::to_string(timeout.max) + " seconds, got '" + value + "'"};
  }
  return static_cast<int>(seconds.value());
}

Status check_pac_url(const std::string& url) {
  std::string scheme = to_lower(url.substr(0, url.find("://") == std::string::npos ? 0 : url.find("://") + 3));
  if (scheme == "file://") {
    if (url.size() <= 7 || url[7] != '/')
      return Error{"PAC URL '" + url + "': a file URL needs an absolute path (file:///…)"};
    return Status::Ok();
  }
  if (scheme != "http://" && scheme != "https://") {
    return Error{"PAC URL '" + url + "' must start with http://, https:// or file:///"};
  }
  std::string rest = url.substr(scheme.size());
  std::string authority = rest.substr(0, rest.find('/'));
  if (authority.find('@') != std::string::npos) return Error{"PAC URL must not carry credentials"};
  if (auto address = wire::parse_host_port(authority, 80); !address.ok()) {
    return Error{"PAC URL '" + url + "': " + address.error()};
  }
  if (url.find_first_of(" \t\r\n") != std::string::npos) return Error{"PAC URL '" + url + "' contains spaces"};
  return Status::Ok();
}

Result<ProxySettings> ProxySettings::read(const ConfigLookup& config) {
  ProxySettings settings;
  // The defaults are the settings registry's.
  auto fallback = [](const char* key) { return settings::setting(key).default_value; };
  settings.wpad = parse_switch(keys::kWpad, fallback(keys::kWpad)).value();
  settings.system = parse_switch(keys::kSystem, fallback(keys::kSystem)).value();
  settings.direct_fallback = parse_switch(keys::kDirectFallback, fallback(keys::kDirectFallback)).value();
  settings.random_order = parse_order(fallback(keys::kOrder)).value();
  settings.connect_timeout_seconds = parse_connect_timeout(fallback(keys::kConnectTimeout)).value();
  if (auto urls = config(keys::kUrls); urls && !urls->empty()) {
    auto parsed = parse_proxy_list(*urls);
    if (!parsed.ok()) return Error{std::string(keys::kUrls) + ": " + parsed.error()};
    settings.urls = std::move(parsed.value());
  }
  auto user = read_token(config, keys::kUser);
  if (!user.ok()) return Error{user.error()};
  settings.user = user.value();
  auto password = read_token(config, keys::kPassword);
  if (!password.ok()) return Error{password.error()};
  settings.password = password.value();
  if (auto pac = config(keys::kPac); pac && !pac->empty()) {
    if (Status valid = check_pac_url(*pac); !valid.ok()) return Error{std::string(keys::kPac) + ": " + valid.error()};
    settings.pac = *pac;
  }
  struct Switch {
    const char* key;
    bool* target;
  };
  for (const Switch& entry : {Switch{keys::kWpad, &settings.wpad}, Switch{keys::kSystem, &settings.system},
                              Switch{keys::kDirectFallback, &settings.direct_fallback}}) {
    if (auto value = config(entry.key); value && !value->empty()) {
      auto parsed = parse_switch(entry.key, *value);
      if (!parsed.ok()) return Error{parsed.error()};
      *entry.target = parsed.value();
    }
  }
  if (auto order = config(keys::kOrder); order && !order->empty()) {
    auto parsed = parse_order(*order);
    if (!parsed.ok()) return Error{parsed.error()};
    settings.random_order = parsed.value();
  }
  if (auto timeout = config(keys::kConnectTimeout); timeout && !timeout->empty()) {
    auto parsed = parse_connect_timeout(*timeout);
    if (!parsed.ok()) return Error{parsed.error()};
    settings.connect_timeout_seconds = parsed.value();
  }
  return settings;
}

Result<ProxyFile> read_proxy_file(const std::filesystem::path& path) {
  ProxyFile file;
  // Its https_proxy reaches every command the agent runs as root.
  if (auto trusted = check_trusted(path, "the proxy file"); !trusted.ok()) return Error{trusted.error()};
  std::ifstream in(path);
  if (!in) {
    std::error_code ignored;
    if (!std::filesystem::exists(path, ignored)) return file;
    return Error{"cannot read the proxy file " + path.string()};
  }
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::string where = path.string() + ":" + std::to_string(number) + ": ";
    line = std::string(trim(line));
    if (line.empty() || line.front() == '#') continue;
    if (line.rfind("export ", 0) == 0) line = std::string(trim(line.substr(7)));
    size_t equals = line.find('=');
    if (equals == std::string::npos) return Error{where + "expected NAME=value"};
    std::string name = to_lower(trim(line.substr(0, equals)));
    std::string value = std::string(trim(line.substr(equals + 1)));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    if (name == "https_proxy") {
      // Commands read it too, and they take one proxy.
      if (!value.empty()) {
        if (auto parsed = parse_proxy_url(value); !parsed.ok()) return Error{where + parsed.error()};
      }
      file.https_proxy = value;
    } else if (name == "vigil_https_proxy") {
      if (!value.empty()) {
        if (auto parsed = parse_proxy_list(value); !parsed.ok()) return Error{where + parsed.error()};
      }
      file.vigil_https_proxy = value;
    } else if (name == "no_proxy") {
      file.no_proxy = value;
    } else {
      return Error{where + "unknown name '" + name + "' (https_proxy, vigil_https_proxy or no_proxy)"};
    }
  }
  return file;
}

std::vector<std::string> command_environment(const ProxyFile& file) {
  std::vector<std::string> environment;
  if (!file.https_proxy.empty()) {
    environment.push_back("https_proxy=" + file.https_proxy);
    environment.push_back("HTTPS_PROXY=" + file.https_proxy);
  }
  if (!file.no_proxy.empty()) {
    environment.push_back("no_proxy=" + file.no_proxy);
    environment.push_back("NO_PROXY=" + file.no_proxy);
  }
  return environment;
}

}  // namespace vigil::proxy
