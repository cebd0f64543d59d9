// Fuzzes the configuration-format readers (sshd_config with Include and
// Match, sysctl.d, login.defs, /etc/default, INI) with arbitrary file text,
// written into a private root once per input.
#include <cstdint>
#include <fstream>
#include <string>

#include "fuzz_root.h"
#include "vigil/policy/config_formats.h"

namespace {

const std::filesystem::path& root() {
  static const std::filesystem::path path = vigil::fuzz::make_root("config", {"etc/ssh/sshd_config.d", "etc/sysctl.d"});
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  for (const char* file :
       {"etc/ssh/sshd_config", "etc/ssh/sshd_config.d/a.conf", "etc/sysctl.d/10-a.conf", "etc/app"}) {
    std::ofstream(root() / file, std::ios::binary | std::ios::trunc) << text;
  }
  using namespace vigil::policy;
  try {
    (void)sshd_value(root(), "/etc/ssh/sshd_config", "PermitRootLogin",
                     SshdContext{"root", "wheel,adm", "h", "10.0.0.1", "22", "192.168.1.1", "rd0"});
    (void)sshd_value(root(), "/etc/ssh/sshd_config", "X", {});
  } catch (const std::runtime_error&) {
    // Include nested too deeply: refused with a message, as it should be.
  }
  (void)sysctl_settings(root());
  for (Format format : {Format::kKeyValue, Format::kShell, Format::kIni}) (void)read_config(root(), "/etc/app", format);
  return 0;
}
