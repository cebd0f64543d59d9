// lib/tuf's pieces on their own: the strict parser, the canonical form
// (checked against securesystemslib's encode_canonical), Ed25519 (RFC 8032
// vectors), key ids, the role parsers and each refusal of the trusted set.
#include <gtest/gtest.h>

#include "repo_simulator.h"
#include "vigil/tuf/canonical_json.h"
#include "vigil/tuf/ed25519.h"
#include "vigil/tuf/metadata.h"
#include "vigil/tuf/signer.h"
#include "vigil/tuf/trusted_set.h"

namespace vigil::tuf::testing {
namespace {

using Json = nlohmann::json;

std::string canonical_of(std::string_view text) {
  return canonical(parse_strict(text, 1 << 20).value()).value();
}

TEST(CanonicalJson, MatchesSecuresystemslib) {
  // Expected bytes from securesystemslib 0.26's encode_canonical (Debian bookworm).
  EXPECT_EQ(canonical_of(R"({"b":1,"a":[true,false,null],"c":"q\"u\\o\nt\u00e9"})"),
            "{\"a\":[true,false,null],\"b\":1,\"c\":\"q\\\"u\\\\o\nt\xc3\xa9\"}");
  EXPECT_EQ(canonical_of(R"({"\u00e9":1,"z":2,"A":-5,"":{}})"), "{\"\":{},\"A\":-5,\"z\":2,\"\xc3\xa9\":1}");
}

TEST(CanonicalJson, RefusesFloats) {
  EXPECT_FALSE(canonical(Json::parse("1.5")));
  EXPECT_EQ(canonical(Json::object({{"a", 0.5}})).error(), "a float has no canonical form");
}

TEST(StrictParser, RefusesWhatTwoParsersCouldReadDifferently) {
  EXPECT_EQ(parse_strict(R"({"a":1,"a":2})", 100).error(), "the key 'a' appears twice in one object");
  EXPECT_EQ(parse_strict(R"({"a":{"b":1},"c":{"b":2}})", 100).ok(), true);  // the same key in two objects
  EXPECT_EQ(parse_strict(R"({"a":1.0})", 100).error(), "a number that is not an integer");
  EXPECT_EQ(parse_strict(R"({"a":1e3})", 100).error(), "a number that is not an integer");
  EXPECT_EQ(parse_strict(R"({"a":9223372036854775808})", 100).error(), "an integer larger than int64");
  EXPECT_TRUE(parse_strict(R"({"a":9223372036854775807})", 100));
  EXPECT_FALSE(parse_strict("{\"a\":\"\xff\"}", 100));    // invalid UTF-8
  EXPECT_FALSE(parse_strict(R"({"a":"\ud800"})", 100));   // lone surrogate
  EXPECT_FALSE(parse_strict(R"({"a":1} {"b":2})", 100));  // trailing document
  EXPECT_TRUE(parse_strict("{\"a\":1} \n", 100));         // trailing whitespace is fine
  EXPECT_EQ(parse_strict(R"({"a":1})", 6).error(), "7 bytes, more than the 6 allowed");
  std::string deep = std::string(40, '[') + std::string(40, ']');
  EXPECT_EQ(parse_strict(deep, 1000).error(), "nested deeper than 32");
}

TEST(Ed25519, Rfc8032Vectors) {
  struct Vector {
    const char* public_hex;
    std::string message;
    const char* signature;
  };
  const Vector vectors[] = {
      {"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe2"
       "4"
       "655141438e7a100b"},
      {"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "\x72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302a"
       "eeb00d291612bb0c00"},
      {"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "\xaf\x82",
       "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed2"
       "8dc027beceea1ec40a"},
  };
  for (const Vector& vector : vectors) {
    EXPECT_TRUE(ed25519_verify(vector.public_hex, vector.signature, vector.message));
    std::string flipped = vector.signature;
    flipped[10] = flipped[10] == '0' ? '1' : '0';
    EXPECT_FALSE(ed25519_verify(vector.public_hex, flipped, vector.message));
    EXPECT_FALSE(ed25519_verify(vector.public_hex, vector.signature, vector.message + "x"));
    EXPECT_FALSE(ed25519_verify(vector.public_hex, std::string(vector.signature).substr(2), vector.message));
    EXPECT_FALSE(ed25519_verify(std::string(vector.public_hex).substr(2), vector.signature, vector.message));
    EXPECT_FALSE(ed25519_verify(vector.public_hex, "", vector.message));
  }
}

TEST(Ed25519, SignsWhatItVerifiesAndReadsItsOwnPem) {
  SigningKey key = ed25519_generate().value();
  std::string signature = ed25519_sign(key, "message").value();
  EXPECT_EQ(signature.size(), 128u);
  EXPECT_TRUE(ed25519_verify(key.public_hex, signature, "message"));
  EXPECT_FALSE(ed25519_verify(key.public_hex, signature, "massage"));
  Result<SigningKey> read = ed25519_read(key.private_pem);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->public_hex, key.public_hex);
  EXPECT_FALSE(ed25519_read("not a key"));
}

