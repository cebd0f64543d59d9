#include "diagnostics/redactor.h"

#include <algorithm>
#include <regex>

#include "proxy/proxy_settings.h"
#include "proxy/proxy_url.h"
#include "proxy/secret_box.h"
#include "settings/catalog.h"

namespace vigil::diagnostics {
namespace {

// A credential in each form it may be written in: as stored, opened when sealed, URL-encoded.
void add_credential(Redactor& redactor, const proxy::Credential& credential, const proxy::SecretBox* box) {
  redactor.add_secret(credential.text);
  if (credential.encrypted) {
    redactor.add_secret("#" + credential.text);
    if (box) {
      if (auto plain = box->open(credential.text); plain.ok()) {
        redactor.add_secret(plain.value());
        redactor.add_secret(proxy::percent_encode(plain.value()));
      }
    }
  } else {
    redactor.add_secret(proxy::percent_encode(credential.text));
  }
}

void add_proxy_list(Redactor& redactor, const std::string& list, const proxy::SecretBox* box) {
  auto urls = proxy::parse_proxy_list(list);
  if (!urls.ok()) return;  // the shape rules still mask its user information
  for (const proxy::ProxyUrl& url : urls.value()) {
    if (url.user) add_credential(redactor, *url.user, box);
    if (url.password) add_credential(redactor, *url.password, box);
  }
}

}  // namespace

Redactor Redactor::of_agent(ConfigTable& config, const Paths& paths) {
  Redactor redactor;
  std::optional<proxy::SecretBox> box;
  if (auto loaded = proxy::SecretBox::load(paths.config_dir / "secret.key"); loaded.ok()) box = loaded.value();
  const proxy::SecretBox* opener = box ? &*box : nullptr;
  auto catalog = settings::Catalog::load(config);
  auto all = config.all();
  if (all.ok()) {
    for (const auto& [key, value] : all.value()) {
      // A key the catalog cannot resolve may be a secret nobody declared: its
      // value goes too, unless it is short enough to mangle ordinary text.
      bool secret = value.size() >= 8;
      if (catalog.ok()) {
        auto resolved = catalog.value().resolve(key);
        if (resolved.ok()) secret = resolved.value().setting && resolved.value().setting->secret;
      }
      if (key == proxy::keys::kUrls) {
        add_proxy_list(redactor, value, opener);
      } else if (key == proxy::keys::kUser || key == proxy::keys::kPassword) {
        add_credential(redactor, proxy::Credential{value, true}, opener);
      } else if (secret) {
        redactor.add_secret(value);
      }
    }
  }
  if (auto file = proxy::read_proxy_file(paths.config_dir / "proxy"); file.ok()) {
    for (const std::string& list : {file.value().https_proxy, file.value().vigil_https_proxy}) {
      if (!list.empty()) add_proxy_list(redactor, list, opener);
    }
  }
  return redactor;
}

void Redactor::add_secret(std::string_view value) {
  if (value.empty()) return;
  std::string secret(value);
  if (std::find(secrets_.begin(), secrets_.end(), secret) != secrets_.end()) return;
  secrets_.push_back(std::move(secret));
  std::stable_sort(secrets_.begin(), secrets_.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

namespace {

// PEM private key blocks, found by their markers (a regex over megabytes of
// logs would recurse too deep).
std::string without_private_keys(std::string text) {
  static constexpr std::string_view kBegin = "-----BEGIN ";
  static constexpr std::string_view kEnd = "PRIVATE KEY-----";
  for (size_t begin = text.find(kBegin); begin != std::string::npos; begin = text.find(kBegin, begin + 1)) {
    size_t header_end = text.find("-----", begin + kBegin.size());
    if (header_end == std::string::npos) break;
    std::string_view header(text.data() + begin, header_end + 5 - begin);
    if (!header.ends_with(kEnd)) continue;
    size_t end = text.find("-----END ", header_end);
    size_t end_marker = end == std::string::npos ? std::string::npos : text.find(kEnd, end);
    size_t stop = end_marker == std::string::npos ? text.size() : end_marker + kEnd.size();
    text.replace(begin, stop - begin,
                 "-----BEGIN PRIVATE KEY-----" + std::string(kRedacted) + "-----END PRIVATE KEY-----");
  }
  return text;
}

// URL user information and Authorization headers, line by line.
std::string without_credential_shapes(const std::string& text) {
  static const std::regex userinfo(R"(([A-Za-z][A-Za-z0-9+.\-]*://)[^/\s@;"']+@)");
  static const std::regex authorization(R"(((?:Proxy-)?Authorization:\s*\S+\s+)\S+)", std::regex::icase);
  std::string out;
  out.reserve(text.size());
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    size_t stop = end == std::string::npos ? text.size() : end + 1;
    std::string line = text.substr(start, stop - start);
    if (line.find("://") != std::string::npos && line.find('@') != std::string::npos) {
      line = std::regex_replace(line, userinfo, "$1[REDACTED]@");
    }
    if (line.find("uthorization") != std::string::npos || line.find("UTHORIZATION") != std::string::npos) {
      line = std::regex_replace(line, authorization, "$1[REDACTED]");
    }
    out += line;
    start = stop;
  }
  return out;
}

}  // namespace

std::string Redactor::redact(std::string_view text) const {
  std::string out(text);
  for (const std::string& secret : secrets_) {
    for (size_t at = out.find(secret); at != std::string::npos; at = out.find(secret, at + kRedacted.size())) {
      out.replace(at, secret.size(), kRedacted);
    }
  }
  return without_credential_shapes(without_private_keys(std::move(out)));
}

}  // namespace vigil::diagnostics
