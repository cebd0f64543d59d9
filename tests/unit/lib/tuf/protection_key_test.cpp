// Self-protection keys: signed by the trusted root's keys, for one agent,
// until they expire; each refusal says why.
#include <gtest/gtest.h>

#include "vigil/tuf/protection_key.h"
#include "vigil/tuf/signer.h"

namespace vigil::tuf::testing {
namespace {

constexpr int64_t kNow = 1'800'000'000;
constexpr const char* kAgent = "6f1c2d3e-0000-4000-8000-000000000001";

struct Keys {
  SigningKey root = ed25519_generate().value();
  SigningKey other = ed25519_generate().value();
  SigningKey targets = ed25519_generate().value();
};

Root trusted_root(const Keys& keys, const std::vector<std::string>& root_keys, int64_t threshold) {
  std::map<Role, RoleSpec> roles;
  roles[Role::kRoot] = {root_keys, threshold};
  for (Role role : {Role::kTimestamp, Role::kSnapshot, Role::kTargets}) roles[role] = {{keys.targets.public_hex}, 1};
  return parse_root(sign_document(root_body(3, kNow + 86'400, roles), {keys.root}).value()).value().body;
}

ProtectionKey key_for(const std::string& agent, int64_t issued = kNow - 60, int64_t life = kProtectionKeyDefaultLife) {
  return {agent, issued, issued + life, 3};
}

TEST(ProtectionKey, AValidKeyIsAccepted) {
  Keys keys;
  std::string text = issue_protection_key(key_for(kAgent), {keys.root}).value();
  EXPECT_EQ(text.rfind("vsp1.", 0), 0u);
  auto checked = check_protection_key(text + "\n", trusted_root(keys, {keys.root.public_hex}, 1), kAgent, kNow);
  ASSERT_TRUE(checked) << checked.error();
  EXPECT_EQ(checked->agent_id, kAgent);
  EXPECT_EQ(checked->expires, kNow - 60 + kProtectionKeyDefaultLife);
}

TEST(ProtectionKey, EachRefusalNamesItsReason) {
  Keys keys;
  Root root = trusted_root(keys, {keys.root.public_hex}, 1);
  auto reason = [&](const std::string& text, int64_t now = kNow) {
    auto checked = check_protection_key(text, root, kAgent, now);
    return checked ? std::string("accepted") : checked.error();
  };
  std::string good = issue_protection_key(key_for(kAgent), {keys.root}).value();
  EXPECT_EQ(reason(good, kNow - 60 + kProtectionKeyDefaultLife), "expired at 2027-01-16T07:59:00Z");
  EXPECT_EQ(reason(issue_protection_key(key_for("someone-else"), {keys.root}).value()),
            "issued for agent someone-else, not this one (" + std::string(kAgent) + ")");
  EXPECT_EQ(reason(issue_protection_key(key_for(kAgent), {keys.other}).value()),
            "not signed by the platform keys this agent trusts (root v3, the key names root v3)");
  EXPECT_EQ(reason(issue_protection_key(key_for(kAgent), {keys.targets}).value()),
            "not signed by the platform keys this agent trusts (root v3, the key names root v3)");
  EXPECT_EQ(reason(issue_protection_key(key_for(kAgent, kNow, 8 * 86'400), {keys.root}).value()),
            "valid for more than 7 days");
  EXPECT_EQ(reason(issue_protection_key(key_for(kAgent, kNow + 3600), {keys.root}).value()),
            "issued in the future (2027-01-15T09:00:00Z)");
  EXPECT_EQ(reason("hello"), "not a self-protection key (it must start vsp1.)");
  EXPECT_EQ(reason("vsp1.!!"), "damaged: not base64url after vsp1.");
  EXPECT_EQ(reason(std::string(9000, 'a')), "longer than any key (9000 bytes)");
  // One changed character of the signed part breaks the signature or the document.
  std::string tampered = good;
  tampered[40] = tampered[40] == 'A' ? 'B' : 'A';
  EXPECT_NE(reason(tampered), "accepted");
}

TEST(ProtectionKey, TheRootThresholdCounts) {
  Keys keys;
  Root two_of_two = trusted_root(keys, {keys.root.public_hex, keys.other.public_hex}, 2);
  std::string one = issue_protection_key(key_for(kAgent), {keys.root}).value();
  std::string both = issue_protection_key(key_for(kAgent), {keys.root, keys.other}).value();
  EXPECT_FALSE(check_protection_key(one, two_of_two, kAgent, kNow));
  EXPECT_TRUE(check_protection_key(both, two_of_two, kAgent, kNow));
}

}  // namespace
}  // namespace vigil::tuf::testing