TEST(KeyId, IsTheSha256OfTheCanonicalKeyWithExtraFields) {
  // Expected ids from securesystemslib: sha256 of encode_canonical(key).
  const std::string public_hex = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
  EXPECT_EQ(key_id(ed25519_key_object(public_hex)).value(),
            "74c181c7ad8a0855d4b55e44d2ba87aabdddb196832571f15f92fece332e4916");
  Json with_extra = ed25519_key_object(public_hex);
  with_extra["keyid_hash_algorithms"] = {"sha256", "sha512"};
  EXPECT_EQ(key_id(with_extra).value(), "01e8764eedab63b3593451765fc337b2cc6d2c66923845da255f448c19e2afc5");
}

TEST(Expires, OnlyTheExactFormIsADate) {
  EXPECT_EQ(parse_expires("2026-06-01T00:00:00Z"), kNow);
  EXPECT_EQ(format_time(kNow), "2026-06-01T00:00:00Z");
  for (const char* bad : {"2026-06-01T00:00:00", "2026-06-01 00:00:00Z", "2026-02-30T00:00:00Z",
                          "2026-06-01T00:00:00.5Z", "2026-06-01T24:00:00Z", "+026-06-01T00:00:00Z", ""}) {
    EXPECT_FALSE(parse_expires(bad)) << bad;
  }
}

// A signed document of `role` after `edit` changed its "signed" part.
std::string signed_with(RepoSimulator& repo, Role role, const std::function<void(Json&)>& edit) {
  Json body = repo.body(role);
  edit(body);
  return repo.sign(body, repo.signers(role));
}

