// vigilctl manifest set: a module's manifest, stored through vigild (which
// checks the module takes that manifest type).
#include <fstream>
#include <iostream>
#include <sstream>

#include "base/file_safety.h"
#include "control_socket/control_protocol.h"
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
  // vigild would refuse the line; name the file instead.
  if (size_t size = request_body.dump().size(); size >= kMaxControlRequestBytes) {
    return fail("manifest " + options.file + " is too large to send: " + std::to_string(size) +
                " bytes as a request, and the control socket takes requests of up to 1 MiB");
  }
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
  // `set` is the only subcommand, and one is required.
  return [options](const Paths& paths) { return run_manifest_set(paths, *options); };
}

}  // namespace vigil::ctl
