// Inventory (type inv, key Inventory): what a machine is and runs — OS,
// hardware, interfaces, names, packages, users, groups, kernel modules,
// mounts, listening ports — read from the real system through the SDK only.
#include <vigil/plugin.hpp>

#include <set>
#include <stdexcept>

#include "vigil/inventory/manifest.h"
#include "vigil/inventory/sources.h"

namespace {

class InventoryPlugin : public vigil::Plugin {
 public:
  void init(vigil::Host& host) override {
    host_ = &host;
    host.set_default_cpu_limit(50);
    host.set_on_demand_key("Inventory");
    host.declare(vigil::Setting::path("Root", "/", "the root the package databases and files are read under"));
    host.on_manifest("inv", [this](vigil::Scan& scan, std::string_view manifest) { run(scan, manifest); });
  }

 private:
  void run(vigil::Scan& scan, std::string_view manifest) {
    vigil::inventory::Selection selection;
    try {
      selection = vigil::inventory::parse_manifest(manifest);
    } catch (const std::invalid_argument& error) {
      throw vigil::Error(error.what(), VIGIL_E_INVALID_ARG);
    }
    // The root is "/" unless the configuration moves it (tests, offline images).
    std::string root = host_->setting("Root");
    uint64_t done = 0;
    for (const auto& source : vigil::inventory::sources()) {
      auto selected = selection.tables.find(source.table);
      if (selected == selection.tables.end()) continue;
      scan.checkpoint();
      auto table = source.read(root);
      for (const auto& note : table.notes) host_->info(source.table + ": " + note);
      // A key seen twice (stacked mounts, SO_REUSEPORT listeners) is one row: the first.
      std::set<vigil::inventory::Fields> seen;
      size_t merged = 0;
      for (const auto& row : table.rows) {
        if (!seen.insert(row.keys).second) {
          ++merged;
          continue;
        }
        std::vector<vigil::Column> keys, values;
        for (const auto& [name, value] : row.keys) keys.push_back({name, value});
        for (const auto& [name, value] : row.values) {
          if (selected->second.empty() || selected->second.count(name) > 0) values.push_back({name, value});
        }
        scan.emit(source.table, keys, values);
      }
      if (merged > 0) host_->info(source.table + ": " + std::to_string(merged) + " rows with a repeated key merged");
      scan.progress(++done, selection.tables.size());
    }
  }

  vigil::Host* host_ = nullptr;
};

}  // namespace

VIGIL_PLUGIN(InventoryPlugin, "inv", "Inventory", "0.1.0", VIGIL_MODULE_SCAN)
