// Fuzzes the fstab reader and the configured mount with arbitrary file text:
// the input before a line "%%" is /etc/fstab, the rest
// /etc/systemd/system/tmp.mount, in a private root. Errors
// (std::runtime_error, naming the file:line) are fine; anything else is a
// finding.
#include <cstdint>
#include <fstream>
#include <string>

#include "fuzz_root.h"
#include "vigil/policy/fstab.h"

namespace {

const std::filesystem::path& root() {
  static const std::filesystem::path path = vigil::fuzz::make_root("fstab", {"etc/systemd/system"});
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [fstab, unit] = vigil::fuzz::two_files(data, size);
  std::ofstream(root() / "etc/fstab", std::ios::binary | std::ios::trunc) << fstab;
  std::ofstream(root() / "etc/systemd/system/tmp.mount", std::ios::binary | std::ios::trunc) << unit;
  try {
    for (const auto& entry : vigil::policy::read_fstab(root(), "/etc/fstab")) {
      try {
        (void)vigil::policy::mount_option_in_effect(entry.options, "nodev", entry.origin);
      } catch (const std::runtime_error&) {
        // Options this reader does not model: the check errs.
      }
    }
    (void)vigil::policy::configured_mount(root(), "/tmp");
  } catch (const std::runtime_error&) {
    // Not understood: the control errs, as it should.
  }
  return 0;
}
