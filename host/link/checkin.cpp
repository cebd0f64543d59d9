#include "link/checkin.h"

#include "store/config_table.h"
#include "store/outbox.h"
#include "vigil/crypto/digest.h"

namespace vigil {

Result<bool> Checkin::check_in(const LinkSettings& settings, const link::MachineFacts& facts) {
  std::string serialized;
  std::vector<v1::ModuleStatus> modules = delegate_.module_statuses();
  std::vector<std::string> ignored = delegate_.ignored_settings();
  for (const auto& module : modules) serialized += module.SerializeAsString() + "\n";
  for (const auto& setting : ignored) serialized += setting + "\n";
  std::string digest = crypto::sha256_hex(serialized).substr(0, 16);
  v1::CheckinRequest request = build_request(settings, facts, digest);
  if (digest != last_status_digest_) {
    for (auto& module : modules) *request.add_modules() = std::move(module);
    for (auto& setting : ignored) request.add_ignored_settings(std::move(setting));
  }
  std::vector<v1::CommandOutcome> outcomes = outcomes_.pending();
  for (const auto& outcome : outcomes) *request.add_command_outcomes() = outcome;
  if (auto health = delegate_.health_digest()) *request.mutable_health() = std::move(*health);
  auto reply =
      connection_.post<v1::CheckinResponse>(PlatformConnection::Channel::kLink, "/v1/checkin", request, "check-in");
  // The check-in's own code travels (kUnauthenticated: the platform does not
  // know this agent); failures after it, such as a manifest download, do not.
  if (!reply.ok()) return reply.failure();
  const v1::CheckinResponse& response = reply.value();
  done_commands_.clear();
  outcomes_.acknowledged(outcomes.size());
  last_status_digest_ = response.send_module_status() ? std::string() : digest;
  announced_update_ = response.update_timestamp_version();
  status_.update({{"last_checkin", link::unix_now()},
                  {"last_checkin_bytes", request.ByteSizeLong()},
                  {"last_checkin_reply_bytes", response.ByteSizeLong()}});
  status_.count("checkins");
  if (response.has_state()) {
    if (Status applied = desired_state_.apply(response.state(), settings); !applied.ok()) {
      return Error{applied.error()};  // kFailed whatever the cause
    }
  }
  carry_out(response, settings);
  // Again soon when there is something to report: commands carried out, their outcomes.
  return response.has_state() || !response.commands().empty() || response.send_module_status() ||
         !outcomes_.pending().empty();
}

Status Checkin::leave(const LinkSettings& settings, const link::MachineFacts& facts) {
  v1::CheckinRequest request = build_request(settings, facts, last_status_digest_);
  request.set_leaving(true);
  for (const auto& outcome : outcomes_.pending()) *request.add_command_outcomes() = outcome;
  auto reply =
      connection_.post<v1::CheckinResponse>(PlatformConnection::Channel::kLink, "/v1/checkin", request, "check-in");
  if (!reply.ok()) return reply.failure();
  done_commands_.clear();
  return Status::Ok();
}

void Checkin::forget() {
  last_status_digest_.clear();
  done_commands_.clear();
}

v1::CheckinRequest Checkin::build_request(const LinkSettings& settings, const link::MachineFacts& facts,
                                          const std::string& status_digest) {
  v1::CheckinRequest request;
  request.set_protocol(v1::PROTOCOL_1);
  request.set_agent_id(settings.agent_id);
  request.set_agent_token(settings.agent_token);
  request.set_state_version(settings.state_version);
  request.set_fingerprint(facts.fingerprint);
  request.set_status_digest(status_digest);
  if (auto outbox = store_.outbox().stats(); outbox.ok()) {
    request.set_outbox_depth(outbox.value().depth);
    request.set_outbox_dropped(outbox.value().dropped);
  }
  for (uint64_t id : done_commands_) request.add_done_commands(id);
  return request;
}

void Checkin::carry_out(const v1::CheckinResponse& response, const LinkSettings& settings) {
  for (const v1::Command& command : response.commands()) {
    done_commands_.push_back(command.id());
    if (command.id() != 0 && command.id() <= settings.last_command) continue;  // carried out before a restart
    commands_.carry_out(command);
    if (command.id() != 0) link::log_unsaved(logs_, store_.config().set("LastCommandId", std::to_string(command.id())));
  }
}

}  // namespace vigil
