#include "link/identity.h"

#include "link/wire.h"

#include <ifaddrs.h>
#include <netdb.h>
#include <openssl/rand.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

namespace vigil::link {

namespace fs = std::filesystem;

namespace {

std::string first_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  return line;
}

std::string os_release_name(const fs::path& root) {
  for (const char* candidate : {"etc/os-release", "usr/lib/os-release"}) {
    std::ifstream in(root / candidate);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("PRETTY_NAME=", 0) != 0) continue;
      std::string value = line.substr(12);
      if (value.size() >= 2 && (value.front() == '"' || value.front() == '\''))
        value = value.substr(1, value.size() - 2);
      return value;
    }
  }
  return "Linux";
}

void local_ip_addresses(std::vector<std::string>& out) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return;
  for (ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr) continue;
    int family = entry->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    char text[NI_MAXHOST];
    socklen_t size = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    if (getnameinfo(entry->ifa_addr, size, text, sizeof(text), nullptr, 0, NI_NUMERICHOST) == 0) out.push_back(text);
  }
  freeifaddrs(list);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
}

}  // namespace

MachineFacts read_machine_facts(const fs::path& root) {
  MachineFacts facts;
  char hostname[256] = {};
  ::gethostname(hostname, sizeof(hostname) - 1);
  facts.hostname = hostname;
  facts.os_name = os_release_name(root);
  utsname name{};
  if (::uname(&name) == 0) {
    facts.kernel = name.release;
    facts.architecture = name.machine;
  }
  facts.machine_id = first_line(root / "etc/machine-id");
  facts.product_uuid = first_line(root / "sys/class/dmi/id/product_uuid");
  std::error_code error;
  for (const auto& interface : fs::directory_iterator(root / "sys/class/net", error)) {
    std::string mac = first_line(interface.path() / "address");
    if (mac.empty() || mac == "00:00:00:00:00:00") continue;
    facts.mac_addresses.push_back(mac);
  }
  std::sort(facts.mac_addresses.begin(), facts.mac_addresses.end());
  local_ip_addresses(facts.ip_addresses);
  std::string identity = "machine-id=" + facts.machine_id + "\nproduct-uuid=" + facts.product_uuid + "\nmacs=";
  for (const auto& mac : facts.mac_addresses) identity += mac + ",";
  facts.fingerprint = wire::sha256_hex(identity).substr(0, 32);
  return facts;
}

fs::path host_id_file(const fs::path& root, const std::string& host_id_search_dir) {
  fs::path dir = host_id_search_dir.empty() ? fs::path("etc") : fs::path(host_id_search_dir).relative_path();
  return root / dir / "vigil" / "hostid";
}

std::optional<std::string> read_host_id(const fs::path& file) {
  std::string id = first_line(file);
  if (!is_uuid(id)) return std::nullopt;
  return id;
}

Status write_host_id(const fs::path& file, const std::string& agent_id) {
  std::error_code error;
  fs::create_directories(file.parent_path(), error);
  if (error) return Error{"cannot create " + file.parent_path().string() + ": " + error.message()};
  fs::path temp = file;
  temp += ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << agent_id << "\n";
    out.flush();
    if (!out) return Error{"cannot write " + temp.string()};
  }
  fs::rename(temp, file, error);
  if (error) return Error{"cannot replace " + file.string() + ": " + error.message()};
  return Status::Ok();
}

bool is_uuid(const std::string& text) {
  static const std::regex pattern("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
  return std::regex_match(text, pattern);
}

std::string random_hex(size_t bytes) {
  std::string buffer(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(buffer.data()), static_cast<int>(buffer.size()));
  return wire::hex(buffer);
}

std::string random_uuid() {
  std::string text = random_hex(16);
  text[12] = '4';                                                     // version 4
  text[16] = "89ab"[std::stoi(text.substr(16, 1), nullptr, 16) & 3];  // RFC 4122 variant
  return text.substr(0, 8) + "-" + text.substr(8, 4) + "-" + text.substr(12, 4) + "-" + text.substr(16, 4) + "-" +
         text.substr(20);
}

}  // namespace vigil::link
