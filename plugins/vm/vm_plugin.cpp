// Vulnerability Management (type vm, key Vulnerability): evaluates the
// manifest's detection rules against the installed packages, the kernel and
// files, and reports one `findings` row per rule that holds. A fixed package
// makes its finding disappear from the next snapshot, so the fix travels in the delta.
#include <sys/utsname.h>
#include <vigil/plugin.hpp>

#include <fstream>

#include "vigil/packages/installed.h"
#include "vigil/vm_rules/rules.h"

namespace {

vigil::vm::Facts gather(const std::filesystem::path& root, vigil::Host& host) {
  vigil::vm::Facts facts;
  facts.root = root;
  auto installed = vigil::packages::read_installed_packages(root);
  if (installed.dpkg) {
    facts.packages["dpkg"] = vigil::packages::installed_versions(*installed.dpkg);
  } else {
    host.info("no dpkg database: " + installed.dpkg_error);
  }
  if (installed.rpm) facts.packages["rpm"] = vigil::packages::installed_versions(*installed.rpm);
  std::error_code ignored;
  utsname name{};
  if (std::filesystem::equivalent(root, "/", ignored) && ::uname(&name) == 0) {
    facts.kernel_release = name.release;
  } else {
    std::ifstream(root / "proc/sys/kernel/osrelease") >> facts.kernel_release;
  }
  return facts;
}

class VulnerabilityPlugin : public vigil::Plugin {
 public:
  void init(vigil::Host& host) override {
    host_ = &host;
    host.set_default_cpu_limit(50);
    host.set_on_demand_key("Vulnerability");
    host.declare(vigil::Setting::path("Root", "/", "the root the package databases and files are read under"));
    host.on_manifest("vm", [this](vigil::Scan& scan, std::string_view manifest) { run(scan, manifest); });
  }

 private:
  void run(vigil::Scan& scan, std::string_view manifest) {
    std::vector<vigil::vm::Rule> rules;
    try {
      rules = vigil::vm::parse_rules(manifest);
    } catch (const std::invalid_argument& error) {
      throw vigil::Error(error.what(), VIGIL_E_INVALID_ARG);
    }
    auto facts = gather(host_->setting("Root"), *host_);
    size_t done = 0, found = 0;
    for (const auto& rule : rules) {
      if (++done % 1024 == 0) {
        scan.checkpoint();
        scan.progress(done, rules.size());
      }
      auto finding = vigil::vm::evaluate(rule, facts);
      if (!finding) continue;
      ++found;
      std::string cves;
      for (const auto& cve : rule.cves) cves += (cves.empty() ? "" : ",") + cve;
      scan.emit("findings", {{"rule_id", rule.id}},
                {{"severity", std::to_string(rule.severity)},
                 {"title", rule.title},
                 {"cves", cves},
                 {"evidence", finding->evidence},
                 {"fixed_in", rule.fixed_in}});
    }
    host_->info(std::to_string(rules.size()) + " rules evaluated, " + std::to_string(found) + " findings");
  }

  vigil::Host* host_ = nullptr;
};

}  // namespace

VIGIL_PLUGIN(VulnerabilityPlugin, "vm", "Vulnerability Management", "0.1.0", VIGIL_MODULE_SCAN)
