// Step 9, plugin update trust: a placeholder. The trust metadata of plugin
// updates (its expiry) and the patch download check come with self-patch
// (docs/design/self-patch.md); until then the step says so and finds nothing.
#include "health/steps.h"

namespace vigil::health {

Step check_plugin_update_trust() {
  Step step{.name = "plugin_update_trust", .title = "Plugin update trust"};
  step.not_available = true;
  step.lines.push_back("not available in this version (plugin self-patch is not built yet)");
  return step;
}

}  // namespace vigil::health
