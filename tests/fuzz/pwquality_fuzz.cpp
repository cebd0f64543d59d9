// Fuzzes the pwquality reader with arbitrary file text: the input before a
// line "%%" is /etc/security/pwquality.conf, the rest
// /etc/security/pwquality.conf.d/a.conf, in a private root; the words of the
// first line are then applied as pam_pwquality arguments. Errors
// (std::runtime_error, naming the file:line) are fine; anything else is a
// finding.
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_root.h"
#include "vigil/policy/limits_pwquality_grub.h"

namespace {

const std::filesystem::path& root() {
  static const std::filesystem::path path = vigil::fuzz::make_root("pwquality", {"etc/security/pwquality.conf.d"});
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [main, included] = vigil::fuzz::two_files(data, size);
  std::ofstream(root() / "etc/security/pwquality.conf", std::ios::binary | std::ios::trunc) << main;
  std::ofstream(root() / "etc/security/pwquality.conf.d/a.conf", std::ios::binary | std::ios::trunc) << included;
  std::map<std::string, vigil::policy::ConfigValue> settings;
  try {
    settings = vigil::policy::pwquality_files(root());
  } catch (const std::runtime_error&) {
    // Not understood: the control errs, as it should.
  }
  std::istringstream first(main.substr(0, main.find('\n')));
  std::vector<std::string> args;
  for (std::string word; first >> word;) args.push_back(word);
  try {
    vigil::policy::pwquality_apply_args(settings, args, "fuzz:1");
  } catch (const std::runtime_error&) {
  }
  return 0;
}
