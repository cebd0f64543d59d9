// Ed25519 through OpenSSL 3 (PureEdDSA, one-shot), and TUF's key ids.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "vigil/result/result.h"

namespace vigil::tuf {

// Whether `signature_hex` (128 hex digits) is a valid signature of `message`
// by `public_hex` (64 hex digits). Anything malformed is simply not valid.
bool ed25519_verify(std::string_view public_hex, std::string_view signature_hex, std::string_view message);

struct SigningKey {
  std::string private_pem;  // PKCS#8
  std::string public_hex;
};

// A new key pair from OpenSSL's CSPRNG.
Result<SigningKey> ed25519_generate();
// The key of a PKCS#8 PEM, with its public half; an error names what is wrong.
Result<SigningKey> ed25519_read(std::string_view private_pem);
// The signature of `message` as 128 hex digits.
Result<std::string> ed25519_sign(const SigningKey& key, std::string_view message);

// The key object as TUF's root lists it.
nlohmann::json ed25519_key_object(const std::string& public_hex);
// A key's id: the hex sha256 of its canonical key object, extra fields included.
Result<std::string> key_id(const nlohmann::json& key_object);

}  // namespace vigil::tuf
