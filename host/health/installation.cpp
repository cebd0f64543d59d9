// Step 1, installed: the agent's programs, its plugin directory, its state
// store (set up under this root), and the package manager's view of it.
#include <fmt/format.h>

#include "health/steps.h"
#include "vigil/packages/dpkg_status.h"

namespace vigil::health {
namespace {

namespace fs = std::filesystem;

// vigild where an installation puts it, else beside vigilctl (a build tree).
std::optional<fs::path> find_vigild(const Context& context) {
  for (const fs::path& candidate : {context.paths.root / "usr/sbin/vigild", context.program_dir / "vigild"}) {
    std::error_code error;
    if (fs::is_regular_file(candidate, error)) return candidate;
  }
  return std::nullopt;
}

std::optional<fs::path> find_worker(const fs::path& vigild) {
  for (const fs::path& candidate :
       {vigild.parent_path() / "vigild-worker", vigild.parent_path().parent_path() / "lib/vigil/vigild-worker"}) {
    std::error_code error;
    if (fs::is_regular_file(candidate, error)) return candidate;
  }
  return std::nullopt;
}

// dpkg left the package half-way (an interrupted upgrade): the agent may be
// missing files or run old ones.
void check_package(const Context& context, Step& step) {
  fs::path status_file = context.paths.root / "var/lib/dpkg/status";
  std::error_code error;
  if (!fs::exists(status_file, error)) return;
  auto status = packages::read_dpkg_status(status_file);
  if (!status) return;
  for (const auto& package : status->packages) {
    if (package.package != "vigil-agent") continue;
    step.lines.push_back(fmt::format("package: vigil-agent {} ({})", package.version, package.status));
    step.details["package"] = {{"name", package.package}, {"version", package.version}, {"status", package.status}};
    if (!package.installed() && package.status.find("not-installed") == std::string::npos &&
        package.status.find("config-files") == std::string::npos) {
      step.add(Severity::kCritical, "package-interrupted",
               fmt::format("dpkg is interrupted: vigil-agent {} is '{}'", package.version, package.status),
               "run dpkg --configure -a");
    }
  }
}

}  // namespace

Step check_installed(const Context& context, Report& report) {
  Step step{.name = "installed", .title = "Installed"};
  auto vigild = find_vigild(context);
  std::error_code error;
  bool set_up = fs::exists(context.paths.state_db(), error);
  bool plugin_dir = fs::is_directory(context.paths.plugin_dir, error);
  step.details = {{"vigild", vigild ? vigild->string() : ""},
                  {"state_store", context.paths.state_db().string()},
                  {"state_store_exists", set_up},
                  {"plugin_dir", context.paths.plugin_dir.string()},
                  {"plugin_dir_exists", plugin_dir}};
  step.lines.push_back("vigild: " + (vigild ? vigild->string() : std::string("not found")));
  if (vigild) {
    auto worker = find_worker(*vigild);
    step.details["worker"] = worker ? worker->string() : "";
    step.lines.push_back("vigild-worker: " + (worker ? worker->string() : std::string("not found")));
    if (!worker) {
      step.add(Severity::kCritical, "worker-missing", "vigild-worker is not beside vigild nor in ../lib/vigil/",
               "reinstall the vigil-agent package (apt-get install --reinstall vigil-agent)");
    }
  }
  step.lines.push_back("state store: " + context.paths.state_db().string() + (set_up ? "" : " (none)"));
  step.lines.push_back("plugin directory: " + context.paths.plugin_dir.string() + (plugin_dir ? "" : " (none)"));
  check_package(context, step);
  report.installed = vigild.has_value() && set_up;
  if (!vigild) {
    step.add(Severity::kCritical, "not-installed", "the vigild program is not installed",
             "install the vigil-agent package (docs/installing.md)");
  } else if (!set_up) {
    step.add(Severity::kCritical, "not-set-up",
             "the agent was never set up under " + context.paths.root.string() + ": no state store",
             "start vigild once (systemctl start vigild), or provision it: vigilctl provision CustomerId=… "
             "ActivationId=… WebServiceUri=…");
  }
  if (set_up && !context.store) {
    step.add(Severity::kCritical, "state-store-unreadable", context.store_error,
             "check the file's owner and mode (0600, the agent's user) and the disk; vigild.log names the cause");
  }
  if (!plugin_dir && vigild) {
    step.add(Severity::kCritical, "plugin-dir-missing",
             "the plugin directory " + context.paths.plugin_dir.string() + " does not exist: no module can run",
             "reinstall the vigil-agent package (apt-get install --reinstall vigil-agent)");
  }
  return step;
}

}  // namespace vigil::health
