#include "proxy/secret_box.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "base/error_text.h"
#include "base/file_safety.h"

namespace vigil::proxy {
namespace {

constexpr std::string_view kTokenVersion = "v1";
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
// Bound into every token so a token cannot be replayed as something else.
constexpr std::string_view kAssociatedData = "vigil secret v1";

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

std::string base64url(const std::vector<unsigned char>& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(written));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

Result<std::vector<unsigned char>> from_base64url(std::string_view text) {
  std::string padded(text);
  for (char& c : padded) {
    if (c == '-') {
      c = '+';
    } else if (c == '_') {
      c = '/';
    } else if (!std::isalnum(static_cast<unsigned char>(c))) {
      return Error{"not a token"};
    }
  }
  if (padded.size() % 4 == 1) return Error{"not a token (bad length)"};
  size_t padding = (4 - padded.size() % 4) % 4;
  padded.append(padding, '=');
  std::vector<unsigned char> out(padded.size() / 4 * 3);
  int written = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(padded.data()),
                                static_cast<int>(padded.size()));
  if (written < 0) return Error{"not a token"};
  out.resize(static_cast<size_t>(written) - padding);
  return out;
}

Result<std::array<unsigned char, 32>> read_key(const std::filesystem::path& key_file) {
  if (auto trusted = check_trusted(key_file, "the secret key", Secrecy::kSecret); !trusted.ok()) {
    return Error{trusted.error() + " (chmod 600 it, owned by root)"};
  }
  int fd = ::open(key_file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Error{"cannot open the secret key " + key_file.string() + ": " + error_text(errno)};
  struct stat info {};
  std::array<unsigned char, 32> key{};
  ssize_t got = -1;
  if (::fstat(fd, &info) == 0) got = ::read(fd, key.data(), key.size());
  ::close(fd);
  if (got != static_cast<ssize_t>(key.size()) || info.st_size != static_cast<off_t>(key.size())) {
    return Error{"the secret key " + key_file.string() + " is damaged (it must be 32 bytes)"};
  }
  return key;
}

}  // namespace

Result<SecretBox> SecretBox::load(const std::filesystem::path& key_file) {
  auto key = read_key(key_file);
  if (!key.ok()) return Error{key.error()};
  return SecretBox(key.value());
}

Result<SecretBox> SecretBox::load_or_create(const std::filesystem::path& key_file) {
  std::error_code ignored;
  if (!std::filesystem::exists(key_file, ignored)) {
    std::filesystem::create_directories(key_file.parent_path(), ignored);
    std::array<unsigned char, 32> key{};
    if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) return Error{"no randomness for a secret key"};
    // O_EXCL: two tools racing to make the key end with one key, not two.
    int fd = ::open(key_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      bool written = ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(fd) == 0;
      ::close(fd);
      if (!written) {
        std::filesystem::remove(key_file, ignored);
        return Error{"cannot write the secret key " + key_file.string()};
      }
    } else if (errno != EEXIST) {
      return Error{"cannot create the secret key " + key_file.string() + ": " + error_text(errno)};
    }
  }
  return load(key_file);
}

std::string SecretBox::seal(std::string_view plain) const {
  std::vector<unsigned char> out(kNonceBytes + plain.size() + kTagBytes);
  RAND_bytes(out.data(), kNonceBytes);
  CipherContext context(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int length = 0;
  EVP_EncryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr, key_.data(), out.data());
  EVP_EncryptUpdate(context.get(), nullptr, &length, reinterpret_cast<const unsigned char*>(kAssociatedData.data()),
                    static_cast<int>(kAssociatedData.size()));
  EVP_EncryptUpdate(context.get(), out.data() + kNonceBytes, &length,
                    reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size()));
  EVP_EncryptFinal_ex(context.get(), out.data() + kNonceBytes + length, &length);
  EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, out.data() + kNonceBytes + plain.size());
  return std::string(kTokenVersion) + base64url(out);
}

Result<std::string> SecretBox::open(std::string_view token) const {
  if (token.substr(0, kTokenVersion.size()) != kTokenVersion) return Error{"not a token from vigilctl encrypt-string"};
  auto bytes = from_base64url(token.substr(kTokenVersion.size()));
  if (!bytes.ok() || bytes->size() < kNonceBytes + kTagBytes) return Error{"not a token from vigilctl encrypt-string"};
  const std::vector<unsigned char>& data = bytes.value();
  size_t size = data.size() - kNonceBytes - kTagBytes;
  std::string plain(size, '\0');
  CipherContext context(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int length = 0;
  EVP_DecryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr, key_.data(), data.data());
  EVP_DecryptUpdate(context.get(), nullptr, &length, reinterpret_cast<const unsigned char*>(kAssociatedData.data()),
                    static_cast<int>(kAssociatedData.size()));
  EVP_DecryptUpdate(context.get(), reinterpret_cast<unsigned char*>(plain.data()), &length, data.data() + kNonceBytes,
                    static_cast<int>(size));
  std::vector<unsigned char> tag(data.end() - kTagBytes, data.end());
  EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data());
  if (EVP_DecryptFinal_ex(context.get(), reinterpret_cast<unsigned char*>(plain.data()) + length, &length) != 1) {
    return Error{"the token does not open with this machine's secret key (altered, or made with another key)"};
  }
  return plain;
}

}  // namespace vigil::proxy
