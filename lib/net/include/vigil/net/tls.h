// TLS settings of the platform link, in one place: TLS 1.2 or newer, and a
// peer certificate that chains to the CA bundle (or the system store) and
// names the host we dialled.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "vigil/result/result.h"

namespace vigil::tls {

// Trusts `ca_bundle` when given, the system store otherwise.
Result<std::shared_ptr<boost::asio::ssl::context>> client_context(
    const std::optional<std::filesystem::path>& ca_bundle);

// Server side: `certificate_chain` and `private_key` are PEM files.
Result<std::shared_ptr<boost::asio::ssl::context>> server_context(const std::filesystem::path& certificate_chain,
                                                                  const std::filesystem::path& private_key);

// Makes the handshake on `ssl` check that the certificate names `host` (a DNS
// name or an IP address) and sends it as SNI when it is a name.
Status expect_peer_host(SSL* ssl, const std::string& host);

}  // namespace vigil::tls
