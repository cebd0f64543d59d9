#include "vigil/inventory/sources.h"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "vigil/accounts/accounts.h"
#include "vigil/machine/machine.h"
#include "vigil/packages/installed.h"
#include "vigil/packages/rpm_database.h"

namespace vigil::inventory {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_of(const fs::path& file, bool* readable = nullptr) {
  std::ifstream in(file);
  if (readable != nullptr) *readable = static_cast<bool>(in);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

using machine::first_line;

bool live(const fs::path& root) {
  std::error_code error;
  return fs::equivalent(root, "/", error);
}

TableRows os(const fs::path& root) {
  auto read = machine::read_os_release(root);
  std::map<std::string, std::string> release = read.value_or(std::map<std::string, std::string>());
  TableRows out;
  if (!read) out.notes.push_back("no os-release file under " + root.string());
  Row row{{{"id", release.count("ID") ? release["ID"] : "linux"}}, {}};
  row.values = {{"name", release["NAME"]},
                {"version", release["VERSION_ID"]},
                {"codename", release["VERSION_CODENAME"]},
                {"pretty_name", release["PRETTY_NAME"]}};
  utsname name{};
  if (live(root) && ::uname(&name) == 0) {
    row.values.push_back({"kernel_release", name.release});
    row.values.push_back({"kernel_version", name.version});
    row.values.push_back({"architecture", name.machine});
  } else {
    row.values.push_back({"kernel_release", first_line(root / "proc/sys/kernel/osrelease")});
    row.values.push_back({"kernel_version", first_line(root / "proc/sys/kernel/version")});
    row.values.push_back({"architecture", ""});
  }
  std::string boot;
  for (const auto& line : lines_of(root / "proc/stat")) {
    if (line.rfind("btime ", 0) == 0) boot = line.substr(6);
  }
  row.values.push_back({"boot_time", boot});
  out.rows.push_back(std::move(row));
  return out;
}

TableRows hardware(const fs::path& root) {
  TableRows out;
  std::string model;
  int cores = 0;
  for (const auto& line : lines_of(root / "proc/cpuinfo")) {
    if (line.rfind("processor", 0) == 0) ++cores;
    if (model.empty() && line.rfind("model name", 0) == 0) model = line.substr(line.find(':') + 2);
  }
  std::string memory;
  for (const auto& line : lines_of(root / "proc/meminfo")) {
    if (line.rfind("MemTotal:", 0) == 0) {
      std::istringstream words(line.substr(9));
      long kib = 0;
      words >> kib;
      memory = std::to_string(kib * 1024L);
    }
  }
  Row row{{{"component", "system"}}, {}};
  row.values = {{"cpu_model", model}, {"cpu_cores", std::to_string(cores)}, {"memory_bytes", memory}};
  for (const char* field : {"sys_vendor", "product_name", "product_serial", "product_uuid"}) {
    fs::path file = root / "sys/class/dmi/id" / field;
    std::string value = first_line(file);
    if (value.empty() && fs::exists(file))
      out.notes.push_back(std::string("DMI ") + field + " not readable (needs root)");
    row.values.push_back({std::string(field == std::string("sys_vendor") ? "vendor" : field), value});
  }
  out.rows.push_back(std::move(row));
  return out;
}

TableRows network_interfaces(const fs::path& root) {
  TableRows out;
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> addresses;  // name -> (address, prefix)
  if (live(root)) {
    for (const auto& entry : machine::interface_addresses()) {
      addresses[entry.interface].push_back({entry.address, std::to_string(entry.prefix_length)});
    }
  }
  std::error_code error;
  for (const auto& interface : fs::directory_iterator(root / "sys/class/net", error)) {
    std::string name = interface.path().filename();
    Fields common = {{"mac", first_line(interface.path() / "address")},
                     {"state", first_line(interface.path() / "operstate")},
                     {"mtu", first_line(interface.path() / "mtu")}};
    auto& list = addresses[name];
    if (list.empty()) list.push_back({"", ""});
    for (const auto& [address, prefix] : list) {
      Row row{{{"name", name}, {"address", address}}, common};
      row.values.push_back({"prefix", prefix});
      row.values.push_back({"family", address.empty() ? "" : address.find(':') != std::string::npos ? "ipv6" : "ipv4"});
      out.rows.push_back(std::move(row));
    }
  }
  if (error) out.notes.push_back("no " + (root / "sys/class/net").string() + ": " + error.message());
  return out;
}

TableRows names(const fs::path& root) {
  TableRows out;
  std::string hostname = first_line(root / "etc/hostname");
  if (live(root)) {
    char buffer[256] = {};
    if (::gethostname(buffer, sizeof(buffer) - 1) == 0) hostname = buffer;
  }
  out.rows.push_back({{{"kind", "hostname"}, {"value", hostname}}, {}});
  // The FQDN as /etc/hosts gives it (no DNS query from a scan).
  for (const auto& line : lines_of(root / "etc/hosts")) {
    std::istringstream words(line.substr(0, line.find('#')));
    std::string address, canonical, alias;
    if (!(words >> address >> canonical)) continue;
    bool names_us = canonical.rfind(hostname + ".", 0) == 0 || canonical == hostname;
    while (words >> alias) names_us |= alias == hostname;
    if (names_us && canonical.find('.') != std::string::npos) {
      out.rows.push_back({{{"kind", "fqdn"}, {"value", canonical}}, {}});
      break;
    }
  }
  bool readable = false;
  for (const auto& line : lines_of(root / "etc/resolv.conf", &readable)) {
    std::istringstream words(line);
    std::string keyword, value;
    words >> keyword;
    if (keyword == "nameserver" && words >> value) out.rows.push_back({{{"kind", "dns_server"}, {"value", value}}, {}});
    if (keyword == "search" || keyword == "domain") {
      while (words >> value) out.rows.push_back({{{"kind", "dns_search"}, {"value", value}}, {}});
    }
  }
  if (!readable) out.notes.push_back("no resolv.conf under " + root.string());
  return out;
}

TableRows packages(const fs::path& root) {
  TableRows out;
  auto installed = packages::read_installed_packages(root);
  if (installed.rpm) {
    for (const auto& package : *installed.rpm) {
      // The source package by name and version, as dpkg's rows give it (RPM advisories compare binaries).
      auto [source, source_version] = packages::split_source_rpm(package.source_rpm);
      out.rows.push_back({{{"manager", "rpm"}, {"name", package.name + "." + package.architecture}},
                          {{"version", package.evr},
                           {"architecture", package.architecture},
                           {"source", source.empty() ? package.source_rpm : source},
                           {"source_version", source_version},
                           {"install_time", std::to_string(package.install_time)}}});
    }
  } else {
    out.notes.push_back(installed.rpm_error);
  }
  if (!installed.dpkg) {
    out.notes.push_back("no dpkg database: " + installed.dpkg_error);
    return out;
  }
  for (const auto& problem : installed.dpkg->problems) out.notes.push_back("dpkg status: " + problem);
  for (const auto& package : installed.dpkg->packages) {
    if (!package.installed()) continue;
    // dpkg leaves no install date; the file list it writes at install is the closest.
    std::string installed;
    struct stat info {};
    for (const std::string& list :
         {package.package + ":" + package.architecture + ".list", package.package + ".list"}) {
      if (::stat((root / "var/lib/dpkg/info" / list).c_str(), &info) == 0) {
        installed = std::to_string(info.st_mtime);
        break;
      }
    }
    out.rows.push_back({{{"manager", "dpkg"}, {"name", package.name}},
                        {{"version", package.version},
                         {"architecture", package.architecture},
                         {"source", package.source},
                         {"source_version", package.source_version},
                         {"install_time", installed}}});
  }
  return out;
}

TableRows colon_file(const fs::path& file, const std::vector<std::string>& value_columns,
                     const std::vector<size_t>& fields) {
  TableRows out;
  auto records = accounts::read_records(file);
  if (!records) out.notes.push_back("cannot read " + file.string());
  for (const auto& parts : records.value_or(std::vector<accounts::Record>())) {
    if (parts[0].starts_with("#")) continue;
    if (parts.size() <= *std::max_element(fields.begin(), fields.end())) continue;
    Row row{{{"name", parts[0]}}, {}};
    for (size_t i = 0; i < value_columns.size(); ++i) row.values.push_back({value_columns[i], parts[fields[i]]});
    out.rows.push_back(std::move(row));
  }
  return out;
}

TableRows users(const fs::path& root) {
  return colon_file(root / "etc/passwd", {"uid", "gid", "gecos", "home", "shell"}, {2, 3, 4, 5, 6});
}

TableRows groups(const fs::path& root) {
  return colon_file(root / "etc/group", {"gid", "members"}, {2, 3});
}

TableRows kernel_modules(const fs::path& root) {
  TableRows out;
  bool readable = false;
  for (const auto& line : lines_of(root / "proc/modules", &readable)) {
    std::istringstream words(line);
    std::string name, size, instances, used_by, state;
    if (!(words >> name >> size >> instances >> used_by >> state)) continue;
    if (used_by == "-") used_by.clear();
    if (!used_by.empty() && used_by.back() == ',') used_by.pop_back();
    out.rows.push_back({{{"name", name}}, {{"size", size}, {"used_by", used_by}, {"state", state}}});
  }
  if (!readable) out.notes.push_back("no /proc/modules (no module support or no /proc)");
  return out;
}

TableRows mounts(const fs::path& root) {
  TableRows out;
  bool readable = false;
  for (const auto& line : lines_of(root / "proc/mounts", &readable)) {
    std::istringstream words(line);
    std::string device, point, type, options;
    if (!(words >> device >> point >> type >> options)) continue;
    out.rows.push_back({{{"mount_point", point}, {"device", device}}, {{"type", type}, {"options", options}}});
  }
  if (!readable) out.notes.push_back("no /proc/mounts");
  return out;
}

// "0100007F:1F90" (little-endian IPv4 or 4 little-endian words of IPv6) -> "127.0.0.1", "8080".
std::pair<std::string, std::string> socket_address(const std::string& text, bool ipv6) {
  auto colon = text.find(':');
  if (colon == std::string::npos) return {};
  std::string hex = text.substr(0, colon);
  unsigned char bytes[16] = {};
  size_t words = ipv6 ? 4 : 1;
  if (hex.size() != words * 8) return {};
  for (size_t w = 0; w < words; ++w) {
    uint32_t word = static_cast<uint32_t>(std::stoul(hex.substr(w * 8, 8), nullptr, 16));
    for (int b = 0; b < 4; ++b) bytes[w * 4 + b] = static_cast<unsigned char>(word >> (8 * b));
  }
  char address[INET6_ADDRSTRLEN] = {};
  inet_ntop(ipv6 ? AF_INET6 : AF_INET, bytes, address, sizeof(address));
  return {address, std::to_string(std::stoul(text.substr(colon + 1), nullptr, 16))};
}

TableRows listening_ports(const fs::path& root) {
  TableRows out;
  // Which process owns each socket inode, where /proc lets us look.
  std::map<std::string, std::pair<std::string, std::string>> owners;  // inode -> (pid, process)
  std::error_code error;
  for (const auto& process : fs::directory_iterator(root / "proc", error)) {
    std::string pid = process.path().filename();
    if (pid.empty() || !std::all_of(pid.begin(), pid.end(), ::isdigit)) continue;
    std::error_code fd_error;
    for (const auto& fd : fs::directory_iterator(process.path() / "fd", fd_error)) {
      std::error_code link_error;
      std::string target = fs::read_symlink(fd.path(), link_error).string();
      if (target.rfind("socket:[", 0) == 0) {
        owners[target.substr(8, target.size() - 9)] = {pid, first_line(process.path() / "comm")};
      }
    }
  }
  for (const auto& [file, protocol, listen_state] : std::vector<std::tuple<const char*, const char*, const char*>>{
           {"tcp", "tcp", "0A"}, {"tcp6", "tcp6", "0A"}, {"udp", "udp", "07"}, {"udp6", "udp6", "07"}}) {
    bool ipv6 = std::string(protocol).back() == '6';
    auto lines = lines_of(root / "proc/net" / file);
    for (size_t i = 1; i < lines.size(); ++i) {
      std::istringstream words(lines[i]);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      if (!(words >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode)) {
        continue;
      }
      if (state != listen_state) continue;
      auto [address, port] = socket_address(local, ipv6);
      if (address.empty()) continue;
      auto owner = owners.find(inode);
      out.rows.push_back({{{"protocol", protocol}, {"address", address}, {"port", port}},
                          {{"uid", uid},
                           {"pid", owner == owners.end() ? "" : owner->second.first},
                           {"process", owner == owners.end() ? "" : owner->second.second}}});
    }
  }
  if (owners.empty()) out.notes.push_back("socket owners not readable (other users' processes need root)");
  return out;
}

// systemd service units from their unit files: where each comes from and
// whether it is enabled (a link in some *.wants/ or *.requires/), masked (a
// link to /dev/null in /etc) or neither. Works without a running systemd.
TableRows services(const fs::path& root) {
  TableRows out;
  std::map<std::string, std::pair<std::string, std::string>> units;  // name -> (path, state)
  // Earlier directories override later ones, as systemd reads them.
  const std::vector<std::string> dirs = {"etc/systemd/system", "run/systemd/system", "usr/local/lib/systemd/system",
                                         "usr/lib/systemd/system", "lib/systemd/system"};
  std::set<std::string> enabled;
  for (const auto& dir : dirs) {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(root / dir, error)) {
      std::string name = entry.path().filename();
      bool wants = name.size() > 6 && (name.ends_with(".wants") || name.ends_with(".requires"));
      if (wants) {
        std::error_code inner;
        for (const auto& link : fs::directory_iterator(entry.path(), inner)) enabled.insert(link.path().filename());
        continue;
      }
      if (!name.ends_with(".service") || units.count(name) > 0) continue;
      std::error_code link_error;
      bool masked = fs::is_symlink(entry.symlink_status()) && fs::read_symlink(entry.path(), link_error) == "/dev/null";
      units[name] = {"/" + dir + "/" + name, masked ? "masked" : ""};
    }
  }
  if (units.empty()) out.notes.push_back("no systemd unit files under " + root.string());
  for (auto& [name, unit] : units) {
    std::string state = unit.second;
    if (state.empty()) state = enabled.count(name) > 0 ? "enabled" : "disabled";
    out.rows.push_back({{{"name", name}}, {{"unit_file", unit.first}, {"state", state}}});
  }
  return out;
}

}  // namespace

const std::vector<Source>& sources() {
  static const std::vector<Source> all = {
      {"os",
       {"id"},
       {"name", "version", "codename", "pretty_name", "kernel_release", "kernel_version", "architecture", "boot_time"},
       os},
      {"hardware",
       {"component"},
       {"cpu_model", "cpu_cores", "memory_bytes", "vendor", "product_name", "product_serial", "product_uuid"},
       hardware},
      {"network_interfaces", {"name", "address"}, {"mac", "state", "mtu", "prefix", "family"}, network_interfaces},
      {"names", {"kind", "value"}, {}, names},
      {"packages",
       {"manager", "name"},
       {"version", "architecture", "source", "source_version", "install_time"},
       packages},
      {"services", {"name"}, {"unit_file", "state"}, services},
      {"users", {"name"}, {"uid", "gid", "gecos", "home", "shell"}, users},
      {"groups", {"name"}, {"gid", "members"}, groups},
      {"kernel_modules", {"name"}, {"size", "used_by", "state"}, kernel_modules},
      {"mounts", {"mount_point", "device"}, {"type", "options"}, mounts},
      {"listening_ports", {"protocol", "address", "port"}, {"uid", "pid", "process"}, listening_ports},
  };
  return all;
}

}  // namespace vigil::inventory
