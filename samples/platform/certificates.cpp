#include "certificates.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <memory>

namespace vigil::platform {

namespace {

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Certificate = std::unique_ptr<X509, decltype(&X509_free)>;

std::string openssl_error() {
  unsigned long code = ERR_get_error();
  char text[256] = "unknown OpenSSL error";
  if (code != 0) ERR_error_string_n(code, text, sizeof(text));
  ERR_clear_error();
  return text;
}

bool add_extension(X509* certificate, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  if (extension == nullptr) return false;
  bool added = X509_add_ext(certificate, extension, -1) == 1;
  X509_EXTENSION_free(extension);
  return added;
}

Result<Certificate> make_certificate(EVP_PKEY* key, const std::string& common_name, X509* issuer, EVP_PKEY* issuer_key,
                                     int days) {
  Certificate certificate(X509_new(), X509_free);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;  // positive
  BIGNUM* number = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(number, X509_get_serialNumber(certificate.get()));
  BN_free(number);
  X509_set_version(certificate.get(), 2);
  X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(certificate.get()), static_cast<long>(days) * 24 * 3600);
  X509_set_pubkey(certificate.get(), key);
  X509_NAME* name = X509_get_subject_name(certificate.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Vigil"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(certificate.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer != nullptr ? issuer : certificate.get();
  bool ok = issuer == nullptr
                ? add_extension(certificate.get(), signer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
                      add_extension(certificate.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign") &&
                      add_extension(certificate.get(), signer, NID_subject_key_identifier, "hash")
                : add_extension(certificate.get(), signer, NID_basic_constraints, "critical,CA:FALSE") &&
                      add_extension(certificate.get(), signer, NID_key_usage, "critical,digitalSignature") &&
                      add_extension(certificate.get(), signer, NID_ext_key_usage, "serverAuth") &&
                      add_extension(certificate.get(), signer, NID_authority_key_identifier, "keyid");
  if (!ok) return Error{"certificate extensions: " + openssl_error()};
  if (X509_sign(certificate.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    return Error{"signing: " + openssl_error()};
  }
  return certificate;
}

Status write_pem(const std::filesystem::path& file, const std::vector<X509*>& certificates, EVP_PKEY* key) {
  FILE* out = std::fopen(file.c_str(), "w");
  if (out == nullptr) return Error{"cannot write " + file.string()};
  if (key != nullptr) ::fchmod(fileno(out), 0600);
  bool ok = true;
  for (X509* certificate : certificates) ok &= PEM_write_X509(out, certificate) == 1;
  if (key != nullptr) ok &= PEM_write_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  ok &= std::fclose(out) == 0;
  if (!ok) return Error{"cannot write " + file.string() + ": " + openssl_error()};
  return Status::Ok();
}

}  // namespace

Result<CertificateFiles> make_certificates(const std::filesystem::path& dir, const std::vector<std::string>& names,
                                           int valid_days) {
  if (names.empty()) return Error{"a server certificate needs at least one name (IP:… or DNS:…)"};
  std::string alt_names;
  for (const auto& name : names) {
    if (name.rfind("IP:", 0) != 0 && name.rfind("DNS:", 0) != 0) {
      return Error{"certificate name '" + name + "' must start with IP: or DNS:"};
    }
    alt_names += (alt_names.empty() ? "" : ",") + name;
  }
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return Error{"cannot create " + dir.string() + ": " + error.message()};

  Key ca_key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  Key server_key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!ca_key || !server_key) return Error{"key generation: " + openssl_error()};
  auto ca = make_certificate(ca_key.get(), "Vigil platform CA", nullptr, nullptr, valid_days);
  if (!ca.ok()) return Error{"CA " + ca.error()};
  std::string common_name = names.front().substr(names.front().find(':') + 1);
  auto server = make_certificate(server_key.get(), common_name, ca.value().get(), ca_key.get(), valid_days);
  if (!server.ok()) return Error{"server " + server.error()};
  if (!add_extension(server.value().get(), ca.value().get(), NID_subject_alt_name, alt_names) ||
      X509_sign(server.value().get(), ca_key.get(), EVP_sha256()) == 0) {
    return Error{"server certificate names '" + alt_names + "': " + openssl_error()};
  }

  CertificateFiles files{dir / "ca.crt", dir / "server.crt", dir / "server.key"};
  for (Status written :
       {write_pem(files.ca_certificate, {ca.value().get()}, nullptr), write_pem(dir / "ca.key", {}, ca_key.get()),
        write_pem(files.server_certificate, {server.value().get(), ca.value().get()}, nullptr),
        write_pem(files.server_key, {}, server_key.get())}) {
    if (!written.ok()) return Error{written.error()};
  }
  return files;
}

}  // namespace vigil::platform
