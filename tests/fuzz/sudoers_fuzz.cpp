// Fuzzes the sudoers reader with arbitrary file text: the input before a line
// "%%" is /etc/sudoers, the rest /etc/sudoers.d/a, which an @includedir line
// of the first may read, in a private root. Every Defaults name the reader
// saw is then looked up globally and in its own scope. Errors
// (std::runtime_error, naming the file:line) are fine; anything else is a
// finding.
#include <cstdint>
#include <fstream>
#include <string>

#include "fuzz_root.h"
#include "vigil/policy/config_formats.h"

namespace {

const std::filesystem::path& root() {
  static const std::filesystem::path path = vigil::fuzz::make_root("sudoers", {"etc/sudoers.d"});
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vigil::fuzz::write_two_files(root(), "etc/sudoers", "etc/sudoers.d/a", data, size);
  try {
    auto sudoers = vigil::policy::read_sudoers(root(), "/etc/sudoers");
    for (const auto& entry : sudoers.defaults) {
      for (const std::string& binding : {std::string(), entry.binding}) {
        try {
          (void)vigil::policy::sudoers_value(sudoers.defaults, entry.name, binding);
        } catch (const std::runtime_error&) {
          // A value that depends on sudo's built-in one: the check errs.
        }
      }
    }
  } catch (const std::runtime_error&) {
    // Not understood: the control errs, as it should.
  }
  return 0;
}
