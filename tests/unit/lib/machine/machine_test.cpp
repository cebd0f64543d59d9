// Machine facts: os-release, first lines of system files, interface addresses.
#include "vigil/machine/machine.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_support.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
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

}  // namespace
}  // namespace vigil
