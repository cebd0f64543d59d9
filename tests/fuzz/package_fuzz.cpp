// Fuzzes the package code plugins share with arbitrary text: the dpkg status
// parser must never crash, and dpkg and RPM version ordering must stay
// antisymmetric ("a|b" compares a with b both ways).
#include <cstdint>
#include <string_view>

#include "vigil/packages/dpkg_status.h"
#include "vigil/packages/dpkg_version.h"
#include "vigil/packages/rpm_version.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto status = vigil::packages::parse_dpkg_status(text);
  for (const auto& package : status.packages) {
    if (package.package.empty()) __builtin_trap();
  }
  size_t split = text.find('|');
  if (split != std::string_view::npos) {
    std::string_view a = text.substr(0, split), b = text.substr(split + 1);
    int forward = vigil::packages::compare_dpkg_versions(a, b);
    int backward = vigil::packages::compare_dpkg_versions(b, a);
    if ((forward > 0) != (backward < 0) || (forward == 0) != (backward == 0)) __builtin_trap();
    int rpm_forward = vigil::packages::compare_rpm_versions(a, b);
    int rpm_backward = vigil::packages::compare_rpm_versions(b, a);
    if ((rpm_forward > 0) != (rpm_backward < 0) || (rpm_forward == 0) != (rpm_backward == 0)) __builtin_trap();
  }
  return 0;
}
