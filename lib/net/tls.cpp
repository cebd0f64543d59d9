#include "vigil/net/tls.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "vigil/net/wire.h"

namespace vigil::tls {

namespace ssl = boost::asio::ssl;

namespace {

std::string openssl_error() {
  unsigned long code = ERR_get_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  ERR_clear_error();
  return text;
}

void modern_only(ssl::context& context) {
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
  context.set_options(ssl::context::default_workarounds | ssl::context::no_compression);
}

}  // namespace

Result<std::shared_ptr<ssl::context>> client_context(const std::optional<std::filesystem::path>& ca_bundle) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  modern_only(*context);
  context->set_verify_mode(ssl::verify_peer);
  if (ca_bundle) {
    if (SSL_CTX_load_verify_locations(context->native_handle(), ca_bundle->c_str(), nullptr) != 1) {
      return Error{"cannot load the CA bundle " + ca_bundle->string() + ": " + openssl_error()};
    }
  } else if (SSL_CTX_set_default_verify_paths(context->native_handle()) != 1) {
    return Error{"cannot load the system CA store: " + openssl_error()};
  }
  return context;
}

Result<std::shared_ptr<ssl::context>> server_context(const std::filesystem::path& certificate_chain,
                                                     const std::filesystem::path& private_key) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  modern_only(*context);
  context->set_options(ssl::context::single_dh_use);
  if (SSL_CTX_use_certificate_chain_file(context->native_handle(), certificate_chain.c_str()) != 1) {
    return Error{"cannot load the certificate " + certificate_chain.string() + ": " + openssl_error()};
  }
  if (SSL_CTX_use_PrivateKey_file(context->native_handle(), private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Error{"cannot load the private key " + private_key.string() + ": " + openssl_error()};
  }
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    return Error{"the private key does not match the certificate " + certificate_chain.string()};
  }
  return context;
}

Status expect_peer_host(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (wire::is_ip_literal(host)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) return Error{"bad IP address " + host};
    return Status::Ok();
  }
  if (X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) != 1) return Error{"bad host name " + host};
  if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) return Error{"cannot set SNI " + host};
  return Status::Ok();
}

}  // namespace vigil::tls
