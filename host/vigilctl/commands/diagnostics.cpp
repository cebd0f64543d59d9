// vigilctl diagnostics: writes the support bundle (logs, configuration,
// status, health report, plugins, recent errors; secrets redacted) as one
// tar.gz, by default into the current directory (docs/health.md).
#include <iostream>

#include "diagnostics/bundle.h"
#include "vigilctl/commands/commands.h"

namespace vigil::ctl {

Runner define_diagnostics(CLI::App& command) {
  auto output = std::make_shared<std::string>();
  auto timeout = std::make_shared<double>(3.0);
  auto as_json = std::make_shared<bool>(false);
  command.add_option("--output,-o", *output, "The archive to write (default ./vigil-diagnostics-<UTC time>.tar.gz)")
      ->type_name("FILE");
  command.add_option("--timeout", *timeout, "Seconds each request to vigild and each network step may take")
      ->check(CLI::Range(0.1, 120.0))
      ->capture_default_str();
  add_json_flag(command, *as_json);
  return [output, timeout, as_json](const Paths& paths) {
    std::filesystem::path file = output->empty() ? std::filesystem::path(diagnostics::bundle_name() + ".tar.gz")
                                                 : std::filesystem::path(*output);
    diagnostics::BundleOptions options;
    options.timeout = std::chrono::milliseconds(static_cast<int64_t>(*timeout * 1000));
    std::error_code error;
    options.program_dir = std::filesystem::read_symlink("/proc/self/exe", error).parent_path();
    auto summary = diagnostics::write_bundle(paths, file, options);
    if (!summary.ok()) return fail("diagnostics: " + summary.error());
    if (!summary.value().daemon_running) std::cerr << "vigilctl: vigild is not running; read from the state store\n";
    if (*as_json) {
      print_json({{"file", file.string()},
                  {"files", summary.value().members.size()},
                  {"secrets_redacted", summary.value().secrets}});
    } else {
      std::cout << "wrote " << file.string() << " (" << summary.value().members.size() << " files, "
                << summary.value().secrets << " secret values redacted wherever they appeared)\n";
    }
    return kOk;
  };
}

}  // namespace vigil::ctl
