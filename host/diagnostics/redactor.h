// Takes the secrets out of what goes into a diagnostics bundle. Two ways,
// both always: by value (every secret the agent's configuration holds, in
// each form it may be written: plain, sealed #TOKEN, URL-encoded) and by
// shape (user information in URLs, Authorization headers, PEM private keys),
// for secrets the configuration does not know of.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/paths.h"
#include "store/config_table.h"

namespace vigil::diagnostics {

inline constexpr std::string_view kRedacted = "[REDACTED]";

class Redactor {
 public:
  // The secrets of the agent under `paths`: every key the settings registry
  // or a module's declarations mark secret, and the credentials of the proxy
  // settings and the proxy file, opened with the agent's secret key.
  static Redactor of_agent(ConfigTable& config, const Paths& paths);

  void add_secret(std::string_view value);
  std::string redact(std::string_view text) const;
  size_t secrets() const { return secrets_.size(); }

 private:
  std::vector<std::string> secrets_;  // longest first: a secret inside another goes with it
};

}  // namespace vigil::diagnostics
