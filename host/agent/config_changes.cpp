// Settings changed by vigilctl config while the agent runs: each key applies
// where it is used. Most are read afresh whenever they are used (the next
// scan, command, connection or check-in); the rest are applied here, or wait
// for a restart, which the registry says (and why) and the reply repeats.
#include "agent/agent.h"
#include "settings/catalog.h"
#include "settings/reader.h"
#include "store/config_table.h"
#include "store/outbox.h"

namespace vigil {

using nlohmann::json;

void Agent::apply_log_level() {
  settings::Reader config(store_->config(), [this](const std::string& problem) { logs_->warn_once(problem); });
  logs_->set_level(static_cast<int>(config.integer("Logs/TraceLevel", "", config.integer("LogLevel"))));
}

void Agent::apply_outbox_limits() {
  settings::Reader config(store_->config(), [this](const std::string& problem) { logs_->warn_once(problem); });
  store_->outbox().set_limits(config.integer("OutboxMaxEntries"), config.integer("OutboxMaxBytes"));
}

void Agent::config_changed(const json& request, const ControlServer::Reply& reply) {
  auto catalog = settings::Catalog::load(store_->config());
  json restart = json::array();
  for (const auto& key : request.at("keys")) {
    if (!catalog.ok()) break;
    auto resolved = catalog.value().resolve(key.get<std::string>());
    if (resolved.ok() && resolved.value().setting != nullptr && !resolved.value().setting->live)
      restart.push_back(resolved.value().key);
  }
  apply_log_level();
  apply_outbox_limits();
  apply_self_protection();
  // Intervals and CPU limits: planned again from the new values.
  scheduler_->profile_changed();
  // The platform settings: the link checks in now, with them.
  link_->wake();
  logs_->daemon()->info("configuration changed: {}{}", request.at("keys").dump(),
                        restart.empty() ? "" : "; after a restart: " + restart.dump());
  reply({{"ok", true}, {"restart_needed", restart}});
}

}  // namespace vigil
