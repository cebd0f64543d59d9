// Resolves the path layout from --root / VIGIL_ROOT.
#include "base/paths.h"

#include <cstdlib>

namespace vigil {

Paths Paths::under(const std::filesystem::path& root) {
  Paths paths;
  paths.root = root;
  paths.config_dir = root / "etc/vigil";
  paths.data_dir = root / "var/lib/vigil";
  paths.log_dir = root / "var/log/vigil";
  paths.plugin_dir = root / "usr/lib/vigil/plugins";
  paths.run_dir = root / "run/vigil";
  return paths;
}

Paths Paths::resolve(const std::optional<std::string>& root_option) {
  if (root_option && !root_option->empty()) return under(std::filesystem::absolute(*root_option));
  const char* env = std::getenv("VIGIL_ROOT");
  if (env != nullptr && *env != '\0') return under(std::filesystem::absolute(env));
  return under("/");
}

}  // namespace vigil
