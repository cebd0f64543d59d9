// Fuzzes the policy parser with arbitrary documents: it must refuse bad ones
// with a PolicyError (file:line: reason), never crash, hang or throw anything
// else. What parses is evaluated against an empty root, with no commands run.
#include <cstdint>
#include <string>
#include <string_view>

#include "vigil/policy/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto policies = vigil::policy::parse_policies(text, "fuzz.yaml");
    vigil::policy::Environment environment;
    environment.root = "/nonexistent-fuzz-root";
    environment.run = [](const std::vector<std::string>&) { return vigil::policy::CommandOutput{0, "fuzz"}; };
    for (const auto& policy : policies) {
      for (const auto& control : policy.controls) (void)vigil::policy::evaluate(control, environment);
    }
  } catch (const vigil::policy::PolicyError& error) {
    if (std::string_view(error.what()).rfind("fuzz.yaml", 0) != 0) __builtin_trap();
  }
  return 0;
}
