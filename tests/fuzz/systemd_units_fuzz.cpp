// Fuzzes the systemd reader with arbitrary file text: the input before a line
// "%%" is the unit file foo-bar@x.service, the rest a drop-in of it and
// /etc/systemd/journald.conf, in a private root. Every key this reader knows
// is looked up. Errors (std::runtime_error, naming the file:line) are fine;
// anything else is a finding.
#include <cstdint>
#include <fstream>
#include <string>

#include "fuzz_root.h"
#include "vigil/policy/systemd_units.h"

namespace {

const std::filesystem::path& root() {
  static const std::filesystem::path path = vigil::fuzz::make_root(
      "systemd-units", {"etc/systemd/system/foo-.service.d", "lib/systemd/system", "etc/systemd/journald.conf.d"});
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [unit, dropin] = vigil::fuzz::two_files(data, size);
  std::ofstream(root() / "lib/systemd/system/foo-bar@.service", std::ios::binary | std::ios::trunc) << unit;
  std::ofstream(root() / "etc/systemd/system/foo-.service.d/a.conf", std::ios::binary | std::ios::trunc) << dropin;
  std::ofstream(root() / "etc/systemd/journald.conf", std::ios::binary | std::ios::trunc) << dropin;
  for (const char* key :
       {"Service.User", "Service.NoNewPrivileges", "Service.ProtectSystem", "Install.WantedBy", "Unit.Description"}) {
    try {
      auto files = vigil::policy::find_unit_files(root(), "foo-bar@x.service");
      (void)vigil::policy::systemd_unit_value(root(), files, key);
    } catch (const std::runtime_error&) {
      // Not understood: the control errs, as it should.
    }
  }
  for (const char* key : {"Journal.Storage", "Journal.Compress"}) {
    try {
      (void)vigil::policy::systemd_config_value(root(), "/etc/systemd/journald.conf", key);
    } catch (const std::runtime_error&) {
      // Not understood: the control errs, as it should.
    }
  }
  return 0;
}
