// Fuzzes the FIM manifest parser: bad manifests are refused with a
// ManifestError naming the line, never a crash or anything else thrown.
#include <cstdint>
#include <string_view>

#include "baseline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto manifest = vigil::fim::parse_manifest(std::string_view(reinterpret_cast<const char*>(data), size));
    if (manifest.paths.empty()) __builtin_trap();
  } catch (const vigil::fim::ManifestError&) {
  }
  return 0;
}
