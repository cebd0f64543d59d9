// The manifests a plugin ships as its defaults, used while neither the
// platform nor vigilctl gave the module one (docs/scheduling.md, "Default
// manifests"). They live beside the plugins, not in the store:
//   <plugin dir>/defaults/<module>/<type>.manifest        on every OS
//   <plugin dir>/defaults/<module>/<os>/<type>.manifest   on that OS only
// where <os> is os_release_name(): an OS's own file wins over the general one.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "store/manifests.h"

namespace vigil {

// What to tell an operator about a module without any manifest.
inline constexpr const char* kGiveAManifest = "give one with vigilctl manifest set or the platform";

struct DefaultManifests {
  std::vector<Manifest> manifests;           // source "default"; version: the first 12 hex digits of its SHA-256
  std::vector<std::filesystem::path> files;  // where each came from, in the same order
  // Why there is none (when `manifests` is empty), for status and refusals:
  // "no policy: give one ..." or "no policy for debian-13: give one ...".
  std::string missing;
};

// "<ID>-<VERSION_ID>" of os-release (ID alone without a VERSION_ID), read
// under `root` first so that a test or an image can stand in for the machine,
// then on the machine itself; "unknown" when neither has one.
std::string os_release_name(const std::filesystem::path& root);

// The default manifests of `module` for `os`. Unreadable files are skipped
// and named in `missing` when nothing else is found.
DefaultManifests find_default_manifests(const std::filesystem::path& plugin_dir, std::string_view module,
                                        std::string_view os);

// The manifests in force for `module`: those stored, else its defaults.
// `missing` tells why there is none when both are empty.
struct ManifestsInForce {
  std::vector<Manifest> manifests;
  std::string missing;
};
Result<ManifestsInForce> manifests_in_force(Manifests& stored, const DefaultManifests& defaults,
                                            std::string_view module);

}  // namespace vigil
