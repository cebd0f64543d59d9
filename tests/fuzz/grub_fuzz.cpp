// Fuzzes the GRUB readers with arbitrary file text: the input before a line
// "%%" is /etc/default/grub, the rest /boot/grub/grub.cfg, in a private
// root; a few parameters are then looked up on every command line. Errors
// (std::runtime_error, naming the file:line) are fine; anything else is a
// finding.
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz_root.h"
#include "vigil/policy/limits_pwquality_grub.h"

namespace {

const std::filesystem::path& root() {
  static const std::filesystem::path path = vigil::fuzz::make_root("grub", {"etc/default", "boot/grub"});
  return path;
}

void look_up(const std::vector<vigil::policy::KernelCommandLine>& lines) {
  for (const auto& line : lines) {
    for (const char* parameter : {"audit", "audit-backlog-limit", "quiet"}) {
      try {
        (void)vigil::policy::kernel_parameter(line, parameter);
      } catch (const std::runtime_error&) {
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [default_grub, grub_cfg] = vigil::fuzz::two_files(data, size);
  std::ofstream(root() / "etc/default/grub", std::ios::binary | std::ios::trunc) << default_grub;
  std::ofstream(root() / "boot/grub/grub.cfg", std::ios::binary | std::ios::trunc) << grub_cfg;
  try {
    look_up(vigil::policy::default_grub_command_lines(root()));
  } catch (const std::runtime_error&) {
    // Not understood: the control errs, as it should.
  }
  try {
    look_up(vigil::policy::grub_cfg_command_lines(root()));
  } catch (const std::runtime_error&) {
  }
  return 0;
}
