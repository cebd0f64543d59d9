#include "health/context.h"

#include <iterator>

#include <fmt/format.h>

#include "vigil/tuf/metadata.h"

namespace vigil::health {

std::optional<std::string> Context::config(const std::string& key) const {
  if (!store) return std::nullopt;
  auto value = store->config().get(key);
  return value.ok() ? value.value() : std::nullopt;
}

std::optional<std::filesystem::path> Context::ca_bundle() const {
  if (auto configured = config("CaBundle")) return std::filesystem::path(*configured);
  if (std::filesystem::exists(paths.config_dir / "ca-bundle.crt")) return paths.config_dir / "ca-bundle.crt";
  return std::nullopt;
}

std::string utc_time(int64_t unix_seconds) {
  return tuf::format_time(unix_seconds);
}

std::string size_text(int64_t bytes) {
  constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return fmt::format("{} bytes", bytes);
  double value = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::string duration_text(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 120) return fmt::format("{} s", seconds);
  if (seconds < 2 * 3600) return fmt::format("{} min", seconds / 60);
  if (seconds < 2 * 86400) return fmt::format("{} h {} min", seconds / 3600, seconds % 3600 / 60);
  return fmt::format("{} d {} h", seconds / 86400, seconds % 86400 / 3600);
}

}  // namespace vigil::health
