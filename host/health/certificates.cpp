// Step 4, certificates: each certificate of the CA bundle the agent trusts,
// and the one the platform presented to the connectivity probes, with expiry.
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fmt/format.h>

#include <cstdio>

#include "health/steps.h"

namespace vigil::health {
namespace {

// A certificate that expires within this many days is a warning.
constexpr int64_t kExpiryWarningDays = 14;

struct Certificate {
  std::string subject;
  int64_t not_after = 0;
};

Result<std::vector<Certificate>> read_bundle(const std::filesystem::path& file) {
  std::unique_ptr<FILE, int (*)(FILE*)> in(std::fopen(file.c_str(), "r"), &std::fclose);
  if (!in) return Error{"cannot read the CA bundle " + file.string()};
  std::vector<Certificate> certificates;
  while (X509* certificate = PEM_read_X509(in.get(), nullptr, nullptr, nullptr)) {
    Certificate entry;
    char name[256] = {};
    X509_NAME_oneline(X509_get_subject_name(certificate), name, sizeof(name) - 1);
    entry.subject = name;
    int days = 0, seconds = 0;
    if (ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(certificate)) == 1) {
      entry.not_after = static_cast<int64_t>(time(nullptr)) + int64_t{days} * 86400 + seconds;
    }
    X509_free(certificate);
    certificates.push_back(std::move(entry));
  }
  if (certificates.empty()) return Error{"the CA bundle " + file.string() + " holds no PEM certificate"};
  return certificates;
}

// Adds the finding an expiry deserves; `what` names the certificate, `fix` renews it.
void judge_expiry(Step& step, const Context& context, const std::string& what, int64_t not_after,
                  const std::string& fix) {
  int64_t left = not_after - context.now;
  if (left <= 0) {
    step.add(Severity::kCritical, "certificate-expired", fmt::format("{} expired on {}", what, utc_time(not_after)),
             fix);
  } else if (left < kExpiryWarningDays * 86400) {
    step.add(Severity::kWarning, "certificate-expiring",
             fmt::format("{} expires in {} ({})", what, duration_text(left), utc_time(not_after)), fix);
  }
}

}  // namespace

Step check_certificates(const Context& context) {
  Step step{.name = "certificates", .title = "Certificates"};
  nlohmann::json bundle = nullptr;
  std::optional<std::string> configured = context.config("CaBundle");
  std::filesystem::path file =
      configured ? std::filesystem::path(*configured) : context.paths.config_dir / "ca-bundle.crt";
  std::error_code error;
  if (!configured && !std::filesystem::exists(file, error)) {
    step.lines.push_back("CA bundle: none, the system's trust store");
  } else {
    auto certificates = read_bundle(file);
    if (!certificates.ok()) {
      step.add(Severity::kCritical, "ca-bundle-unreadable", certificates.error(),
               "set CaBundle to a readable PEM file of the platform's CA: vigilctl config set CaBundle=/path/ca.pem");
    } else {
      bundle = {{"file", file.string()}, {"certificates", nlohmann::json::array()}};
      step.lines.push_back("CA bundle: " + file.string());
      for (const Certificate& certificate : certificates.value()) {
        bundle["certificates"].push_back({{"subject", certificate.subject},
                                          {"not_after", utc_time(certificate.not_after)},
                                          {"days_left", (certificate.not_after - context.now) / 86400}});
        step.lines.push_back(fmt::format("  {}: valid until {} ({} days)", certificate.subject,
                                         utc_time(certificate.not_after),
                                         (certificate.not_after - context.now) / 86400));
        judge_expiry(step, context, "the CA certificate " + certificate.subject + " of " + file.string(),
                     certificate.not_after, "put the platform's renewed CA certificate into " + file.string());
      }
    }
  }
  step.details["ca_bundle"] = bundle;
  // The platform's own certificate, as the probes' handshakes saw it.
  for (const RouteProbe& route : context.probes.routes) {
    if (!route.certificate_not_after) continue;
    step.details["platform_certificate"] = {{"subject", route.certificate_subject},
                                            {"not_after", utc_time(*route.certificate_not_after)},
                                            {"days_left", (*route.certificate_not_after - context.now) / 86400}};
    step.lines.push_back(fmt::format("platform certificate {}: valid until {} ({} days)", route.certificate_subject,
                                     utc_time(*route.certificate_not_after),
                                     (*route.certificate_not_after - context.now) / 86400));
    judge_expiry(step, context, "the platform certificate (" + route.certificate_subject + ")",
                 *route.certificate_not_after, "renew the platform's server certificate");
    break;
  }
  if (context.probes.configured && !step.details.contains("platform_certificate")) {
    step.lines.push_back("platform certificate: not seen (no probe completed a handshake)");
  }
  return step;
}

}  // namespace vigil::health
