#include "link/identity.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "vigil/crypto/digest.h"
#include "vigil/crypto/random.h"
#include "vigil/machine/machine.h"

namespace vigil::link {

namespace fs = std::filesystem;

std::string os_release_key(const fs::path& root) {
  auto release = machine::read_os_release(root);
  return release ? machine::release_key(*release) : "";
}

MachineFacts read_machine_facts(const fs::path& root) {
  MachineFacts facts;
  char hostname[256] = {};
  ::gethostname(hostname, sizeof(hostname) - 1);
  facts.hostname = hostname;
  auto release = machine::read_os_release(root);
  facts.os_name = release && release->count("PRETTY_NAME") ? release->at("PRETTY_NAME") : "Linux";
  utsname name{};
  if (::uname(&name) == 0) {
    facts.kernel = name.release;
    facts.architecture = name.machine;
  }
  facts.machine_id = machine::first_line(root / "etc/machine-id");
  facts.product_uuid = machine::first_line(root / "sys/class/dmi/id/product_uuid");
  std::error_code error;
  for (const auto& interface : fs::directory_iterator(root / "sys/class/net", error)) {
    std::string mac = machine::first_line(interface.path() / "address");
    if (mac.empty() || mac == "00:00:00:00:00:00") continue;
    facts.mac_addresses.push_back(mac);
  }
  std::sort(facts.mac_addresses.begin(), facts.mac_addresses.end());
  for (const auto& address : machine::interface_addresses()) facts.ip_addresses.push_back(address.address);
  std::sort(facts.ip_addresses.begin(), facts.ip_addresses.end());
  facts.ip_addresses.erase(std::unique(facts.ip_addresses.begin(), facts.ip_addresses.end()), facts.ip_addresses.end());
  std::string identity = "machine-id=" + facts.machine_id + "\nproduct-uuid=" + facts.product_uuid + "\nmacs=";
  for (const auto& mac : facts.mac_addresses) identity += mac + ",";
  facts.fingerprint = crypto::sha256_hex(identity).substr(0, 32);
  return facts;
}

fs::path host_id_file(const fs::path& root, const std::string& host_id_search_dir) {
  fs::path dir = host_id_search_dir.empty() ? fs::path("etc") : fs::path(host_id_search_dir).relative_path();
  return root / dir / "vigil" / "hostid";
}

std::optional<std::string> read_host_id(const fs::path& file) {
  std::string id = machine::first_line(file);
  if (!crypto::is_uuid(id)) return std::nullopt;
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

}  // namespace vigil::link
