// Where Vigil keeps its files. Every default path (docs/installing.md) hangs off one
// root ("/" in production) so tests and non-root users run under a temp dir.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace vigil {

struct Paths {
  std::filesystem::path root;
  std::filesystem::path config_dir;  // <root>/etc/vigil
  std::filesystem::path data_dir;    // <root>/var/lib/vigil
  std::filesystem::path log_dir;     // <root>/var/log/vigil
  std::filesystem::path plugin_dir;  // <root>/usr/lib/vigil/plugins
  std::filesystem::path run_dir;     // <root>/run/vigil

  // All paths under `root`.
  static Paths under(const std::filesystem::path& root);
  // The root from --root if given, else $VIGIL_ROOT, else "/".
  static Paths resolve(const std::optional<std::string>& root_option);

  std::filesystem::path state_db() const { return data_dir / "config.db"; }
  std::filesystem::path control_socket() const { return run_dir / "vigild.sock"; }
  // Held (flock) by the running vigild of this root.
  std::filesystem::path instance_lock() const { return run_dir / "vigild.lock"; }
};

}  // namespace vigil
