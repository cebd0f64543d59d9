// Inventory table sources on files built under a temp root, the live machine
// where the kernel is the oracle, and the manifest's validation.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "test_support.h"
#include "vigil/inventory/manifest.h"
#include "vigil/inventory/sources.h"

namespace vigil::inventory {
namespace {

namespace fs = std::filesystem;

TableRows read(const std::string& table, const fs::path& root) {
  for (const auto& source : sources()) {
    if (source.table == table) return source.read(root);
  }
  ADD_FAILURE() << "no table " << table;
  return {};
}

std::string value(const Row& row, const std::string& column) {
  for (const auto& [name, text] : row.values) {
    if (name == column) return text;
  }
  return "<none>";
}

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

TEST(InventorySources, ReadFilesUnderTheRoot) {
  test::TempDir root;
  write(root.path() / "etc/os-release", "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n");
  write(root.path() / "etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\n# comment\nbroken line\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\n");
  write(root.path() / "etc/group", "root:x:0:\nstaff:x:50:alice,bob\n");
  write(root.path() / "proc/mounts", "/dev/sda1 / ext4 rw,relatime 0 0\nproc /proc proc rw 0 0\n");
  write(root.path() / "proc/modules", "ext4 1000 2 - Live 0x0\nmbcache 20 1 ext4, Live 0x0\n");
  write(root.path() / "etc/resolv.conf", "nameserver 192.0.2.53\nsearch example.org corp.example\n");
  write(root.path() / "etc/hostname", "box\n");
  write(root.path() / "etc/hosts", "127.0.1.1 box.example.org box\n");
  write(root.path() / "sys/class/net/eth0/address", "52:54:00:aa:bb:cc\n");
  write(root.path() / "sys/class/net/eth0/mtu", "1500\n");
  write(root.path() / "sys/class/net/eth0/operstate", "up\n");
  // 127.0.0.1:8080 listening (0A), and a connected socket (01) that is not listed.
  write(root.path() / "proc/net/tcp",
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1\n"
        "   1: 0100007F:1F91 0100007F:A000 01 00000000:00000000 00:00000000 00000000  1000        0 4243 1\n");

  EXPECT_EQ(value(read("os", root.path()).rows.at(0), "codename"), "bookworm");
  auto users = read("users", root.path());
  ASSERT_EQ(users.rows.size(), 2u);
  EXPECT_EQ(value(users.rows[1], "home"), "/home/alice");
  EXPECT_EQ(value(read("groups", root.path()).rows.at(1), "members"), "alice,bob");
  EXPECT_EQ(read("mounts", root.path()).rows.size(), 2u);
  auto modules = read("kernel_modules", root.path());
  ASSERT_EQ(modules.rows.size(), 2u);
  EXPECT_EQ(value(modules.rows[1], "used_by"), "ext4");
  auto names = read("names", root.path());
  std::vector<std::string> kinds;
  for (const auto& row : names.rows) kinds.push_back(row.keys[0].second + "=" + row.keys[1].second);
  EXPECT_EQ(kinds, (std::vector<std::string>{"hostname=box", "fqdn=box.example.org", "dns_server=192.0.2.53",
                                             "dns_search=example.org", "dns_search=corp.example"}));
  auto interfaces = read("network_interfaces", root.path());
  ASSERT_EQ(interfaces.rows.size(), 1u);
  EXPECT_EQ(value(interfaces.rows[0], "mac"), "52:54:00:aa:bb:cc");
  auto ports = read("listening_ports", root.path());
  ASSERT_EQ(ports.rows.size(), 1u);
  EXPECT_EQ(ports.rows[0].keys, (Fields{{"protocol", "tcp"}, {"address", "127.0.0.1"}, {"port", "8080"}}));
}

TEST(InventorySources, ServicesFromUnitFiles) {
  test::TempDir root;
  write(root.path() / "lib/systemd/system/ssh.service", "[Service]\n");
  write(root.path() / "lib/systemd/system/cron.service", "[Service]\n");
  write(root.path() / "lib/systemd/system/debug-shell.service", "[Service]\n");
  write(root.path() / "etc/systemd/system/cron.service", "[Service]\n# local override\n");
  fs::create_directories(root.path() / "etc/systemd/system/multi-user.target.wants");
  fs::create_symlink("/lib/systemd/system/ssh.service",
                     root.path() / "etc/systemd/system/multi-user.target.wants/ssh.service");
  fs::create_symlink("/dev/null", root.path() / "etc/systemd/system/debug-shell.service");
  std::map<std::string, std::string> states, files;
  for (const auto& row : read("services", root.path()).rows) {
    states[row.keys[0].second] = value(row, "state");
    files[row.keys[0].second] = value(row, "unit_file");
  }
  EXPECT_EQ(states, (std::map<std::string, std::string>{
                        {"cron.service", "disabled"}, {"debug-shell.service", "masked"}, {"ssh.service", "enabled"}}));
  EXPECT_EQ(files["cron.service"], "/etc/systemd/system/cron.service");
}

TEST(InventorySources, MissingSourcesGiveNoRowsAndAReason) {
  test::TempDir root;
  for (const char* table : {"packages", "users", "groups", "kernel_modules", "mounts", "names", "services"}) {
    auto rows = read(table, root.path());
    EXPECT_TRUE(rows.rows.empty() || std::string(table) == "names") << table;
    EXPECT_FALSE(rows.notes.empty()) << table;
  }
}

TEST(InventorySources, LiveMachineSeesAListeningSocketAndItsProcess) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  socklen_t size = sizeof(address);
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &size);
  std::string port = std::to_string(ntohs(address.sin_port));
  auto ports = read("listening_ports", "/");
  ::close(listener);
  bool found = false;
  for (const auto& row : ports.rows) {
    if (row.keys[1].second == "127.0.0.1" && row.keys[2].second == port) {
      found = true;
      EXPECT_EQ(value(row, "pid"), std::to_string(::getpid()));
    }
  }
  EXPECT_TRUE(found) << "port " << port << " not listed";
}

