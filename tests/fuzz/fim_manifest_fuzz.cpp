// Fuzzes what FIM reads: the manifest parser (bad manifests are refused with
// a ManifestError naming the line, never a crash or anything else thrown),
// path coverage of arbitrary paths under a parsed manifest, and the hash
// cache kept in plugin state (anything malformed is skipped).
#include <cstdint>
#include <string>
#include <string_view>

#include "baseline.h"
#include "hash_cache.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cache = vigil::fim::HashCache::parse(text, "sha256");
  if (cache.size() > size) __builtin_trap();
  try {
    auto manifest = vigil::fim::parse_manifest(text);
    if (manifest.paths.empty()) __builtin_trap();
    std::string path = "/" + std::string(text.substr(0, 64));
    for (bool directory : {false, true}) {
      if (const auto* watch = vigil::fim::covering(manifest, path, directory)) {
        if (vigil::fim::level_below(watch->path, path) < 0) __builtin_trap();
      }
    }
  } catch (const vigil::fim::ManifestError&) {
  }
  return 0;
}
