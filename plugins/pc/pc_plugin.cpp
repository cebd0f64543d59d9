// Policy Compliance (type pc, key PolicyCompliance): evaluates the policies
// its manifest carries (docs/policies.md); one `controls` row per control, so
// a control that changes result travels in the delta.
#include <vigil/plugin.hpp>

#include "policy_plugin.h"

namespace {

class PolicyCompliancePlugin : public vigil::Plugin {
 public:
  void init(vigil::Host& host) override {
    host.set_default_cpu_limit(30);
    host.set_on_demand_key("PolicyCompliance");
    vigil::policy::declare_settings(host);
    host.on_manifest("pc", [&host](vigil::Scan& scan, std::string_view manifest) {
      vigil::policy::scan_policies(host, scan, manifest, {"pc manifest", false});
    });
  }
};

}  // namespace

VIGIL_PLUGIN(PolicyCompliancePlugin, "pc", "Policy Compliance", "0.1.0", VIGIL_MODULE_SCAN)
