// Every key there is: the agent's (registry.h) and those modules declared
// (plugin ABI 1.5, kept in the state store), and the one validation of a
// `Key=Value` against them. vigilctl uses it with vigild up or down.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "settings/registry.h"
#include "store/config_table.h"
#include "vigil/result/result.h"

namespace vigil::settings {

// Module -> the settings it declared, in declaration order.
using Declarations = std::map<std::string, std::vector<Setting>, std::less<>>;

// A key as the catalog understands it.
struct Resolved {
  std::string key;                   // canonical spelling: "LogLevel", "fim.HashThreads"
  std::string module;                // "" for an agent-wide key
  const Setting* setting = nullptr;  // null: a key of a module that declared none (any one line of text)
};

// "Key=Value" -> (key, value); the key is trimmed and must not be empty.
Result<std::pair<std::string, std::string>> parse_assignment(std::string_view word);

// The declarations as the store keeps them (JSON), and back.
std::string encode(const std::vector<Setting>& declared);
Result<std::vector<Setting>> decode(const std::string& module, std::string_view text);

class Catalog {
 public:
  Catalog() = default;  // the agent's keys only
  explicit Catalog(Declarations modules) : modules_(std::move(modules)) {}
  // The agent's keys and every module's stored declarations.
  static Result<Catalog> load(ConfigTable& config);

  const Declarations& modules() const { return modules_; }
  // The canonical key and its entry; an unknown key is an error naming it
  // (and, for a module that declared its keys, listing them).
  Result<Resolved> resolve(std::string_view key) const;
  // The one validation: the key resolves and the value fits it. Returns the canonical key.
  Result<std::string> validate(std::string_view key, std::string_view value) const;

 private:
  Declarations modules_;
};

// Module names as the ABI allows them: [a-z0-9_-], 1-32 bytes.
bool is_module_name(std::string_view name);

}  // namespace vigil::settings
