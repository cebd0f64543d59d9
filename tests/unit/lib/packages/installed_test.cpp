// The shared libraries of lib/ on their own: what host, plugins and platform
// rely on when they use them instead of a copy of their own.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "test_support.h"
#include "vigil/accounts/accounts.h"
#include "vigil/crypto/digest.h"
#include "vigil/machine/machine.h"
#include "vigil/packages/dpkg_status.h"
#include "vigil/packages/installed.h"
#include "vigil/text/hex.h"
#include "vigil/text/text.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

TEST(Text, TrimUnquoteAndHex) {
  EXPECT_EQ(trim(" \t value \r\n"), "value");
  EXPECT_EQ(unquote("\"Debian GNU/Linux 12\""), "Debian GNU/Linux 12");
  EXPECT_EQ(unquote("'x'"), "x");
  EXPECT_EQ(unquote("\"unbalanced'"), "\"unbalanced'");
  EXPECT_EQ(unquote("\""), "\"");
  EXPECT_EQ(to_hex(std::string("\x00\x7f\xff", 3)), "007fff");
  unsigned char raw[3] = {};
  ASSERT_TRUE(from_hex("007fff", raw, 3));
  EXPECT_EQ(to_hex(raw, 3), "007fff");
  EXPECT_FALSE(from_hex("007FFF", raw, 3)) << "digests are written in lowercase";
  EXPECT_FALSE(from_hex("007ff", raw, 3)) << "one digit short";
  EXPECT_FALSE(from_hex("", raw, 0));
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

TEST(Machine, OsReleaseFirstLinesAndAddresses) {
  test::TempDir root;
  EXPECT_FALSE(machine::read_os_release(root.path()));
  write(root.path() / "usr/lib/os-release", "ID=fallback\n");
  EXPECT_EQ(machine::read_os_release(root.path())->at("ID"), "fallback");
  write(root.path() / "etc/os-release", "# comment\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n");
  auto release = machine::read_os_release(root.path());
  ASSERT_TRUE(release);
  EXPECT_EQ(release->at("PRETTY_NAME"), "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(release->at("ID"), "debian");
  EXPECT_EQ(release->count("# comment"), 0u);
  write(root.path() / "etc/machine-id", "0123abcd \nsecond\n");
  EXPECT_EQ(machine::first_line(root.path() / "etc/machine-id"), "0123abcd");
  EXPECT_EQ(machine::first_line(root.path() / "missing"), "");
  bool loopback = false;
  for (const auto& address : machine::interface_addresses()) {
    EXPECT_EQ(address.address.find('%'), std::string::npos) << address.address;
    if (address.address == "127.0.0.1") loopback = address.prefix_length == 8 && !address.ipv6;
  }
  EXPECT_TRUE(loopback) << "127.0.0.1/8 not among this machine's addresses";
}

TEST(Accounts, RecordsKeepEmptyFieldsAndIdsMustBeNumbers) {
  auto records = accounts::parse_records("root:x:0:0:root:/root:/bin/bash\n\nnobody:x:65534:\n+::::::\nbad:x:12a:\n");
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].size(), 7u);
  EXPECT_EQ(records[1], (accounts::Record{"nobody", "x", "65534", ""}));
  EXPECT_EQ(records[2][0], "+");
  auto names = accounts::id_names(records);
  EXPECT_EQ(names, (std::map<uint32_t, std::string>{{0, "root"}, {65534, "nobody"}}));
  EXPECT_FALSE(accounts::read_records("/nonexistent/passwd"));
}

TEST(Packages, InstalledVersionsUnderBothNamesAndCrlfStatusFiles) {
  // A status file edited on Windows still reads (the CR goes with the blanks).
  auto status = packages::parse_dpkg_status(
      "Package: libc6\r\nStatus: install ok installed\r\nVersion: 2.36-9\r\nArchitecture: amd64\r\n"
      "Multi-Arch: same\r\n\r\n"
      "Package: libc6\nStatus: install ok installed\nVersion: 2.36-8\nArchitecture: i386\nMulti-Arch: same\n\n"
      "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n");
  EXPECT_TRUE(status.problems.empty());
  auto versions = packages::installed_versions(status);
  EXPECT_EQ(versions.at("libc6:amd64"), "2.36-9");
  EXPECT_EQ(versions.at("libc6:i386"), "2.36-8");
  EXPECT_EQ(versions.at("libc6"), "2.36-9");  // the first of a shared name
  EXPECT_EQ(versions.count("gone"), 0u);
  auto rpm = packages::installed_versions(std::vector<packages::RpmPackage>{{"bash", "5.1-2", "x86_64", "", 0}});
  EXPECT_EQ(rpm.at("bash"), "5.1-2");
  EXPECT_EQ(rpm.at("bash.x86_64"), "5.1-2");
  test::TempDir empty;
  auto installed = packages::read_installed_packages(empty.path());
  EXPECT_FALSE(installed.dpkg);
  EXPECT_FALSE(installed.rpm);
  EXPECT_NE(installed.dpkg_error.find("var/lib/dpkg/status"), std::string::npos);
}

}  // namespace
}  // namespace vigil
