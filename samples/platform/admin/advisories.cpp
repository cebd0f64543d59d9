// admin advisories: security advisories imported (OSV, the Debian Security
// Tracker) and published as the VM module's vm-advisories manifest, one body
// per OS release (docs/vulnerability-management.md).
#include <iostream>
#include <memory>

#include "admin.h"
#include "vigil/advisories/import.h"
#include "vigil/advisories/manifest.h"
#include "vigil/crypto/digest.h"

namespace vigil::platform::admin {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kModule = "vm";
constexpr const char* kType = "vm-advisories";

// Rebuilds each release's manifest from the table and moves the one version
// every agent compares: an import for any release makes agents fetch theirs.
json publish(PlatformStore& store) {
  json releases = json::object();
  std::string digests;
  for (const auto& [release, count] : store.advisory_releases()) {
    std::string body = advisories::manifest_header(release);
    store.advisory_lines(release, [&](const std::string& line) { body += line; });
    store.put_release_manifest({kModule, kType, "", body}, release);
    digests += release + " " + crypto::sha256_hex(body) + "\n";
    releases[release] = count;
  }
  std::string version = "adv-" + crypto::sha256_hex(digests).substr(0, 12);
  store.put_manifest({kModule, kType, version, ""});
  return {{"version", version}, {"releases", releases}};
}

}  // namespace

Runner define_advisories(CLI::App& command) {
  struct Options {
    std::string action;
    std::vector<std::string> paths;
  };
  auto options = std::make_shared<Options>();
  command.require_subcommand(1);
  auto* import = command.add_subcommand(
      "import", "import advisories (OSV files or directories, the Debian Security Tracker's JSON) and publish them");
  import->add_option("paths", options->paths, "files or directories (their *.json files)")
      ->required()
      ->check(CLI::ExistingPath);
  import->footer(
      "The format is told from each file. All or nothing: a malformed advisory fails the import naming the file,\n"
      "advisory id and field, and nothing is published. Advisories of ecosystems whose packages agents do not read\n"
      "(PyPI, ...) and withdrawn ones are counted under \"skipped\".\n"
      "Example: vigil-platform admin advisories import osv-debian/ debian-tracker.json");
  command.add_subcommand("list", "releases with advisories, how many each, the published version")->callback([options] {
    options->action = "list";
  });
  import->callback([options] { options->action = "import";
});
return [options](const fs::path& data) {
  PlatformStore store = open_store(data);
  if (options->action == "list") {
    json releases = json::object();
    for (const auto& [release, count] : store.advisory_releases()) releases[release] = count;
    auto published = store.manifest(kModule, kType);
    std::cout << json{{"version", published ? published->version : ""}, {"releases", releases}}.dump() << "\n";
    return;
  }
  sqlite::Transaction transaction(store.db());
  PlatformStore::AdvisoryWriter writer(store);
  advisories::ImportCounts total;
  for (const std::string& path : options->paths) {
    advisories::add_counts(total, advisories::import_path(path, [&](advisories::Advisory&& advisory) {
                             writer.put(advisory.release, advisory.id, advisory.manager, advisory.package,
                                        advisories::manifest_line(advisory));
                           }));
  }
  json published = publish(store);
  transaction.commit();
  std::cout << json{{"imported", total.advisories},
                    {"skipped", total.skipped},
                    {"version", published["version"]},
                    {"releases", published["releases"]}}
                   .dump()
            << "\n";
};
}  // namespace vigil::platform::admin

}  // namespace vigil::platform::admin
