// The settings registry: one table of every configuration key of the agent
// (the config table of the state store), with its kind, range, default, when
// it takes effect, whether it is secret and who may set it. vigilctl config
// validates with it, the readers (reader.h) take their defaults and ranges
// from it, and docs/vigilctl.md's key table is checked against it, so no
// range or default is written twice. Modules add their own keys
// (declarations.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/result/result.h"

namespace vigil::settings {

enum class Kind {
  kInteger,      // decimal, min..max
  kSize,         // bytes with an optional K/M/G unit (base/memory_size.h), min..max bytes
  kBoolean,      // 1/0, true/false, yes/no, on/off
  kChoice,       // one of `choices`
  kText,         // one line of printable text
  kPath,         // an absolute path
  kFile,         // an absolute path to an existing regular file
  kUuid,         // 8-4-4-4-12 hexadecimal
  kUrl,          // https://host[:port][/prefix]
  kTimeWindows,  // HH:MM-HH:MM[,…] (blackout.h)
};

enum class Scope {
  kAgent,          // `Name`
  kModule,         // `<module>.Name` only
  kAgentOrModule,  // `<module>.Name` for one module, `Name` for every module without its own
};

enum class Access {
  kOperator,  // vigilctl config set
  kCommand,   // set by the command named in `owner` (it validates more, or seals the value)
  kInternal,  // written by the agent for itself: shown read-only
};

struct Setting {
  std::string name{};
  Kind kind = Kind::kText;
  Scope scope = Scope::kAgent;
  int64_t min = 0;
  int64_t max = 0;
  std::vector<std::string> choices{};
  std::string default_value{};  // empty: none (the description says what then)
  bool live = true;             // applied by a running agent without a restart
  std::string applies{};        // when it takes effect; for a restart key, why it needs one
  bool secret = false;          // never printed
  Access access = Access::kOperator;
  std::string owner{};  // kCommand: the command that sets it
  std::string description{};
  std::string module{};  // a module's declared key: that module; "" for the agent's
};

// Every key of the agent, in the order docs and `config show` list them.
const std::vector<Setting>& builtin();
// The agent's entry named `name` (case-insensitive), or null.
const Setting* find_builtin(std::string_view name);

// Checks `value` against `setting`; the error names `key` and what is allowed.
Status check_value(const Setting& setting, std::string_view key, std::string_view value);
// "an integer from 0 to 5", "one of file, syslog", …
std::string allowed_values(const Setting& setting);
std::string kind_name(Kind kind);

// Typed values of a checked (or default) value.
Result<int64_t> integer_value(const Setting& setting, std::string_view value);
Result<bool> boolean_value(std::string_view value);

// The row of docs/vigilctl.md's key table for `setting` (a unit test compares them).
std::string doc_row(const Setting& setting);

}  // namespace vigil::settings
