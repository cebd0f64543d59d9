#include "health/probes.h"

#include <openssl/x509.h>

#include <future>
#include <memory>
#include <mutex>

#include "https/https_client.h"
#include "proxy/route_resolver.h"
#include "vigil/net/tls.h"
#include "vigil/net/wire.h"
#include "vigil/tuf/metadata.h"

namespace vigil::health {
namespace {

using Clock = std::chrono::steady_clock;

// The platform's certificate as the handshake saw it (the last leaf verified:
// through an https:// proxy the proxy's comes first).
struct SeenCertificate {
  std::mutex mutex;
  std::optional<int64_t> not_after;
  std::string subject;
};

void watch_certificates(boost::asio::ssl::context& tls, const std::shared_ptr<SeenCertificate>& seen) {
  tls.set_verify_callback([seen](bool preverified, boost::asio::ssl::verify_context& context) {
    X509_STORE_CTX* store = context.native_handle();
    if (X509_STORE_CTX_get_error_depth(store) == 0) {
      if (X509* certificate = X509_STORE_CTX_get_current_cert(store)) {
        std::lock_guard lock(seen->mutex);
        int days = 0, seconds = 0;
        if (ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(certificate)) == 1) {
          seen->not_after = static_cast<int64_t>(time(nullptr)) + int64_t{days} * 86400 + seconds;
        }
        char name[256] = {};
        X509_NAME_oneline(X509_get_subject_name(certificate), name, sizeof(name) - 1);
        seen->subject = name;
      }
    }
    return preverified;
  });
}

// Fetches the known file on `client` and checks it against what is trusted.
DownloadProbe download(link::HttpsClient& client, const KnownFile& known) {
  DownloadProbe result;
  result.tried = true;
  auto started = Clock::now();
  Result<std::string> reply = client.post(known.path, known.request);
  result.milliseconds = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  if (!reply) {
    result.error = reply.error();
    return result;
  }
  Result<std::string> file = known.file_of(*reply);
  if (!file) {
    result.error = file.error();
    return result;
  }
  result.bytes = static_cast<int64_t>(file->size());
  Status matches = tuf::check_length_and_hashes(*file, known.length, known.hashes);
  result.verified = matches.ok();
  if (!matches) result.error = matches.error();
  return result;
}

RouteProbe probe(const wire::Url& url, const std::optional<std::filesystem::path>& ca_bundle, link::Route route,
                 std::chrono::milliseconds timeout, const std::optional<KnownFile>& known_file) {
  RouteProbe result;
  result.route = route.display();
  result.proxy = route.proxy.has_value();
  auto tls = tls::client_context(ca_bundle);
  if (!tls.ok()) {
    result.error = tls.error();
    return result;
  }
  auto seen = std::make_shared<SeenCertificate>();
  watch_certificates(*tls.value(), seen);
  link::RoutePlan plan{{std::move(route)}, false, {}, static_cast<int>(timeout.count())};
  std::string attempt_error;
  link::HttpsClient client(
      url, tls.value(), link::LinkTimeouts{timeout, timeout, timeout},
      [plan](const wire::Url&) -> Result<link::RoutePlan> { return plan; },
      [&attempt_error](const link::Route&, const std::string& failure) { attempt_error = failure; });
  auto started = Clock::now();
  // An empty check-in: any HTTP answer (401 for it) proves the route reaches
  // the platform over verified TLS, and changes nothing there.
  auto answer = client.post("/v1/checkin", "");
  result.milliseconds = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  result.http_status = client.http_status();
  result.reached = answer.ok() || result.http_status != 0;
  if (!result.reached) result.error = attempt_error.empty() ? answer.error() : attempt_error;
  if (result.reached && known_file) result.download = download(client, *known_file);
  std::lock_guard lock(seen->mutex);
  result.certificate_not_after = seen->not_after;
  result.certificate_subject = seen->subject;
  return result;
}

}  // namespace

const RouteProbe* PlatformProbes::route_taken() const {
  // The agent tries the plan's proxies in order, then direct when it falls back (or has no proxy).
  for (const RouteProbe& route : routes) {
    if (route.proxy && route.in_plan && route.reached) return &route;
  }
  for (const RouteProbe& route : routes) {
    if (!route.proxy && route.in_plan && route.reached) return &route;
  }
  return nullptr;
}

PlatformProbes probe_platform(const Paths& paths, const std::string& server_uri,
                              const std::optional<std::filesystem::path>& ca_bundle,
                              const std::map<std::string, std::string>& config, std::chrono::milliseconds timeout,
                              const std::optional<KnownFile>& known_file) {
  PlatformProbes probes;
  if (known_file) probes.known_file = known_file->name;
  probes.server = server_uri;
  probes.configured = !server_uri.empty();
  if (!probes.configured) return probes;
  auto url = wire::parse_url(server_uri);
  if (!url.ok()) {
    probes.setup_error = "ServerUri " + server_uri + ": " + url.error();
    return probes;
  }
  auto tls = tls::client_context(ca_bundle);
  if (!tls.ok()) {
    probes.setup_error = tls.error();
    return probes;
  }
  proxy::ResolverOptions options;
  options.paths = paths;
  options.config = [&config](const char* key) -> std::optional<std::string> {
    auto found = config.find(key);
    return found == config.end() ? std::nullopt : std::optional<std::string>(found->second);
  };
  options.pac_helper = proxy::default_pac_helper();
  options.tls = tls.value();
  options.pac_timeout = timeout;
  proxy::RouteResolver resolver(std::move(options));
  auto plan = resolver.plan(url.value());
  if (!plan.ok()) {
    probes.setup_error = "proxy settings: " + plan.error();
    return probes;
  }
  probes.direct_fallback = plan.value().direct_fallback;
  probes.plan_problems = plan.value().problems;

  std::vector<link::Route> routes = {link::Route{std::nullopt, "default"}};
  bool plan_has_proxy = false;
  for (const link::Route& route : plan.value().routes) {
    if (!route.proxy) continue;
    plan_has_proxy = true;
    routes.push_back(route);
  }
  std::vector<std::future<RouteProbe>> running;
  for (link::Route& route : routes) {
    running.push_back(
        std::async(std::launch::async, probe, url.value(), ca_bundle, std::move(route), timeout, known_file));
  }
  for (size_t i = 0; i < running.size(); ++i) {
    RouteProbe result = running[i].get();
    result.in_plan = result.proxy || !plan_has_proxy || probes.direct_fallback;
    probes.routes.push_back(std::move(result));
  }
  return probes;
}

}  // namespace vigil::health
