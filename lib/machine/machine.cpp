#include "vigil/machine/machine.h"

#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>

#include <fstream>
#include <set>

#include "vigil/text/text.h"

namespace vigil::machine {

namespace fs = std::filesystem;

std::string first_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  return line;
}

std::optional<std::map<std::string, std::string>> read_os_release(const fs::path& root) {
  for (const char* candidate : {"etc/os-release", "usr/lib/os-release"}) {
    std::ifstream in(root / candidate);
    if (!in) continue;
    std::map<std::string, std::string> release;
    for (std::string line; std::getline(in, line);) {
      auto equals = line.find('=');
      if (equals != std::string::npos && line[0] != '#')
        release[line.substr(0, equals)] = unquote(line.substr(equals + 1));
    }
    return release;
  }
  return std::nullopt;
}

namespace {

int prefix_length(const sockaddr* netmask) {
  if (netmask == nullptr) return 0;
  const unsigned char* bytes = nullptr;
  int size = 0;
  if (netmask->sa_family == AF_INET) {
    bytes = reinterpret_cast<const unsigned char*>(&reinterpret_cast<const sockaddr_in*>(netmask)->sin_addr);
    size = 4;
  } else if (netmask->sa_family == AF_INET6) {
    bytes = reinterpret_cast<const unsigned char*>(&reinterpret_cast<const sockaddr_in6*>(netmask)->sin6_addr);
    size = 16;
  }
  int bits = 0;
  for (int i = 0; i < size; ++i) bits += __builtin_popcount(bytes[i]);
  return bits;
}

}  // namespace

std::string release_key(const std::map<std::string, std::string>& os_release) {
  auto id = os_release.find("ID");
  auto version = os_release.find("VERSION_ID");
  if (id == os_release.end() || version == os_release.end() || id->second.empty() || version->second.empty()) {
    return "";
  }
  // The RPM family's advisories are per major release: 9.3 is still 9.
  static const std::set<std::string> by_major = {"rhel", "almalinux", "rocky", "centos", "ol"};
  std::string number = version->second;
  if (by_major.count(id->second) > 0) number = number.substr(0, number.find('.'));
  return id->second + ":" + number;
}

std::vector<InterfaceAddress> interface_addresses() {
  std::vector<InterfaceAddress> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr) continue;
    int family = entry->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    char text[NI_MAXHOST];
    socklen_t size = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    if (getnameinfo(entry->ifa_addr, size, text, sizeof(text), nullptr, 0, NI_NUMERICHOST) != 0) continue;
    std::string address = text;
    if (auto percent = address.find('%'); percent != std::string::npos) address.erase(percent);
    // The netmask has the address's family; prefix_length reads it by its own.
    out.push_back({entry->ifa_name, address, prefix_length(entry->ifa_netmask), family == AF_INET6});
  }
  freeifaddrs(list);
  return out;
}

}  // namespace vigil::machine
