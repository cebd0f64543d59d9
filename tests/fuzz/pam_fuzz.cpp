// Fuzzes the PAM reader (line assembly, brackets, controls, @include,
// include and substack, "other") with arbitrary text: the part before a line
// "%%" is /etc/pam.d/svc, the rest /etc/pam.d/inc, which svc may include, in a
// private root with pam_unix.so installed. Errors (std::runtime_error, naming
// the file:line) are fine; anything else is a finding.
#include <cstdint>
#include <fstream>
#include <string>

#include "fuzz_root.h"
#include "vigil/policy/config_formats.h"

namespace {

const std::filesystem::path& root() {
  static const std::filesystem::path path = [] {
    auto dir = vigil::fuzz::make_root("pam", {"etc/pam.d", "lib/x86_64-linux-gnu/security"});
    std::ofstream(dir / "lib/x86_64-linux-gnu/security/pam_unix.so");
    std::ofstream(dir / "etc/pam.d/other") << "@include inc\nauth required pam_unix.so\n";
    return dir;
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vigil::fuzz::write_two_files(root(), "etc/pam.d/svc", "etc/pam.d/inc", data, size);
  for (const char* service : {"svc", "inc", "missing"}) {
    for (const char* type : {"auth", "account", "password", "session"}) {
      try {
        (void)vigil::policy::pam_stack(root(), service, type);
      } catch (const std::runtime_error&) {
        // Not understood: the control errs, as it should.
      }
    }
  }
  try {
    (void)vigil::policy::pam_control_actions(vigil::fuzz::two_files(data, size).first.substr(0, 128), "fuzz");
  } catch (const std::runtime_error&) {
  }
  return 0;
}
