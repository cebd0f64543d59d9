// Reading settings with their registry defaults.
#include "settings/reader.h"

#include <stdexcept>

namespace vigil::settings {

const Setting& setting(std::string_view name) {
  const Setting* found = find_builtin(name);
  if (found == nullptr) throw std::logic_error("no setting '" + std::string(name) + "' in the registry");
  return *found;
}

std::optional<std::string> Reader::stored(const Setting& entry, const std::string& key) {
  auto value = config_.get(key);
  if (!value.ok()) {
    if (warn_) warn_("configuration " + key + " unreadable: " + value.error());
    return std::nullopt;
  }
  if (!value.value()) return std::nullopt;
  if (Status fits = check_value(entry, key, *value.value()); !fits.ok()) {
    if (warn_) warn_("configuration ignored: " + fits.error());
    return std::nullopt;
  }
  return value.value();
}

std::optional<std::string> Reader::text(std::string_view name, const std::string& module) {
  const Setting& entry = setting(name);
  if (!module.empty() && entry.scope != Scope::kAgent) {
    if (auto value = stored(entry, module + "." + entry.name)) return value;
  }
  if (entry.scope != Scope::kModule) {
    if (auto value = stored(entry, entry.name)) return value;
  }
  if (entry.default_value.empty()) return std::nullopt;
  return entry.default_value;
}

int64_t Reader::integer(std::string_view name, const std::string& module, std::optional<int64_t> fallback) {
  const Setting& entry = setting(name);
  std::optional<std::string> value;
  if (!module.empty() && entry.scope != Scope::kAgent) value = stored(entry, module + "." + entry.name);
  if (!value && entry.scope != Scope::kModule) value = stored(entry, entry.name);
  if (!value && fallback) return *fallback;
  if (!value) value = entry.default_value;
  auto number = integer_value(entry, *value);
  // A registry entry without a default must be read with a fallback: a bug otherwise.
  if (!number.ok()) throw std::logic_error("setting " + entry.name + " has no usable default");
  return number.value();
}

bool Reader::boolean(std::string_view name) {
  auto value = text(name);
  return value && boolean_value(*value).ok() && boolean_value(*value).value();
}

}  // namespace vigil::settings
