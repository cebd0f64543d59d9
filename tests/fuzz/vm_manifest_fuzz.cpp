// Fuzzes the Vulnerability Management manifest parser: any text is either a
// rule list or an error that names what is wrong; evaluation of whatever
// parses must not crash either.
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "vigil/vm_rules/rules.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto rules = vigil::vm::parse_rules({reinterpret_cast<const char*>(data), size});
    vigil::vm::Facts facts;
    facts.packages["dpkg"]["openssl"] = "3.0.11-1~deb12u2";
    facts.packages["rpm"]["openssl"] = "1:3.0.7-27.el9";
    facts.kernel_release = "6.1.0-18-amd64";
    facts.root = "/nonexistent-fuzz-root";
    for (const auto& rule : rules) {
      if (rule.id.empty() || rule.severity < 1 || rule.severity > 5) __builtin_trap();
      (void)vigil::vm::evaluate(rule, facts);
    }
  } catch (const std::invalid_argument& error) {
    if (std::string_view(error.what()).empty()) __builtin_trap();
  }
  return 0;
}
