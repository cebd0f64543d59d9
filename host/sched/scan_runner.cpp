// Scan execution on a worker thread and snapshot storage.
#include "sched/scan_runner.h"

#include <chrono>

namespace vigil {
namespace {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Marks a scan active for its whole run. The plugin reference is dropped before
// the count, so whoever waits for the plugin to go idle holds the last one.
class ActiveScan {
 public:
  explicit ActiveScan(std::shared_ptr<LoadedPlugin> plugin) : plugin_(std::move(plugin)) {
    started_ = plugin_->begin_scan();
  }
  ~ActiveScan() {
    if (!started_) return;
    LoadedPlugin* raw = plugin_.get();
    plugin_.reset();
    raw->end_scan();
  }
  ActiveScan(const ActiveScan&) = delete;
  ActiveScan& operator=(const ActiveScan&) = delete;
  bool started() const { return started_; }

 private:
  std::shared_ptr<LoadedPlugin> plugin_;
  bool started_ = false;
};

}  // namespace

std::string status_name(vigil_status status) {
  switch (status) {
    case VIGIL_OK: return "ok";
    case VIGIL_E_INVALID_ARG: return "invalid argument";
    case VIGIL_E_UNSUPPORTED: return "unsupported";
    case VIGIL_E_CANCELLED: return "cancelled";
    case VIGIL_E_NO_MEMORY: return "out of memory";
    case VIGIL_E_NOT_FOUND: return "not found";
    case VIGIL_E_INTERNAL: return "internal error";
    case VIGIL_E_ABI_MISMATCH: return "ABI mismatch";
    case VIGIL_E_STATE: return "invalid state";
    case VIGIL_E_IO: return "I/O error";
    default: return "status " + std::to_string(status);
  }
}

ScanOutcome run_scan(std::shared_ptr<LoadedPlugin> plugin, const ScanRequest& request, StateStore& store) {
  ScanOutcome outcome;
  outcome.started_at = unix_now();
  const vigil_plugin_host& context = plugin->context();
  auto handler = context.handlers.find(request.manifest_type);
  if (handler == context.handlers.end()) {
    outcome.status = VIGIL_E_UNSUPPORTED;
    outcome.error = "module '" + context.module + "' has no handler for manifest type '" + request.manifest_type + "'";
    return outcome;
  }
  ActiveScan active(plugin);
  if (!active.started()) {
    outcome.status = VIGIL_E_CANCELLED;
    outcome.error = "module '" + context.module + "' is being unloaded";
    return outcome;
  }

  vigil_scan scan(&context, request.cpu_limit);
  context.logger->info("scan started: manifest type '{}', CPU limit {}%", request.manifest_type, request.cpu_limit);
  outcome.status = handler->second.callback(handler->second.user, &scan,
                                            vigil_str{request.manifest_type.data(), request.manifest_type.size()},
                                            vigil_str{request.manifest.data(), request.manifest.size()});
  outcome.finished_at = unix_now();
  if (outcome.status != VIGIL_OK) {
    outcome.error = scan.error.empty() ? "the plugin returned " + status_name(outcome.status) : scan.error;
    context.logger->error("scan failed ({}): {}", status_name(outcome.status), outcome.error);
    return outcome;
  }

  SnapshotInfo info{0, context.module, request.manifest_type, outcome.started_at, outcome.finished_at, 0};
  Result<int64_t> stored = store.write_snapshot(info, scan.rows);
  if (!stored.ok()) {
    outcome.status = VIGIL_E_IO;
    outcome.error = stored.error();
    context.logger->error("scan result not stored: {}", outcome.error);
    return outcome;
  }
  outcome.snapshot_id = stored.value();
  outcome.row_count = static_cast<int64_t>(scan.rows.size());
  context.logger->info("scan complete: {} rows in snapshot {}", outcome.row_count, outcome.snapshot_id);
  return outcome;
}

}  // namespace vigil
