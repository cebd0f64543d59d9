// A private CA and a server certificate for the platform, made with OpenSSL:
// what `vigil-platform admin init` writes and the tests use (also for the
// wrong-host and unknown-CA cases).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "vigil/result/result.h"

namespace vigil::platform {

struct CertificateFiles {
  std::filesystem::path ca_certificate;      // give this to agents (CaBundle)
  std::filesystem::path server_certificate;  // the server's, then the CA's
  std::filesystem::path server_key;          // mode 0600
};

// `names`: subjectAltName entries such as "IP:127.0.0.1" or "DNS:localhost".
Result<CertificateFiles> make_certificates(const std::filesystem::path& dir, const std::vector<std::string>& names,
                                           int valid_days = 825);

}  // namespace vigil::platform