TEST(RoleParsers, NameWhatIsWrong) {
  RepoSimulator repo;
  auto error_of = [&](Role role, const std::function<void(Json&)>& edit) {
    std::string bytes = signed_with(repo, role, edit);
    switch (role) {
      case Role::kRoot: return parse_root(bytes).error();
      case Role::kTimestamp: return parse_timestamp(bytes).error();
      case Role::kSnapshot: return parse_snapshot(bytes).error();
      case Role::kTargets: break;
    }
    return parse_targets(bytes).error();
  };
  EXPECT_EQ(error_of(Role::kTimestamp, [](Json& b) { b["spec_version"] = "2.0.0"; }),
            "spec_version 2.0.0 (this agent reads 1.x)");
  EXPECT_EQ(error_of(Role::kTimestamp, [](Json& b) { b["version"] = 0; }), "signed's 'version' is 0, below 1");
  EXPECT_EQ(error_of(Role::kTimestamp, [](Json& b) { b["expires"] = "tomorrow"; }),
            "expires 'tomorrow' is not YYYY-MM-DDTHH:MM:SSZ");
  EXPECT_EQ(error_of(Role::kSnapshot, [](Json& b) { b["_type"] = "timestamp"; }),
            "type 'timestamp', expected 'snapshot'");
  EXPECT_EQ(error_of(Role::kTargets,
                     [](Json& b) {
                       b["delegations"] = {{"keys", Json::object()}, {"roles", {{{"name", "x"}}}}};
                     }),
            "delegations are not supported by this agent");
  EXPECT_EQ(error_of(Role::kRoot, [](Json& b) { b["roles"].erase("targets"); }), "root names no targets role");
  EXPECT_EQ(error_of(Role::kRoot, [](Json& b) { b["roles"]["targets"]["threshold"] = 0; }),
            "role targets's 'threshold' is 0, below 1");
  EXPECT_EQ(error_of(Role::kRoot,
                     [](Json& b) {
                       Json& ids = b["roles"]["snapshot"]["keyids"];
                       ids.push_back(ids[0]);
                     }),
            "role snapshot lists key " +
                repo.body(Role::kRoot)["roles"]["snapshot"]["keyids"][0].get<std::string>().substr(0, 8) + " twice");
  EXPECT_EQ(error_of(Role::kRoot,
                     [](Json& b) {
                       auto first = b["keys"].begin();
                       (*first)["keyval"]["public"] = std::string(64, '0');
                     }),
            "key id " + repo.body(Role::kRoot)["keys"].begin().key().substr(0, 8) + " is not the hash of its key");
  EXPECT_EQ(error_of(Role::kTargets,
                     [](Json& b) {
                       b["targets"]["x"] = {{"length", 1}, {"hashes", Json::object()}};
                     }),
            "target x lists no hashes");
}

TEST(TrustedSet, PersistsNothingItself_ChecksTheFixedTimeOnly) {
  // The set judges expiry by the time it was made with, however long it lives.
  RepoSimulator repo;
  repo.body(Role::kTimestamp)["expires"] = format_time(kNow + 10);
  repo.publish({Role::kTimestamp});
  TrustedSet set = TrustedSet::create(repo.published[Role::kRoot].front(), kNow).value();
  EXPECT_TRUE(set.update_timestamp(repo.published[Role::kTimestamp].back()));
  TrustedSet later = TrustedSet::create(repo.published[Role::kRoot].front(), kNow + 10).value();
  Status expired = later.update_timestamp(repo.published[Role::kTimestamp].back());
  EXPECT_EQ(expired.error(), "timestamp v2 refused: expired " + format_time(kNow + 10) + " (freeze attack)");
  EXPECT_EQ(later.last_refusal(), RefusalKind::kFreeze);
}

TEST(TrustedSet, UnknownKeyTypesAndJunkSignaturesNeverCount) {
  RepoSimulator repo;
  // An RSA key in the timestamp role, threshold 2: the Ed25519 signature alone is 1 of 2.
  Json rsa = {{"keytype", "rsa"}, {"scheme", "rsassa-pss-sha256"}, {"keyval", {{"public", "-----BEGIN…"}}}};
  std::string rsa_id = key_id(rsa).value();
  repo.body(Role::kRoot)["keys"][rsa_id] = rsa;
  repo.body(Role::kRoot)["roles"]["timestamp"]["keyids"].push_back(rsa_id);
  repo.body(Role::kRoot)["roles"]["timestamp"]["threshold"] = 2;
  repo.published[Role::kRoot].clear();
  repo.publish({Role::kRoot, Role::kTimestamp});
  Json timestamp = Json::parse(repo.published[Role::kTimestamp].back());
  timestamp["signatures"].push_back({{"keyid", rsa_id}, {"sig", "00ff"}});
  TrustedSet set = TrustedSet::create(repo.published[Role::kRoot].front(), kNow).value();
  EXPECT_EQ(set.update_timestamp(timestamp.dump()).error(), "timestamp v2 refused: signed by 1 of 2 required keys");
}

}  // namespace
}  // namespace vigil::tuf::testing
