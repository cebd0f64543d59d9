// The check kinds of the policy engine, one row each: the fields a kind takes,
// what it cannot do without, how it is evaluated and how docs/policies.md
// describes it. Adding a kind is one row in check_kinds.cpp plus its functions;
// policy_test checks that the docs' table of kinds matches these rows.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vigil/policy/policy.h"

namespace vigil::policy {

struct CheckKind {
  std::string_view name;
  std::vector<std::string_view> fields;  // the fields it takes besides an expectation
  bool takes_expectation = false;        // equals, one_of, at_most, … (docs/policies.md "Expectations")
  // What a parsed check of this kind lacks or gets wrong ("" when nothing);
  // fills in the defaults of fields left out.
  std::string (*complete)(Check& check) = nullptr;
  CheckResult (*evaluate)(const Check& check, Environment& environment) = nullptr;
  // Its row in docs/policies.md: "| `name` | fields | passes when |".
  std::string_view fields_doc;
  std::string_view passes_when;
};

const std::vector<CheckKind>& check_kinds();
// nullptr when no kind has that name.
const CheckKind* find_check_kind(std::string_view name);
// "file_exists, permissions, …" in table order, for errors that list them.
std::string check_kind_names();
// The kind's row of the docs' table of kinds.
std::string check_kind_doc_row(const CheckKind& kind);

// The evaluators (checks.cpp), one per kind.
namespace evaluators {
CheckResult file_exists(const Check& check, Environment& environment);
CheckResult permissions(const Check& check, Environment& environment);
CheckResult file_content(const Check& check, Environment& environment);
CheckResult config(const Check& check, Environment& environment);
CheckResult sysctl(const Check& check, Environment& environment);
CheckResult package(const Check& check, Environment& environment);
CheckResult service(const Check& check, Environment& environment);
CheckResult mount(const Check& check, Environment& environment);
CheckResult accounts(const Check& check, Environment& environment);
CheckResult kernel_module(const Check& check, Environment& environment);
CheckResult file_hash(const Check& check, Environment& environment);
CheckResult find(const Check& check, Environment& environment);
CheckResult command(const Check& check, Environment& environment);
CheckResult pam(const Check& check, Environment& environment);
CheckResult sudoers(const Check& check, Environment& environment);
CheckResult systemd_unit(const Check& check, Environment& environment);
CheckResult limits(const Check& check, Environment& environment);
CheckResult pwquality(const Check& check, Environment& environment);
CheckResult kernel_cmdline(const Check& check, Environment& environment);
CheckResult audit_rule(const Check& check, Environment& environment);
}  // namespace evaluators

}  // namespace vigil::policy
