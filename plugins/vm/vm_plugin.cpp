// Vulnerability Management (key Vulnerability), two manifest types:
//   - vm: detection rules against the installed packages, the kernel and
//     files; one `findings` row per rule that holds;
//   - vm-advisories: a release's security advisories (lib/advisories); one
//     `vulnerabilities` row per advisory and installed package it affects.
// A fixed package makes its row disappear from the next snapshot, so the fix
// travels in the delta.
#include <sys/utsname.h>
#include <vigil/plugin.hpp>

#include <fstream>

#include "vigil/advisories/manifest.h"
#include "vigil/advisories/match.h"
#include "vigil/machine/machine.h"
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
    host.declare(
        vigil::Setting::path("Root", "/", "the root the package databases, os-release and files are read under"));
    host.on_manifest("vm", [this](vigil::Scan& scan, std::string_view manifest) { run(scan, manifest); });
    host.on_manifest("vm-advisories",
                     [this](vigil::Scan& scan, std::string_view manifest) { run_advisories(scan, manifest); });
  }

 private:
  void run_advisories(vigil::Scan& scan, std::string_view manifest) {
    namespace adv = vigil::advisories;
    std::filesystem::path root = host_->setting("Root");
    auto os_release = vigil::machine::read_os_release(root);
    std::string here = os_release ? vigil::machine::release_key(*os_release) : "";
    if (here.empty()) throw vigil::Error("cannot tell this machine's OS release (no ID/VERSION_ID in os-release)");
    auto installed = vigil::packages::read_installed_packages(root);
    adv::InstalledIndex index(installed);
    if (index.size() == 0) {
      throw vigil::Error("no installed packages could be read: " + installed.dpkg_error + "; " + installed.rpm_error);
    }
    size_t affected = 0, seen = 0;
    adv::ManifestInfo info;
    try {
      // Advisories for another release would compare against the wrong versions: an error, never findings.
      if (std::string release = adv::manifest_release(manifest); release != here) {
        throw vigil::Error("the advisories are for " + release + ", this machine is " + here, VIGIL_E_INVALID_ARG);
      }
      // Only the lines naming an installed package are read whole; every line is checked.
      info = adv::read_manifest(
          manifest,
          [&](std::string_view manager, bool by_source, std::string_view package) {
            if (++seen % 4096 == 0) scan.checkpoint();
            return index.has(manager, by_source, package);
          },
          [&](adv::Advisory&& advisory) {
            for (const adv::Finding& finding : adv::findings(advisory, index)) {
              ++affected;
              std::string cves, references;
              for (const auto& cve : advisory.cves) cves += (cves.empty() ? "" : ",") + cve;
              for (const auto& url : advisory.references) references += (references.empty() ? "" : " ") + url;
              scan.emit("vulnerabilities", {{"advisory", advisory.id}, {"package", finding.package->name}},
                        {{"severity", advisory.severity},
                         {"cves", cves},
                         {"installed_version", finding.package->version},
                         {"source", finding.package->source},
                         {"source_version", finding.package->source_version},
                         {"fixed_version", finding.fixed()},
                         {"fix", finding.fixed().empty()
                                     ? "not fixed yet" +
                                           (advisory.unfixed.empty() ? std::string() : " (" + advisory.unfixed + ")")
                                     : "fixed in " + finding.fixed()},
                         {"evidence", finding.evidence(advisory)},
                         {"references", references},
                         {"cvss", advisory.cvss},
                         {"summary", advisory.summary}});
            }
          });
    } catch (const std::invalid_argument& error) {
      throw vigil::Error(error.what(), VIGIL_E_INVALID_ARG);
    }
    // An empty list would pass every package: say there is nothing to check against.
    if (info.advisories == 0) {
      throw vigil::Error("no advisories for " + info.release + " in the manifest: import some for this release",
                         VIGIL_E_INVALID_ARG);
    }
    host_->info(std::to_string(info.advisories) + " advisories for " + info.release + " checked against " +
                std::to_string(index.size()) + " installed packages: " + std::to_string(affected) + " affected");
  }

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
