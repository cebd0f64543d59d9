// Self-protection keys: issue (the platform) and check (the agent).
#include "vigil/tuf/protection_key.h"

#include <array>
#include <set>

#include "vigil/tuf/canonical_json.h"
#include "vigil/tuf/signer.h"

namespace vigil::tuf {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kPrefix = "vsp1.";
constexpr std::string_view kType = "vigil-protection-key";
constexpr size_t kMaxText = 8192;
constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view bytes) {
  std::string text;
  uint32_t bits = 0;
  int count = 0;
  for (unsigned char byte : bytes) {
    bits = (bits << 8) | byte;
    count += 8;
    while (count >= 6) {
      count -= 6;
      text += kAlphabet[(bits >> count) & 63];
    }
  }
  if (count > 0) text += kAlphabet[(bits << (6 - count)) & 63];
  return text;
}

std::optional<std::string> from_base64url(std::string_view text) {
  std::array<int, 256> value{};
  value.fill(-1);
  for (size_t i = 0; i < kAlphabet.size(); ++i) value[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int>(i);
  std::string bytes;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    int digit = value[static_cast<unsigned char>(c)];
    if (digit < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<uint32_t>(digit);
    count += 6;
    if (count >= 8) {
      count -= 8;
      bytes += static_cast<char>((bits >> count) & 0xff);
    }
  }
  if (count >= 6 || (bits & ((1u << count) - 1)) != 0) return std::nullopt;  // not what an encoder writes
  return bytes;
}

Error refused(std::string text) {
  return Error{std::move(text)};
}

Result<std::string> text_field(const Json& fields, const char* name) {
  auto found = fields.find(name);
  if (found == fields.end() || !found->is_string())
    return refused(std::string("'") + name + "' is missing or not text");
  return found->get<std::string>();
}

Result<int64_t> time_field(const Json& fields, const char* name) {
  Result<std::string> text = text_field(fields, name);
  if (!text) return text.failure();
  std::optional<int64_t> when = parse_expires(*text);
  if (!when) return refused(std::string("'") + name + "' is not YYYY-MM-DDTHH:MM:SSZ");
  return *when;
}

}  // namespace

Result<std::string> issue_protection_key(const ProtectionKey& key, const std::vector<SigningKey>& root_keys) {
  Json body = {{"_type", kType},
               {"agent_id", key.agent_id},
               {"issued", format_time(key.issued)},
               {"expires", format_time(key.expires)},
               {"root_version", key.root_version}};
  Result<std::string> document = sign_document(body, root_keys);
  if (!document) return document.failure();
  return std::string(kPrefix) + base64url(*document);
}

Result<ProtectionKey> check_protection_key(std::string_view text, const Root& trusted_root, std::string_view agent_id,
                                           int64_t now) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  if (text.size() > kMaxText) return refused("longer than any key (" + std::to_string(text.size()) + " bytes)");
  if (text.substr(0, kPrefix.size()) != kPrefix) return refused("not a self-protection key (it must start vsp1.)");
  std::optional<std::string> bytes = from_base64url(text.substr(kPrefix.size()));
  if (!bytes) return refused("damaged: not base64url after vsp1.");
  Result<Json> document = parse_strict(*bytes, kMaxText);
  if (!document) return refused("damaged: " + document.error());
  if (!document->is_object() || !document->contains("signed") || !(*document)["signed"].is_object() ||
      !document->contains("signatures") || !(*document)["signatures"].is_array()) {
    return refused("damaged: not a signed document");
  }
  const Json& fields = (*document)["signed"];
  Result<std::string> type = text_field(fields, "_type");
  if (!type) return type.failure();
  if (*type != kType) return refused("type '" + *type + "', expected '" + std::string(kType) + "'");
  ProtectionKey key;
  Result<std::string> agent = text_field(fields, "agent_id");
  Result<int64_t> issued = time_field(fields, "issued");
  Result<int64_t> expires = time_field(fields, "expires");
  if (!agent) return agent.failure();
  if (!issued) return issued.failure();
  if (!expires) return expires.failure();
  auto version = fields.find("root_version");
  if (version == fields.end() || !version->is_number_integer()) return refused("'root_version' is missing");
  key = {*agent, *issued, *expires, version->get<int64_t>()};

  std::vector<Signature> signatures;
  std::set<std::string> signers;
  for (const Json& entry : (*document)["signatures"]) {
    if (!entry.is_object() || !entry.contains("keyid") || !entry["keyid"].is_string() || !entry.contains("sig") ||
        !entry["sig"].is_string()) {
      return refused("damaged: a signature is not {keyid, sig}");
    }
    if (!signers.insert(entry["keyid"].get<std::string>()).second) return refused("two signatures by one key");
    signatures.push_back({entry["keyid"].get<std::string>(), entry["sig"].get<std::string>()});
  }
  Result<std::string> message = canonical(fields);
  if (!message) return refused("damaged: " + message.error());
  auto role = trusted_root.roles.find("root");
  if (role == trusted_root.roles.end() ||
      count_valid_signatures(trusted_root, role->second, signatures, *message) < role->second.threshold) {
    return refused("not signed by the platform keys this agent trusts (root v" + std::to_string(trusted_root.version) +
                   ", the key names root v" + std::to_string(key.root_version) + ")");
  }
  if (key.agent_id != agent_id) {
    return refused("issued for agent " + key.agent_id + ", not this one (" + std::string(agent_id) + ")");
  }
  if (key.expires - key.issued > kProtectionKeyMaxLife) return refused("valid for more than 7 days");
  if (now >= key.expires) return refused("expired at " + format_time(key.expires));
  if (now < key.issued - 300) return refused("issued in the future (" + format_time(key.issued) + ")");
  return key;
}

}  // namespace vigil::tuf
