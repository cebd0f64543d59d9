// User-Defined Controls (type udc, key UDC): controls operators write
// themselves (file content, file hash, directory search, command output with
// expected values; docs/user-defined-controls.md), evaluated by the same
// engine as Policy Compliance.
#include <vigil/plugin.hpp>

#include "policy_plugin.h"

namespace {

class UserDefinedControlsPlugin : public vigil::Plugin {
 public:
  void init(vigil::Host& host) override {
    host.set_default_cpu_limit(30);
    host.set_on_demand_key("UDC");
    vigil::policy::declare_settings(host);
    host.on_manifest("udc", [&host](vigil::Scan& scan, std::string_view manifest) {
      vigil::policy::scan_policies(host, scan, manifest, {"udc manifest", false});
    });
  }
};

}  // namespace

VIGIL_PLUGIN(UserDefinedControlsPlugin, "udc", "User-Defined Controls", "0.1.0", VIGIL_MODULE_SCAN)
