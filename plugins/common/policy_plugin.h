// What the Policy Compliance, SCA and User-Defined Controls plugins do with a
// manifest: parse its policies (refusing an invalid one with file and line),
// evaluate every control and emit one `controls` row each; SCA also emits a
// `scores` row per policy (passed / applicable).
#pragma once

#include <vigil/plugin.hpp>

#include <string>
#include <string_view>

namespace vigil::policy {

struct PluginOptions {
  std::string manifest_name;  // for error messages: "pc manifest"
  bool scores = false;
};

// Declares the settings the policy engine reads (Root); call it in init.
void declare_settings(Host& host);
void scan_policies(Host& host, Scan& scan, std::string_view manifest, const PluginOptions& options);

}  // namespace vigil::policy
