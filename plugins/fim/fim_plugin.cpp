// File Integrity Monitoring (type fim, key FIM), scanning: each scan walks
// the manifest's paths and records every file's metadata and content hash in
// the `files` table, so the delta between scans is what changed (created,
// deleted, modified, attributes). Real-time events are not built yet.
#include <vigil/plugin.hpp>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "baseline.h"

namespace {

std::string octal(uint32_t mode) {
  char text[8];
  std::snprintf(text, sizeof(text), "%04o", mode);
  return text;
}

class FimPlugin : public vigil::Plugin {
 public:
  void init(vigil::Host& host) override {
    host_ = &host;
    host.set_default_cpu_limit(50);
    host.set_on_demand_key("FIM");
    host.on_manifest("fim", [this](vigil::Scan& scan, std::string_view manifest) { run(scan, manifest); });
  }

 private:
  void run(vigil::Scan& scan, std::string_view text) {
    vigil::fim::Manifest manifest;
    try {
      manifest = vigil::fim::parse_manifest(text);
    } catch (const vigil::fim::ManifestError& error) {
      throw vigil::Error(error.what(), VIGIL_E_INVALID_ARG);
    }
    std::filesystem::path root = host_->config("Root").value_or("/");
    auto records = vigil::fim::collect(manifest, root);
    // The host holds the scan thread to the module's CPU limit; extra hashing
    // threads are outside it, so they are opt-in (fim.HashThreads).
    unsigned threads = 1;
    if (auto configured = host_->config("HashThreads")) {
      threads = static_cast<unsigned>(std::clamp(std::atoi(configured->c_str()), 1, 64));
    }
    vigil::fim::hash_files(records, root, manifest.algorithm, threads, [&](size_t done, size_t total) {
      scan.checkpoint();
      if (done % 256 == 0 || done == total) scan.progress(done, total);
    });
    size_t errors = 0;
    for (const auto& record : records) {
      const auto& wanted = record.watch->attributes;
      auto has = [&](const char* attribute) {
        return std::find(wanted.begin(), wanted.end(), attribute) != wanted.end();
      };
      std::vector<vigil::Column> values = {{"type", record.type}, {"severity", record.watch->severity}};
      std::string size = std::to_string(record.size), mode = octal(record.mode), uid = std::to_string(record.uid),
                  gid = std::to_string(record.gid), mtime = std::to_string(record.mtime_ns),
                  ctime = std::to_string(record.ctime_ns), inode = std::to_string(record.inode);
      if (record.type != "missing") {
        if (has("size") && record.type == "file") values.push_back({"size", size});
        if (has("mode")) values.push_back({"mode", mode});
        if (has("owner")) values.push_back({"uid", uid});
        if (has("group")) values.push_back({"gid", gid});
        if (has("mtime")) values.push_back({"mtime_ns", mtime});
        if (has("ctime")) values.push_back({"ctime_ns", ctime});
        if (has("inode")) values.push_back({"inode", inode});
        if (!record.hash.empty()) values.push_back({manifest.algorithm, record.hash});
        if (!record.target.empty()) values.push_back({"target", record.target});
      }
      if (!record.error.empty()) {
        values.push_back({"error", record.error});
        ++errors;
      }
      scan.emit("files", {{"path", record.path}}, values);
    }
    host_->info(std::to_string(records.size()) + " paths recorded, " + std::to_string(errors) + " unreadable");
  }

  vigil::Host* host_ = nullptr;
};

}  // namespace

VIGIL_PLUGIN(FimPlugin, "fim", "File Integrity Monitoring", "0.1.0", VIGIL_MODULE_SCAN)
