#include "vigil/crypto/digest.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <memory>
#include <system_error>
#include <vector>

#include "vigil/text/hex.h"

namespace vigil::crypto {

namespace {

using Context = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

std::string finish(EVP_MD_CTX* context) {
  unsigned char raw[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(context, raw, &size);
  return to_hex(raw, size);
}

// Closes the descriptor on every way out of hash_file.
struct Descriptor {
  int fd;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

bool is_known(const std::string& algorithm) {
  return EVP_get_digestbyname(algorithm.c_str()) != nullptr;
}

std::string hex_digest(std::string_view data, const std::string& algorithm) {
  const EVP_MD* digest = EVP_get_digestbyname(algorithm.c_str());
  if (digest == nullptr) digest = EVP_sha256();
  Context context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(context.get(), digest, nullptr);
  EVP_DigestUpdate(context.get(), data.data(), data.size());
  return finish(context.get());
}

Result<std::string> hash_file(const std::filesystem::path& file, const std::string& algorithm, Symlinks symlinks) {
  const EVP_MD* digest = EVP_get_digestbyname(algorithm.c_str());
  if (digest == nullptr) return Error{"unknown hash " + algorithm};
  int flags = O_RDONLY | O_CLOEXEC | (symlinks == Symlinks::kRefuse ? O_NOFOLLOW : 0);
  Descriptor in{::open(file.c_str(), flags | O_NOATIME)};
  if (in.fd < 0 && errno == EPERM) in.fd = ::open(file.c_str(), flags);  // O_NOATIME needs ownership
  if (in.fd < 0) return Error{std::generic_category().message(errno)};
  ::posix_fadvise(in.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  Context context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(context.get(), digest, nullptr);
  // Large reads keep big files fast; one buffer per thread because callers hash on several.
  thread_local std::vector<unsigned char> buffer(size_t{1} << 20);
  for (;;) {
    ssize_t got = ::read(in.fd, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Error{std::generic_category().message(errno)};
    if (got == 0) break;
    EVP_DigestUpdate(context.get(), buffer.data(), static_cast<size_t>(got));
  }
  return finish(context.get());
}

}  // namespace vigil::crypto
