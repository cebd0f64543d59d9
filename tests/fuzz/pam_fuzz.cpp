// Fuzzes the PAM reader (line assembly, brackets, controls, @include,
// include and substack, "other") with arbitrary text: the part before a line
// "%%" is /etc/pam.d/svc, the rest /etc/pam.d/inc, which svc may include, in a
// private root with pam_unix.so installed. Errors (std::runtime_error, naming
// the file:line) are fine; anything else is a finding.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "vigil/policy/config_formats.h"

namespace {

const std::filesystem::path& root() {
  static const std::filesystem::path path = [] {
    auto dir = std::filesystem::temp_directory_path() / ("vigil-pam-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir / "etc/pam.d");
    std::filesystem::create_directories(dir / "lib/x86_64-linux-gnu/security");
    std::ofstream(dir / "lib/x86_64-linux-gnu/security/pam_unix.so");
    std::ofstream(dir / "etc/pam.d/other") << "@include inc\nauth required pam_unix.so\n";
    return dir;
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  size_t split = text.find("\n%%\n");
  std::string main = split == std::string::npos ? text : text.substr(0, split);
  std::string included = split == std::string::npos ? "" : text.substr(split + 4);
  std::ofstream(root() / "etc/pam.d/svc", std::ios::binary | std::ios::trunc) << main;
  std::ofstream(root() / "etc/pam.d/inc", std::ios::binary | std::ios::trunc) << included;
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
    (void)vigil::policy::pam_control_actions(main.substr(0, 128), "fuzz");
  } catch (const std::runtime_error&) {
  }
  return 0;
}
