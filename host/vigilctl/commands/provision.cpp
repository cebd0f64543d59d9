// vigilctl provision: the platform settings as Key=Value words or flags
// (the work is in ctl/provision.cpp).
#include <iostream>

#include "vigilctl/commands/commands.h"
#include "vigilctl/provision.h"

namespace vigil::ctl {

namespace {

struct ProvisionCommand {
  ProvisionOptions options;
  std::vector<std::string> words;
};

// A flag that sets one of the Key=Value settings.
void add_setting_flag(CLI::App& command, ProvisionCommand& provision, const std::string& flag, const char* key,
                      const std::string& help) {
  auto& settings = provision.options.settings;
  command.add_option_function<std::string>(
      flag, [&settings, key](const std::string& v) { settings[key] = v; }, help);
}

}  // namespace

Runner define_provision(CLI::App& command) {
  auto provision = std::make_shared<ProvisionCommand>();
  command.add_option("settings", provision->words,
                     "Key=Value settings: CustomerId, ActivationId, WebServiceUri (or ServerUri), GoldenImage, "
                     "HostIdSearchDir, CaBundle");
  add_setting_flag(command, *provision, "--customer-id", "CustomerId", "The customer's id (a UUID)");
  add_setting_flag(command, *provision, "--activation-id", "ActivationId",
                   "The activation key (a UUID; never printed)");
  add_setting_flag(command, *provision, "--server-uri,--web-service-uri", "ServerUri",
                   "The platform's address: https://host[:port]");
  add_setting_flag(command, *provision, "--golden-image", "GoldenImage",
                   "true: configure an image; clones provision on first start");
  add_setting_flag(command, *provision, "--host-id-search-dir", "HostIdSearchDir",
                   "Directory of the host id file vigil/hostid (default /etc/)");
  add_setting_flag(command, *provision, "--ca-bundle", "CaBundle", "PEM file of the CAs to trust for the platform");
  command.add_option("--wait", provision->options.wait_seconds, "Seconds to wait for a running vigild (0: none)")
      ->capture_default_str();
  add_json_flag(command, provision->options.as_json);
  return [provision](const Paths& paths) {
    std::string error;
    if (!merge_key_values(provision->words, provision->options.settings, error)) {
      std::cerr << "vigilctl: provision: " << error << "\n";
      return kUsageError;
    }
    return run_provision(paths, provision->options);
  };
}

}  // namespace vigil::ctl
