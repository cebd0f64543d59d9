// Security Configuration Assessment (type sca, key SCA): benchmark-style
// assessment of the policies in its manifest, with a score per policy
// (passed / applicable) in the `scores` table next to the `controls` rows.
// samples/policies/cis-debian12-level1.yaml is the policy it ships with.
#include <vigil/plugin.hpp>

#include "policy_plugin.h"

namespace {

class ScaPlugin : public vigil::Plugin {
 public:
  void init(vigil::Host& host) override {
    host.set_default_cpu_limit(30);
    host.set_on_demand_key("SCA");
    vigil::policy::declare_settings(host);
    host.on_manifest("sca", [&host](vigil::Scan& scan, std::string_view manifest) {
      vigil::policy::scan_policies(host, scan, manifest, {"sca manifest", true});
    });
  }
};

}  // namespace

VIGIL_PLUGIN(ScaPlugin, "sca", "Security Configuration Assessment", "0.1.0", VIGIL_MODULE_SCAN)
