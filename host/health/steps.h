// The steps of the health check, in the order the report numbers them; one
// file each. A step reads the context, says what it saw and adds findings,
// each with its fix.
#pragma once

#include "health/context.h"
#include "health/report.h"

namespace vigil::health {

Step check_installed(const Context& context, Report& report);
Step check_service(const Context& context, Report& report);
Step check_processes(const Context& context, Report& report);
Step check_certificates(const Context& context);
Step check_proxy_settings(const Context& context);
Step check_connectivity(const Context& context);
Step check_communication(const Context& context);
Step check_modules(const Context& context);
Step check_plugin_update_trust(const Context& context);
Step check_patch_connectivity(const Context& context);

}  // namespace vigil::health
