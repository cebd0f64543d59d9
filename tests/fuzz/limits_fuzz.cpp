// Fuzzes the limits reader with arbitrary file text: the input before a line
// "%%" is /etc/security/limits.conf, the rest /etc/security/limits.d/a.conf,
// in a private root with two accounts. Each item is looked up for both
// accounts and for a user only * names. Errors (std::runtime_error, naming
// the file:line) are fine; anything else is a finding.
#include <cstdint>
#include <fstream>
#include <string>

#include "fuzz_root.h"
#include "vigil/policy/limits_pwquality_grub.h"

namespace {

const std::filesystem::path& root() {
  static const std::filesystem::path path = [] {
    auto made = vigil::fuzz::make_root("limits", {"etc/security/limits.d"});
    std::ofstream(made / "etc/passwd") << "root:x:0:0::/root:/bin/sh\nalice:x:1000:100::/home/alice:/bin/sh\n";
    std::ofstream(made / "etc/group") << "root:x:0:\nusers:x:100:\ndev:x:2000:alice\n";
    return made;
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [main, included] = vigil::fuzz::two_files(data, size);
  std::ofstream(root() / "etc/security/limits.conf", std::ios::binary | std::ios::trunc) << main;
  std::ofstream(root() / "etc/security/limits.d/a.conf", std::ios::binary | std::ios::trunc) << included;
  for (const char* user : {"", "root", "alice"}) {
    for (const char* item : {"core", "nofile", "nice", "maxlogins", "priority"}) {
      for (const char* type : {"soft", "hard"}) {
        try {
          (void)vigil::policy::limits_value(root(), user, item, type);
        } catch (const std::runtime_error&) {
          // Not understood: the control errs, as it should.
        }
      }
    }
  }
  return 0;
}
