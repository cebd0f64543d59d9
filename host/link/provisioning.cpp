#include "link/provisioning.h"

#include "store/config_table.h"
#include "version.h"
#include "vigil/crypto/digest.h"
#include "vigil/crypto/random.h"

namespace vigil {

namespace keys = link_keys;

std::optional<std::string> provisioning_reason(const LinkSettings& settings, const link::MachineFacts& facts) {
  if (!settings.provisioned()) return std::string("new");
  if (!settings.reprovision_reason.empty()) return settings.reprovision_reason;
  if (settings.provisioned_for != settings.target()) return std::string("migrated");
  if (settings.fingerprint != facts.fingerprint) return std::string("cloned");
  return std::nullopt;
}

Result<v1::ProvisionResponse> Provisioner::provision(const LinkSettings& settings, const link::MachineFacts& facts,
                                                     const std::string& reason) {
  auto log = logs_.daemon();
  auto host_id_path = link::host_id_file(paths_.root, settings.host_id_search_dir);
  auto request = build_request(settings, facts, reason, host_id_path);
  if (!request.ok()) return Error{request.error()};
  const std::string& previous = request.value().previous_agent_id();
  log->info("provisioning against {} (customer {}, reason: {}{})", settings.server_uri, settings.customer_id,
            previous.empty() ? reason : request.value().reason(),
            previous.empty() ? "" : ", previous agent id " + previous);
  auto reply = connection_.post<v1::ProvisionResponse>(PlatformConnection::Channel::kLink, "/v1/provision",
                                                       request.value(), "provision");
  if (!reply.ok()) return Error{reply.error()};
  const v1::ProvisionResponse& response = reply.value();
  if (!crypto::is_uuid(response.agent_id()) || response.agent_token().empty()) {
    return Error{"the platform's provision reply carries no valid agent id"};
  }
  if (Status saved = save_identity(response, settings, facts); !saved.ok()) return Error{saved.error()};
  if (Status written = link::write_host_id(host_id_path, response.agent_id()); !written.ok()) {
    log->warn("host id file not written: {}", written.error());
  }
  log->info("provisioned: agent id {} (platform {})", response.agent_id(), settings.server_uri);
  return reply;
}

Result<v1::ProvisionRequest> Provisioner::build_request(const LinkSettings& settings, const link::MachineFacts& facts,
                                                        const std::string& reason,
                                                        const std::filesystem::path& host_id_path) {
  v1::ProvisionRequest request;
  request.set_protocol(v1::PROTOCOL_1);
  request.set_customer_id(settings.customer_id);
  request.set_activation_id(settings.activation_id);
  std::string previous = settings.agent_id;
  std::string why = reason;
  if (previous.empty()) {
    // A reinstall keeps the host id file: offer the id it holds back.
    if (auto kept = link::read_host_id(host_id_path)) {
      previous = *kept;
      why = "reinstalled";
    }
  }
  if (!previous.empty()) {
    request.set_previous_agent_id(previous);
    request.set_reason(why);
  }
  // The same nonce until an identity is saved: the platform answers a repeated
  // request (after a crash or a lost reply) with the same agent.
  std::string nonce = settings.nonce;
  if (nonce.empty()) {
    nonce = crypto::random_hex(16);
    if (Status kept = store_.config().set("ProvisionNonce", nonce); !kept.ok()) return Error{kept.error()};
  }
  request.set_request_nonce(nonce);
  v1::HostFacts* host = request.mutable_facts();
  host->set_hostname(facts.hostname);
  host->set_os_name(facts.os_name);
  host->set_kernel(facts.kernel);
  host->set_architecture(facts.architecture);
  for (const auto& mac : facts.mac_addresses) host->add_mac_addresses(mac);
  for (const auto& address : facts.ip_addresses) host->add_ip_addresses(address);
  host->set_agent_version(kVigilVersion);
  host->set_fingerprint(facts.fingerprint);
  return request;
}

Status Provisioner::save_identity(const v1::ProvisionResponse& response, const LinkSettings& settings,
                                  const link::MachineFacts& facts) {
  // The new identity in one transaction; a crash before it means provisioning again
  // with the same nonce, which the platform answers with the same agent.
  // The platform knows nothing of a new identity: what went before, to another
  // agent id or to a standalone agent's upload directory (which every module's
  // default manifest fills), is forgotten, so every module uploads in full.
  bool new_id = response.agent_id() != settings.agent_id;
  if (new_id) {
    auto dropped = store_.reset_uploaded_state();
    if (!dropped.ok()) return Error{dropped.error()};
    logs_.daemon()->info(
        "new identity: {} outbox entries {} dropped; every module uploads in full next", dropped.value(),
        settings.agent_id.empty() ? std::string("for the upload directory") : "of agent " + settings.agent_id);
  }
  return store_.config().update({{keys::kAgentId, response.agent_id()},
                                 {keys::kAgentToken, response.agent_token()},
                                 {"ProvisionedFor", settings.target()},
                                 {"HostFingerprint", facts.fingerprint},
                                 {"ProvisionedAt", std::to_string(link::unix_now())},
                                 {keys::kReprovisionReason, std::nullopt},
                                 {"ProvisionNonce", std::nullopt},
                                 {"StateVersion", std::nullopt},
                                 {"LastCommandId", std::nullopt}});
}

}  // namespace vigil
