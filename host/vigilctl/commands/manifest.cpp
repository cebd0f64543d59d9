// vigilctl manifest set / remove: a module's manifest, stored through vigild
// (which checks the module takes that manifest type), and removed again so
// that the plugin's default manifest is in force once more.
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include "base/file_safety.h"
#include "control_socket/control_protocol.h"
#include "link/identity.h"
#include "vigil/advisories/import.h"
#include "vigil/advisories/manifest.h"
#include "vigilctl/commands/commands.h"

namespace vigil::ctl {

using nlohmann::json;

namespace {

struct ManifestOptions {
  std::string module;
  std::string file;
  std::vector<std::string> advisories;
  std::optional<std::string> type;
  std::string version = "local";
  bool as_json = false;
};

// Advisory files (OSV, the Debian Security Tracker) as this machine's
// vm-advisories manifest: what the platform's `advisories import` publishes,
// for an agent without a platform.
Result<std::string> advisories_manifest(const Paths& paths, const std::vector<std::string>& files,
                                        std::string& summary) {
  std::string release = link::os_release_key(paths.root);
  if (release.empty()) return Error{"cannot tell this machine's OS release (no ID/VERSION_ID in os-release)"};
  std::string body = advisories::manifest_header(release);
  advisories::ImportCounts total;
  size_t taken = 0;
  try {
    for (const std::string& file : files) {
      advisories::add_counts(total, advisories::import_path(file, [&](advisories::Advisory&& advisory) {
                               if (advisory.release != release) return;
                               body += advisories::manifest_line(advisory);
                               ++taken;
                             }));
    }
  } catch (const std::invalid_argument& error) {
    return Error{error.what()};
  }
  if (taken == 0) {
    return Error{"none of the " + std::to_string(total.advisories) + " advisories read is for " + release};
  }
  summary = std::to_string(taken) + " advisories for " + release + " (" + std::to_string(total.advisories - taken) +
            " for other releases left out)";
  return body;
}

int usage_error(const std::string& message) {
  std::cerr << "vigilctl: " << message << "\n";
  return kUsageError;
}

int run_manifest_set(const Paths& paths, const ManifestOptions& options) {
  std::string body, summary;
  if (!options.advisories.empty()) {
    if (options.module != "vm") return usage_error("--advisories is for --module vm");
    auto built = advisories_manifest(paths, options.advisories, summary);
    if (!built.ok()) return fail(built.error());
    body = std::move(built.value());
  } else {
    if (options.file.empty()) return usage_error("give --file FILE (or --advisories FILE... for vm)");
    // A manifest decides what the root daemon reads, runs and reports.
    auto trusted = check_trusted(options.file, "manifest");
    if (!trusted.ok()) return fail(trusted.error());
    if (!trusted.value().empty()) std::cerr << "vigilctl: " << trusted.value() << "\n";
    std::ifstream file(options.file, std::ios::binary);
    std::ostringstream read;
    read << file.rdbuf();
    if (!file) return fail("cannot read manifest " + options.file);
    body = read.str();
  }
  json request_body = {
      {"command", "manifest_set"}, {"module", options.module}, {"body", body}, {"version", options.version}};
  if (options.type) request_body["manifest_type"] = *options.type;
  if (!options.advisories.empty()) request_body["manifest_type"] = "vm-advisories";
  std::optional<json> response;
  if (request_body.dump().size() < kMaxControlRequestBytes) {
    response = request(paths, request_body);
  } else {
    // Longer than a request line may be: in parts, each well under the bound
    // (JSON escaping can at most double a part), stored when the last arrives.
    if (body.size() > kMaxManifestBytes) {
      return fail("manifest is " + std::to_string(body.size() >> 20) + " MiB; vigild takes up to " +
                  std::to_string(kMaxManifestBytes >> 20) + " MiB");
    }
    size_t parts = (body.size() + kManifestPartBytes - 1) / kManifestPartBytes;
    request_body["upload"] = std::to_string(::getpid()) + "-" + std::to_string(std::time(nullptr));
    request_body["parts"] = parts;
    for (size_t part = 0; part < parts; ++part) {
      request_body["part"] = part;
      request_body["body"] = body.substr(part * kManifestPartBytes, kManifestPartBytes);
      response = request(paths, request_body);
      if (!response) return kRuntimeError;
    }
  }
  if (!response) return kRuntimeError;
  json stored = {
      {"module", options.module}, {"manifest_type", (*response)["manifest_type"]}, {"version", options.version}};
  if (options.as_json) {
    print_json(stored);
  } else {
    if (!summary.empty()) std::cout << summary << "\n";
    std::cout << "manifest stored: module " << options.module << ", type " << stored["manifest_type"].get<std::string>()
              << ", version " << options.version << "\n";
  }
  return kOk;
}

struct RemoveOptions {
  std::string module;
  std::string type;
  bool as_json = false;
};

int run_manifest_remove(const Paths& paths, const RemoveOptions& options) {
  json request_body = {{"command", "manifest_remove"}, {"module", options.module}};
  if (!options.type.empty()) request_body["manifest_type"] = options.type;
  auto response = request(paths, request_body);
  if (!response) return kRuntimeError;
  response->erase("ok");
  if (options.as_json) {
    print_json(*response);
    return kOk;
  }
  std::cout << "manifest removed: module " << options.module << "; now in force: ";
  if ((*response)["in_force"].is_object()) {
    std::cout << (*response)["in_force"]["source"].get<std::string>() << " manifest, version "
              << (*response)["in_force"]["version"].get<std::string>() << "\n";
  } else {
    std::cout << "none (" << response->value("no_manifest", "") << ")\n";
  }
  return kOk;
}

}  // namespace

Runner define_manifest(CLI::App& command) {
  command.require_subcommand(1);
  auto options = std::make_shared<ManifestOptions>();
  auto* set = command.add_subcommand("set", "Store FILE as the module's manifest (it may then scan)");
  set->add_option("--module,-m", options->module, "Module type, e.g. inv")->required();
  auto* file = set->add_option("--file,-f", options->file, "Manifest file")->check(CLI::ExistingFile);
  set->add_option("--advisories", options->advisories,
                  "vm only: advisory files or directories (OSV, Debian Security Tracker JSON); those for this "
                  "machine's OS release become the vm-advisories manifest")
      ->check(CLI::ExistingPath)
      ->excludes(file);
  set->add_option("--type", options->type, "Manifest type (when the module handles several)");
  set->add_option("--version", options->version, "Manifest version label")->capture_default_str();
  add_json_flag(*set, options->as_json);
  auto removing = std::make_shared<RemoveOptions>();
  auto* remove = command.add_subcommand(
      "remove", "Forget the module's manifest from vigilctl or the platform: its default manifest, if any, applies");
  remove->add_option("--module,-m", removing->module, "Module type, e.g. inv")->required();
  remove->add_option("--type", removing->type, "Manifest type (default: every type of the module)");
  add_json_flag(*remove, removing->as_json);
  return [options, removing, remove](const Paths& paths) {
    return remove->parsed() ? run_manifest_remove(paths, *removing) : run_manifest_set(paths, *options);
  };
}

}  // namespace vigil::ctl
