// Facts about the machine read from the files the system keeps under a root
// ("/" on a machine, a temp dir in tests), and its network addresses.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vigil::machine {

// The first line of `file` without trailing blanks; empty when it cannot be read.
std::string first_line(const std::filesystem::path& file);

// KEY=value pairs of <root>/etc/os-release, or of <root>/usr/lib/os-release
// when there is none (os-release(5)), values unquoted; nullopt when neither
// can be read.
std::optional<std::map<std::string, std::string>> read_os_release(const std::filesystem::path& root);

// The release key of os-release fields, as advisories are published per
// release: "<ID>:<major>" for the RPM family (VERSION_ID 9.3 -> rhel:9),
// "<ID>:<VERSION_ID>" otherwise (debian:12, ubuntu:22.04); "" when ID or
// VERSION_ID is missing (Debian sid has none).
std::string release_key(const std::map<std::string, std::string>& os_release);

struct InterfaceAddress {
  std::string interface;  // e.g. "eth0"
  std::string address;    // numeric, without an IPv6 "%scope"
  int prefix_length = 0;  // bits set in the netmask
  bool ipv6 = false;
};

// The IPv4 and IPv6 addresses of this machine's interfaces (getifaddrs), in
// the kernel's order. Live machine only: no root applies.
std::vector<InterfaceAddress> interface_addresses();

}  // namespace vigil::machine
