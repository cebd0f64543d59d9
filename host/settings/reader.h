// Typed reads of the store's configuration through the registry: the stored
// value when it fits its setting, else the setting's default. A stored value
// that does not fit (written by hand, or by an older vigilctl) is reported to
// `warn` and ignored, so the readers never repeat a range or a default.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "settings/registry.h"
#include "store/config_table.h"

namespace vigil::settings {

class Reader {
 public:
  using Warn = std::function<void(const std::string& message)>;
  explicit Reader(ConfigTable& config, Warn warn = {}) : config_(config), warn_(std::move(warn)) {}

  // The value of agent-wide key `name`, or for `module` of its `<module>.name`
  // then (kAgentOrModule) the agent-wide `name`. `fallback` replaces the
  // registry's default (a module's own CPU limit). nullopt: unset, no default.
  std::optional<std::string> text(std::string_view name, const std::string& module = "");
  int64_t integer(std::string_view name, const std::string& module = "", std::optional<int64_t> fallback = {});
  bool boolean(std::string_view name);

 private:
  // The stored value of `key` when it fits `setting`.
  std::optional<std::string> stored(const Setting& setting, const std::string& key);

  ConfigTable& config_;
  Warn warn_;
};

// The registry's entry for `name`; throws std::logic_error for a name it lacks (a bug).
const Setting& setting(std::string_view name);

}  // namespace vigil::settings
