// vigilctl health: every step of the health check, numbered, with the fix of
// each finding; the short text and the JSON report go to the HealthCheck
// directory; the exit status says the overall health (docs/health.md).
#include <iostream>

#include "canary/canary.h"
#include "health/health_check.h"
#include "health/report_files.h"
#include "vigilctl/commands/commands.h"

namespace vigil::ctl {

Runner define_health(CLI::App& command) {
  auto as_json = std::make_shared<bool>(false);
  auto timeout = std::make_shared<double>(3.0);
  command.add_flag("--json", *as_json, "Print the JSON report instead of the console report");
  command.add_option("--timeout", *timeout, "Seconds each network attempt and each request to vigild may take")
      ->check(CLI::Range(0.1, 120.0))
      ->capture_default_str();
  auto canary = std::make_shared<bool>(false);
  auto canary_wait = std::make_shared<double>(30.0);
  command.add_flag("--canary", *canary,
                   "Also make a file change FIM watches (and a process and a connection) and wait until the "
                   "platform holds the event");
  command.add_option("--canary-wait", *canary_wait, "Seconds the canary waits for the platform to hold the event")
      ->check(CLI::Range(1.0, 600.0))
      ->capture_default_str();
  return [as_json, timeout, canary, canary_wait](const Paths& paths) {
    health::HealthOptions options;
    options.timeout = std::chrono::milliseconds(static_cast<int64_t>(*timeout * 1000));
    if (*canary) {
      canary::CanaryOptions canary_options{std::chrono::milliseconds(static_cast<int64_t>(*canary_wait * 1000)),
                                           options.timeout};
      options.extra_steps.push_back(
          [canary_options](const health::Context& context) { return canary::check_canary(context, canary_options); });
    }
    std::error_code error;
    options.program_dir = std::filesystem::read_symlink("/proc/self/exe", error).parent_path();
    health::Report report = health::run_health_check(paths, options);
    if (!report.daemon_running && report.installed) {
      std::cerr << "vigilctl: vigild is not running; read from the state store\n";
    }
    if (*as_json) {
      print_json(health::report_json(report));
    } else {
      std::cout << health::console_text(report);
    }
    // Not written for an agent never set up here: there is no directory of its own to write into.
    if (report.installed) {
      auto written = health::write_reports(health::report_directory(paths), report);
      if (!written.ok()) {
        std::cerr << "vigilctl: the reports were not written: " << written.error() << "\n";
      } else if (!*as_json) {
        std::cout << "reports: " << written.value().text.string() << ", " << written.value().json.string() << "\n";
      }
    }
    return health::exit_code(report.overall());
  };
}

}  // namespace vigil::ctl
