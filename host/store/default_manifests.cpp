// Default manifests: found beside the plugins, chosen by OS.
#include "store/default_manifests.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "vigil/crypto/digest.h"
#include "vigil/machine/machine.h"

namespace vigil {

namespace fs = std::filesystem;

namespace {

// The "<type>.manifest" files directly in `dir`, by type.
std::map<std::string, fs::path> manifest_files(const fs::path& dir) {
  std::map<std::string, fs::path> found;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    if (entry.path().extension() == ".manifest" && entry.is_regular_file(error)) {
      found[entry.path().stem().string()] = entry.path();
    }
  }
  return found;
}

}  // namespace

std::string os_release_name(const fs::path& root) {
  auto release = machine::read_os_release(root);
  if (!release) release = machine::read_os_release("/");
  if (!release || release->count("ID") == 0 || release->at("ID").empty()) return "unknown";
  std::string version = release->count("VERSION_ID") > 0 ? release->at("VERSION_ID") : "";
  return version.empty() ? release->at("ID") : release->at("ID") + "-" + version;
}

DefaultManifests find_default_manifests(const fs::path& plugin_dir, std::string_view module, std::string_view os) {
  DefaultManifests defaults;
  fs::path dir = plugin_dir / "defaults" / module;
  std::map<std::string, fs::path> files = manifest_files(dir);
  for (auto& [type, file] : manifest_files(dir / os)) files[type] = file;  // the OS's own win
  std::vector<std::string> unreadable;
  for (const auto& [type, file] : files) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    if (!in) {
      unreadable.push_back(file.string());
      continue;
    }
    defaults.manifests.push_back(
        Manifest{std::string(module), type, crypto::sha256_hex(body.str()).substr(0, 12), body.str(), "default"});
    defaults.files.push_back(file);
  }
  if (!defaults.manifests.empty()) return defaults;
  if (!unreadable.empty()) {
    defaults.missing = fmt::format("no policy: the default manifest {} cannot be read; {}", fmt::join(unreadable, ", "),
                                   kGiveAManifest);
    return defaults;
  }
  // Defaults for other OS releases only: say which OS went without, so that
  // "nothing to scan" is never silent.
  std::vector<std::string> others;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    if (entry.is_directory(error)) others.push_back(entry.path().filename().string());
  }
  std::sort(others.begin(), others.end());
  defaults.missing = others.empty() ? fmt::format("no policy: {}", kGiveAManifest)
                                    : fmt::format("no policy for {}: {} (the plugin's defaults are for {})", os,
                                                  kGiveAManifest, fmt::join(others, ", "));
  return defaults;
}

Result<ManifestsInForce> manifests_in_force(Manifests& stored, const DefaultManifests& defaults,
                                            std::string_view module) {
  auto given = stored.of_module(module);
  if (!given.ok()) return Error{given.error()};
  if (!given.value().empty()) return ManifestsInForce{std::move(given.value()), ""};
  if (defaults.manifests.empty() && defaults.missing.empty()) {
    return ManifestsInForce{{}, fmt::format("no policy: {}", kGiveAManifest)};
  }
  return ManifestsInForce{defaults.manifests, defaults.missing};
}

}  // namespace vigil
