// vigilctl manifest set / remove: a module's manifest, stored through vigild
// (which checks the module takes that manifest type), and removed again so
// that the plugin's default manifest is in force once more.
#include <fstream>
#include <iostream>
#include <sstream>

#include "base/file_safety.h"
#include "vigilctl/commands/commands.h"

namespace vigil::ctl {

using nlohmann::json;

namespace {

struct ManifestOptions {
  std::string module;
  std::string file;
  std::optional<std::string> type;
  std::string version = "local";
  bool as_json = false;
};

int run_manifest_set(const Paths& paths, const ManifestOptions& options) {
  // A manifest decides what the root daemon reads, runs and reports.
  auto trusted = check_trusted(options.file, "manifest");
  if (!trusted.ok()) return fail(trusted.error());
  if (!trusted.value().empty()) std::cerr << "vigilctl: " << trusted.value() << "\n";
  std::ifstream file(options.file, std::ios::binary);
  std::ostringstream body;
  body << file.rdbuf();
  if (!file) return fail("cannot read manifest " + options.file);
  json request_body = {
      {"command", "manifest_set"}, {"module", options.module}, {"body", body.str()}, {"version", options.version}};
  if (options.type) request_body["manifest_type"] = *options.type;
  auto response = request(paths, request_body);
  if (!response) return kRuntimeError;
  json stored = {
      {"module", options.module}, {"manifest_type", (*response)["manifest_type"]}, {"version", options.version}};
  if (options.as_json) {
    print_json(stored);
  } else {
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
  set->add_option("--file,-f", options->file, "Manifest file")->required()->check(CLI::ExistingFile);
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
