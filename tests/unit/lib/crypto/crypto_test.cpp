// Digests of bytes and of streamed files, random uuids.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_support.h"
#include "vigil/crypto/digest.h"
#include "vigil/crypto/random.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

TEST(Crypto, DigestsOfBytesAndOfStreamedFiles) {
  EXPECT_EQ(crypto::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  test::TempDir dir;
  // Past the 1 MiB read buffer, so the file is hashed in more than one block.
  std::string big(3 << 20, 'v');
  write(dir.path() / "big", big);
  EXPECT_EQ(crypto::hash_file(dir.path() / "big", "sha256").value(), crypto::hex_digest(big, "sha256"));
  EXPECT_EQ(crypto::hash_file(dir.path() / "big", "md5").value(), crypto::hex_digest(big, "md5"));
  fs::create_symlink(dir.path() / "big", dir.path() / "link");
  EXPECT_TRUE(crypto::hash_file(dir.path() / "link", "sha256").ok());
  EXPECT_FALSE(crypto::hash_file(dir.path() / "link", "sha256", crypto::Symlinks::kRefuse).ok());
  auto missing = crypto::hash_file(dir.path() / "missing", "sha256");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), "No such file or directory");
  EXPECT_NE(crypto::hash_file(dir.path() / "big", "nonsense").error().find("unknown hash"), std::string::npos);
}

TEST(Crypto, UuidsAreVersion4AndValidated) {
  std::string id = crypto::random_uuid();
  EXPECT_TRUE(crypto::is_uuid(id)) << id;
  EXPECT_EQ(id[14], '4');
  EXPECT_NE(crypto::random_uuid(), id);
  EXPECT_FALSE(crypto::is_uuid("not-a-uuid"));
  EXPECT_FALSE(crypto::is_uuid(id + "0"));
}

}  // namespace
}  // namespace vigil
