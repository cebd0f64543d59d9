// Fuzzes the audit rules reader with arbitrary file text: the input before a
// line "%%" is /etc/audit/rules.d/10-a.rules, the rest 9-b.rules (read
// first: ls -v order), in a private root; the same text is also read as
// auditctl -l output. Every rule found is then asked for by a watch and a
// syscall check. Errors (std::runtime_error, naming the file:line) are fine;
// anything else is a finding.
#include <cstdint>
#include <fstream>
#include <string>

#include "fuzz_root.h"
#include "vigil/policy/audit_rules.h"

namespace {

const std::filesystem::path& root() {
  static const std::filesystem::path path = vigil::fuzz::make_root("audit-rules", {"etc/audit/rules.d", "etc/x"});
  return path;
}

void ask_about_every_rule(const vigil::policy::AuditRules& rules) {
  for (const auto& rule : rules.rules) {
    vigil::policy::AuditWant want;
    want.arches = {"b64", "b32"};
    want.syscalls = rule.syscalls;
    want.fields = rule.fields;
    for (const auto& field : rule.fields) {
      if (field.name == "path" || field.name == "dir") {
        want.watch = field.value;
        want.permissions = "wa";
      }
    }
    try {
      (void)vigil::policy::audit_coverage(rules, want);
    } catch (const std::runtime_error&) {
      // A rule that may stop the events: the check errs.
    }
    (void)vigil::policy::audit_rule_canonical(rule);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [first, second] = vigil::fuzz::two_files(data, size);
  std::ofstream(root() / "etc/audit/rules.d/10-a.rules", std::ios::binary | std::ios::trunc) << first;
  std::ofstream(root() / "etc/audit/rules.d/9-b.rules", std::ios::binary | std::ios::trunc) << second;
  try {
    ask_about_every_rule(vigil::policy::read_audit_rules_files(root()));
  } catch (const std::runtime_error&) {
    // Not understood: the control errs, as it should.
  }
  try {
    ask_about_every_rule(vigil::policy::parse_auditctl_listing(first, second));
  } catch (const std::runtime_error&) {
  }
  return 0;
}
