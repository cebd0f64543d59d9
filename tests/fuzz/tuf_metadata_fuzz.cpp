// Fuzzes TUF metadata handling: any bytes either parse strictly or are refused
// with a reason; the canonical form of what parses is stable; each role parser
// and a trusted set built on a valid root take the bytes without crashing;
// no bytes pass as a self-protection key.
#include <cstdint>
#include <string>
#include <string_view>

#include "vigil/tuf/canonical_json.h"
#include "vigil/tuf/metadata.h"
#include "vigil/tuf/protection_key.h"
#include "vigil/tuf/signer.h"
#include "vigil/tuf/trusted_set.h"

namespace {

using namespace vigil::tuf;

// A root v1 signed by one key for every role, made once.
const std::string& valid_root() {
  static const std::string root = [] {
    SigningKey key = ed25519_generate().value();
    std::map<Role, RoleSpec> roles;
    for (Role role : {Role::kRoot, Role::kTimestamp, Role::kSnapshot, Role::kTargets})
      roles[role] = {{key.public_hex}, 1};
    return sign_document(root_body(1, 4'000'000'000, roles), {key}).value();
  }();
  return root;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_strict(bytes, 1 << 20);
  if (!parsed && parsed.error().empty()) __builtin_trap();
  if (parsed) {
    auto first = canonical(*parsed);
    // The canonical form leaves control characters raw, so it is only JSON without them.
    bool has_control = false;
    if (first) {
      for (char c : *first) has_control |= static_cast<unsigned char>(c) < 0x20;
    }
    if (first && !has_control) {
      auto again = parse_strict(*first, 1 << 20);
      if (!again || canonical(*again).value() != *first) __builtin_trap();
    }
  }
  (void)parse_root(bytes);
  (void)parse_timestamp(bytes);
  (void)parse_snapshot(bytes);
  (void)parse_targets(bytes);
  (void)claimed_version(bytes);
  auto set = TrustedSet::create(valid_root(), 1'800'000'000);
  if (!set) __builtin_trap();
  if (set->update_root(bytes)) __builtin_trap();  // nothing random is signed by the key
  if (set->update_timestamp(bytes)) __builtin_trap();
  // A self-protection key: random bytes (also behind the prefix) never check.
  Root root = parse_root(valid_root()).value().body;
  if (check_protection_key(bytes, root, "agent", 1'800'000'000)) __builtin_trap();
  if (check_protection_key("vsp1." + std::string(bytes), root, "agent", 1'800'000'000)) __builtin_trap();
  return 0;
}
