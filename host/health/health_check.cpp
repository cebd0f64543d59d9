#include "health/health_check.h"

#include <ctime>
#include <future>
#include <map>

#include <fmt/format.h>

#include "control_socket/control_client.h"
#include "health/context.h"
#include "health/facts.h"
#include "health/steps.h"
#include "proxy/proxy_settings.h"
#include "vigil/agent/v1/agent.pb.h"
#include "vigil/tuf/metadata.h"

namespace vigil::health {
namespace {

namespace v1 = ::vigil::agent::v1;
using Clock = std::chrono::steady_clock;

nlohmann::json ask_daemon(Context& context, const char* command) {
  auto answer = call_daemon(context.paths.control_socket(), {{"command", command}}, context.timeout);
  if (!answer.ok()) {
    context.daemon_error = answer.error();
    return nullptr;
  }
  if (!answer.value().value("ok", false)) {
    context.daemon_error = answer.value().value("error", std::string("vigild refused the request"));
    return nullptr;
  }
  return std::move(answer.value());
}

// The snapshot metadata the trusted timestamp describes (version, length,
// sha256): a file the platform serves that the agent can check by itself.
std::optional<KnownFile> known_file(const Context& context) {
  auto agent_id = context.config("AgentId");
  auto token = context.config("AgentToken");
  if (!agent_id || !token || !context.store) return std::nullopt;
  auto stored = context.store->update_metadata().load("timestamp");
  if (!stored.ok() || !stored.value()) return std::nullopt;
  auto timestamp = tuf::parse_timestamp(*stored.value());
  if (!timestamp || !timestamp->body.snapshot.length || timestamp->body.snapshot.hashes.empty()) return std::nullopt;
  const tuf::MetaFile& snapshot = timestamp->body.snapshot;
  v1::UpdateMetadataRequest request;
  request.set_protocol(v1::PROTOCOL_1);
  request.set_agent_id(*agent_id);
  request.set_agent_token(*token);
  request.set_role("snapshot");
  request.set_version(static_cast<uint64_t>(snapshot.version));
  KnownFile file;
  file.name = "update metadata snapshot v" + std::to_string(snapshot.version);
  file.path = "/v1/update-metadata";
  file.request = request.SerializeAsString();
  file.file_of = [](const std::string& reply) -> Result<std::string> {
    v1::UpdateMetadataResponse response;
    if (!response.ParseFromString(reply)) return Error{"the reply is not an update-metadata response"};
    return std::string(response.metadata());
  };
  file.length = *snapshot.length;
  file.hashes = snapshot.hashes;
  return file;
}

std::future<PlatformProbes> start_probes(const Context& context) {
  std::string server = context.config("ServerUri").value_or("");
  std::optional<std::filesystem::path> ca_bundle = context.ca_bundle();
  // Read here, on this thread: the probes' thread gets values, not the store.
  std::map<std::string, std::string> proxy_config;
  for (const char* key : proxy::all_keys()) {
    if (auto value = context.config(key)) proxy_config[key] = *value;
  }
  return std::async(std::launch::async, probe_platform, context.paths, server, ca_bundle, proxy_config, context.timeout,
                    known_file(context));
}

Step placeholder_error(const std::string& what) {
  Step step{.name = "tool", .title = "Health check tool"};
  step.add(Severity::kCritical, "tool-error", what,
           "run vigilctl health again; if it persists, report it with vigilctl diagnostics");
  return step;
}

}  // namespace

std::filesystem::path report_directory(const Paths& paths) {
  std::filesystem::path log_dir = paths.log_dir;
  if (std::filesystem::exists(paths.state_db())) {
    if (auto store = ReadOnlyStore::open(paths.state_db()); store.ok()) {
      if (auto dir = store.value()->config().get("LogFileDir"); dir.ok() && dir.value() && !dir.value()->empty()) {
        log_dir = paths.root / std::filesystem::path(*dir.value()).relative_path();
      }
    }
  }
  return log_dir / "HealthCheck";
}

Report run_health_check(const Paths& paths, const HealthOptions& options) {
  auto started = Clock::now();
  Report report;
  Context context;
  context.paths = paths;
  context.timeout = options.timeout;
  context.now = static_cast<int64_t>(std::time(nullptr));
  context.program_dir = options.program_dir;
  try {
    if (std::filesystem::exists(paths.state_db())) {
      auto store = ReadOnlyStore::open(paths.state_db());
      if (store.ok()) {
        context.read_only = std::move(store.value());
        context.store.emplace(*context.read_only);
      } else {
        context.store_error = store.error();
        report.tool_error = true;
      }
    }
    std::future<PlatformProbes> probes;
    if (context.store) probes = start_probes(context);
    context.lock_held = instance_lock_held(paths);
    context.status = ask_daemon(context, "status");
    if (context.daemon_answered()) {
      nlohmann::json plugins = ask_daemon(context, "plugins");
      if (plugins.is_object()) context.plugins = plugins.value("plugins", nlohmann::json());
    }
    if (probes.valid()) context.probes = probes.get();

    report.steps.push_back(check_installed(context, report));
    report.steps.push_back(check_service(context, report));
    report.steps.push_back(check_processes(context, report));
    report.steps.push_back(check_certificates(context));
    report.steps.push_back(check_proxy_settings(context));
    report.steps.push_back(check_connectivity(context));
    report.steps.push_back(check_communication(context));
    report.steps.push_back(check_modules(context));
    report.steps.push_back(check_plugin_update_trust(context));
    report.steps.push_back(check_patch_connectivity(context));
    report.provisioned = context.config("ServerUri").has_value() && context.config("AgentId").has_value();
    collect_facts(context, report);
    report.facts["provisioned"] = report.provisioned;
    report.facts["proxy"] = report.steps[4].details;
    judge_free_disk(report, report.steps[0]);
    for (const auto& extra : options.extra_steps) report.steps.push_back(extra(context));
  } catch (const std::exception& error) {
    report.tool_error = true;
    report.steps.push_back(placeholder_error(std::string("the health check failed: ") + error.what()));
    if (!report.facts.contains("timestamp")) report.facts["timestamp"] = utc_time(context.now);
  }
  report.wall_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return report;
}

}  // namespace vigil::health
