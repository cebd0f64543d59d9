// Fuzzes what advisories come in as: the first byte picks OSV, the Debian
// Security Tracker's JSON or the vm-advisories manifest; the rest is the
// input. Each is read or refused with a message; whatever is read matches
// against an index of packages without crashing, and an imported advisory
// written as a manifest line reads back.
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "vigil/advisories/import.h"
#include "vigil/advisories/manifest.h"
#include "vigil/advisories/match.h"

namespace adv = vigil::advisories;

namespace {

const adv::InstalledIndex& index() {
  static const adv::InstalledIndex installed = [] {
    vigil::packages::InstalledPackages packages;
    packages.dpkg = vigil::packages::parse_dpkg_status(
        "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\n"
        "Version: 3.0.11-1~deb12u1\n\nPackage: p\nStatus: install ok installed\nVersion: 1:2.0~rc1-3\n");
    return adv::InstalledIndex(packages);
  }();
  return installed;
}

void check(const adv::Advisory& advisory) {
  (void)adv::findings(advisory, index());
  std::string text =
      adv::manifest_header(advisory.release.empty() ? "r" : advisory.release) + adv::manifest_line(advisory);
  size_t read = 0;
  try {  // what an import accepted must read back: a refusal here is a bug
    adv::read_manifest(
        text, [](std::string_view, bool, std::string_view) { return true; }, [&](adv::Advisory&&) { ++read; });
  } catch (const std::invalid_argument&) {
    __builtin_trap();
  }
  if (read != 1) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (data[0] % 3) {
      case 0: adv::import_osv(input, "fuzz.json", check); break;
      case 1: {
        std::istringstream in(input);
        adv::import_debian_tracker(in, "fuzz.json", check);
        break;
      }
      default:
        adv::read_manifest(
            input, [](std::string_view, bool, std::string_view) { return true; },
            [](adv::Advisory&& advisory) { (void)adv::findings(advisory, index()); });
    }
  } catch (const std::invalid_argument& error) {
    if (std::string_view(error.what()).empty()) __builtin_trap();
  }
  return 0;
}
