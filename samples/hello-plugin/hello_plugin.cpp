// Hello: a small scan module that shows every part of the SDK. Its manifest is
// a list of KEY=VALUE files (one path per line, '#' comments), e.g.
// /etc/os-release; it reports each file and each of its entries.
#include <vigil/plugin.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string unquote(std::string value) {
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
    return value.substr(1, value.size() - 2);
  }
  return value;
}

std::vector<std::string> manifest_paths(std::string_view manifest) {
  std::vector<std::string> paths;
  std::istringstream lines{std::string(manifest)};
  for (std::string line; std::getline(lines, line);) {
    auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    auto end = line.find_last_not_of(" \t\r");
    std::string path = line.substr(start, end - start + 1);
    if (path.front() != '/')
      throw vigil::Error("manifest: '" + path + "' is not an absolute path", VIGIL_E_INVALID_ARG);
    paths.push_back(path);
  }
  return paths;
}

class HelloPlugin : public vigil::Plugin {
 public:
  void init(vigil::Host& host) override {
    host_ = &host;
    host.set_default_cpu_limit(50);
    host.set_on_demand_key("Hello");
    host.on_manifest("hello", [this](vigil::Scan& scan, std::string_view manifest) { run(scan, manifest); });
    host.info("hello plugin ready");
  }

 private:
  void run(vigil::Scan& scan, std::string_view manifest) {
    std::vector<std::string> paths = manifest_paths(manifest);
    uint64_t done = 0;
    for (const std::string& path : paths) {
      scan.checkpoint();
      std::ifstream file(path);
      if (!file) {
        scan.emit("files", {{"path", path}}, {{"status", "unreadable"}, {"entries", "0"}});
        host_->warn("cannot read " + path);
        scan.progress(++done, paths.size());
        continue;
      }
      size_t entries = 0;
      for (std::string line; std::getline(file, line);) {
        auto equals = line.find('=');
        if (line.empty() || line[0] == '#' || equals == std::string::npos) continue;
        scan.emit("entries", {{"path", path}, {"name", line.substr(0, equals)}},
                  {{"value", unquote(line.substr(equals + 1))}});
        ++entries;
      }
      scan.emit("files", {{"path", path}}, {{"status", "read"}, {"entries", std::to_string(entries)}});
      scan.progress(++done, paths.size());
    }
    // Per-plugin state survives restarts: count the scans this agent ran.
    unsigned long runs = std::stoul(host_->state("runs").value_or("0")) + 1;
    host_->set_state("runs", std::to_string(runs));
    scan.emit("summary", {{"name", "scans_run"}}, {{"value", std::to_string(runs)}});
  }

  vigil::Host* host_ = nullptr;
};

}  // namespace

VIGIL_PLUGIN(HelloPlugin, "hello", "Hello", "1.0.0", VIGIL_MODULE_SCAN)
