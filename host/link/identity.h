// Who this machine is: the facts sent at provisioning and the fingerprint that
// tells a clone from its original (machine-id, DMI product UUID, MAC set).
// Everything is read under the agent's root, so tests fake a clone by
// writing <root>/etc/machine-id.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "vigil/result/result.h"

namespace vigil::link {

struct MachineFacts {
  std::string hostname;
  std::string os_name;
  std::string kernel;
  std::string architecture;
  std::string machine_id;
  std::string product_uuid;
  std::vector<std::string> mac_addresses;  // sorted, without loopback and all-zero ones
  std::vector<std::string> ip_addresses;
  std::string fingerprint;  // SHA-256 over machine_id, product_uuid and the MACs, first 32 hex digits
};

MachineFacts read_machine_facts(const std::filesystem::path& root);
// The release key of the os-release file under `root` (machine::release_key), "" when unknown.
std::string os_release_key(const std::filesystem::path& root);

// The host id file: <root><HostIdSearchDir>/vigil/hostid, one line, the agent id.
std::filesystem::path host_id_file(const std::filesystem::path& root, const std::string& host_id_search_dir);
std::optional<std::string> read_host_id(const std::filesystem::path& file);
// Written via a temp file and rename, mode 0644 (the id is not a secret).
Status write_host_id(const std::filesystem::path& file, const std::string& agent_id);

}  // namespace vigil::link
