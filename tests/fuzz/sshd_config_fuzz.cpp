// Fuzzes the sshd_config reader (Include, Match with every criterion, the
// keyword table, value spellings) with arbitrary text: the part before a line
// "%%" is /etc/ssh/sshd_config, the rest /etc/ssh/sshd_config.d/a.conf, in a
// private root. Errors (std::runtime_error, naming the file:line) are fine;
// anything else is a finding.
#include <cstdint>
#include <fstream>
#include <string>

#include "fuzz_root.h"
#include "vigil/policy/config_formats.h"

namespace {

const std::filesystem::path& root() {
  static const std::filesystem::path path = vigil::fuzz::make_root("sshd", {"etc/ssh/sshd_config.d"});
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vigil::fuzz::write_two_files(root(), "etc/ssh/sshd_config", "etc/ssh/sshd_config.d/a.conf", data, size);
  using vigil::policy::SshdContext;
  const SshdContext contexts[] = {
      {},
      {"root", "root", "client.example.org", "10.1.2.3", "22", "192.168.1.1", "blue"},
      {"nobody", "nogroup,users", "GW.example.com", "2001:db8::5", "2222", "::1", "red1"},
      {"alice", "", "h", "not-an-address", "port", "10.0.0.0/8", ""},
  };
  for (const char* keyword : {"PermitRootLogin", "ChallengeResponseAuthentication", "MaxAuthTries", "LoginGraceTime",
                              "Banner", "AllowUsers", "Ciphers", "ForceCommand", "Protocol", "Nonsense"}) {
    for (const auto& context : contexts) {
      try {
        (void)vigil::policy::sshd_value(root(), "/etc/ssh/sshd_config", keyword, context);
      } catch (const std::runtime_error&) {
        // Refused or not understood: the control errs, as it should.
      }
    }
    (void)vigil::policy::sshd_normalized(keyword, vigil::fuzz::two_files(data, size).first.substr(0, 64));
  }
  return 0;
}
