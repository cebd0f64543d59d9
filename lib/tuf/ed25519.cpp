#include "vigil/tuf/ed25519.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include "vigil/crypto/digest.h"
#include "vigil/text/hex.h"
#include "vigil/tuf/canonical_json.h"

namespace vigil::tuf {

namespace {

constexpr size_t kPublicKeyBytes = 32;
constexpr size_t kSignatureBytes = 64;

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Context = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;
using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;

// OpenSSL's error queue is per thread and shared with TLS: leave nothing behind.
Error openssl_error(const std::string& what) {
  unsigned long code = ERR_get_error();
  std::string text = what;
  if (code != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    text += ": ";
    text += buffer;
  }
  ERR_clear_error();
  return Error{text, ErrorCode::kFailed};
}

Result<std::string> public_hex_of(EVP_PKEY* key) {
  unsigned char raw[kPublicKeyBytes];
  size_t size = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key, raw, &size) != 1 || size != kPublicKeyBytes) {
    return openssl_error("cannot read the Ed25519 public key");
  }
  return to_hex(raw, size);
}

}  // namespace

bool ed25519_verify(std::string_view public_hex, std::string_view signature_hex, std::string_view message) {
  unsigned char raw_key[kPublicKeyBytes];
  unsigned char signature[kSignatureBytes];
  if (!from_hex(public_hex, raw_key, sizeof raw_key) || !from_hex(signature_hex, signature, sizeof signature)) {
    return false;
  }
  Key key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw_key, sizeof raw_key), &EVP_PKEY_free);
  Context context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  // PureEdDSA is one-shot: no digest is given, and only a return of 1 means valid.
  bool valid = key && context && EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
               EVP_DigestVerify(context.get(), signature, sizeof signature,
                                reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  if (!valid) ERR_clear_error();
  return valid;
}

Result<SigningKey> ed25519_generate() {
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), &EVP_PKEY_free);
  if (!key) return openssl_error("cannot generate an Ed25519 key");
  Bio bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return openssl_error("cannot write the Ed25519 key as PEM");
  }
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  Result<std::string> public_hex = public_hex_of(key.get());
  if (!public_hex) return public_hex.failure();
  return SigningKey{std::string(data, static_cast<size_t>(size)), *public_hex};
}

Result<SigningKey> ed25519_read(std::string_view private_pem) {
  Bio bio(BIO_new_mem_buf(private_pem.data(), static_cast<int>(private_pem.size())), &BIO_free);
  Key key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr, &EVP_PKEY_free);
  if (!key) return openssl_error("not a PEM private key");
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return Error{"not an Ed25519 key", ErrorCode::kInvalidArgument};
  }
  Result<std::string> public_hex = public_hex_of(key.get());
  if (!public_hex) return public_hex.failure();
  return SigningKey{std::string(private_pem), *public_hex};
}

Result<std::string> ed25519_sign(const SigningKey& signing_key, std::string_view message) {
  Bio bio(BIO_new_mem_buf(signing_key.private_pem.data(), static_cast<int>(signing_key.private_pem.size())), &BIO_free);
  Key key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr, &EVP_PKEY_free);
  if (!key) return openssl_error("not a PEM private key");
  Context context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned char signature[kSignatureBytes];
  size_t size = sizeof signature;
  if (!context || EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(context.get(), signature, &size, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      size != kSignatureBytes) {
    return openssl_error("cannot sign with the Ed25519 key");
  }
  return to_hex(signature, size);
}

nlohmann::json ed25519_key_object(const std::string& public_hex) {
  return {{"keytype", "ed25519"}, {"scheme", "ed25519"}, {"keyval", {{"public", public_hex}}}};
}

Result<std::string> key_id(const nlohmann::json& key_object) {
  Result<std::string> text = canonical(key_object);
  if (!text) return text.failure();
  return crypto::sha256_hex(*text);
}

}  // namespace vigil::tuf