TEST(InventoryManifest, SelectsTablesAndColumnsAndNamesMistakes) {
  auto selection = parse_manifest("# what to collect\nos\npackages version,architecture\n\n");
  EXPECT_EQ(selection.tables.size(), 2u);
  EXPECT_EQ(selection.tables["packages"], (std::set<std::string>{"architecture", "version"}));
  EXPECT_TRUE(selection.tables["os"].empty());
  for (const auto& [text, expected] : std::vector<std::pair<std::string, std::string>>{
           {"os\nprinters\n", "line 2: unknown table 'printers'"},
           {"packages colour\n", "line 1: table 'packages' has no column 'colour'"},
           {"os\nos\n", "line 2: table 'os' listed twice"},
           {"os a b\n", "line 1: expected"},
           {"# nothing\n", "selects no table"}}) {
    try {
      parse_manifest(text);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
    }
  }
}

// The default manifest (plugins/inventory/defaults) promises every table with
// every column: a table added to sources() must be added to it too.
TEST(InventoryManifest, TheDefaultSelectsEveryTableWithEveryColumn) {
  std::ifstream file(std::string(VIGIL_SOURCE_DIR) + "/plugins/inventory/defaults/inv.manifest");
  std::stringstream text;
  text << file.rdbuf();
  ASSERT_TRUE(file) << "cannot read the default manifest";
  auto selection = parse_manifest(text.str());
  for (const Source& source : sources()) {
    ASSERT_EQ(selection.tables.count(source.table), 1u) << "the default leaves out table " << source.table;
    EXPECT_TRUE(selection.tables[source.table].empty()) << "the default narrows the columns of " << source.table;
  }
  EXPECT_EQ(selection.tables.size(), sources().size());
}

}  // namespace
}  // namespace vigil::inventory
