// Step 2, service running: does vigild answer on its control socket, and is
// it the version of this vigilctl.
#include <fmt/format.h>

#include "health/steps.h"
#include "version.h"

namespace vigil::health {

Step check_service(const Context& context, Report& report) {
  Step step{.name = "service", .title = "Service running"};
  report.daemon_running = context.daemon_answered();
  step.details = {{"running", context.daemon_answered()}, {"instance_lock_held", context.lock_held}};
  if (!context.daemon_answered()) {
    if (context.lock_held) {
      step.lines.push_back("vigild holds its instance lock but does not answer: " + context.daemon_error);
      step.add(
          Severity::kCritical, "service-not-answering",
          "vigild runs but did not answer on " + context.paths.control_socket().string() + ": " + context.daemon_error,
          "restart it (systemctl restart vigild); if it keeps hanging, send vigilctl diagnostics to support");
    } else {
      step.lines.push_back("vigild is not running; the other steps read the state store");
      step.add(Severity::kCritical, "service-down", "vigild is not running",
               "start it: systemctl start vigild (journalctl -u vigild and vigild.log say why it stopped)");
    }
    return step;
  }
  nlohmann::json daemon = context.status.value("daemon", nlohmann::json::object());
  std::string version = daemon.value("version", "");
  step.details.update({{"pid", daemon.value("pid", 0)},
                       {"version", version},
                       {"started_at", daemon.value("started_at", int64_t{0})},
                       {"log_level", daemon.value("log_level", 0)}});
  int64_t started = daemon.value("started_at", int64_t{0});
  step.lines.push_back(fmt::format("vigild {} is running (worker pid {}, up {})", version, daemon.value("pid", 0),
                                   duration_text(context.now - started)));
  if (version != kVigilVersion) {
    step.add(Severity::kWarning, "version-mismatch",
             fmt::format("vigild runs version {}, vigilctl is {}", version, kVigilVersion),
             "restart vigild to run the installed version (systemctl restart vigild)");
  }
  return step;
}

}  // namespace vigil::health
