// Scan execution on a worker thread and snapshot storage.
#include "sched/scan_runner.h"
#include "base/error_text.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "delta/delta_encoder.h"
#include "plugin/plugin_call_marker.h"
#include "store/snapshot_writer.h"
#include "store/snapshots.h"

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

// Applies ProcessPriority to the worker thread for the scan, then restores it.
class ThreadPriority {
 public:
  ThreadPriority(int nice, spdlog::logger& logger) : thread_(static_cast<id_t>(::gettid())) {
    errno = 0;
    previous_ = ::getpriority(PRIO_PROCESS, thread_);
    if (nice != previous_ && ::setpriority(PRIO_PROCESS, thread_, nice) != 0) {
      logger.warn("ProcessPriority {} not applied: {}", nice, error_text(errno));
    }
  }
  ~ThreadPriority() { ::setpriority(PRIO_PROCESS, thread_, previous_); }
  ThreadPriority(const ThreadPriority&) = delete;
  ThreadPriority& operator=(const ThreadPriority&) = delete;

 private:
  id_t thread_;
  int previous_ = 0;
};

}  // namespace

ScanOutcome run_scan(std::shared_ptr<LoadedPlugin> plugin, const ScanRequest& request, StateStore& store) {
  ScanOutcome outcome;
  outcome.started_at = unix_now();
  const vigil_plugin_host& context = plugin->context();
  std::string types;
  for (const Manifest& manifest : request.manifests) {
    if (!plugin->handles(manifest.manifest_type)) {
      outcome.status =
          Error{"module '" + context.module + "' has no handler for manifest type '" + manifest.manifest_type + "'",
                ErrorCode::kUnsupported};
      return outcome;
    }
    types += (types.empty() ? "" : ",") + manifest.manifest_type;
  }
  ActiveScan active(plugin);
  if (!active.started()) {
    outcome.status = Error{"module '" + context.module + "' is being unloaded", ErrorCode::kCancelled};
    return outcome;
  }
  ThreadPriority priority(request.nice, *context.logger);

  auto staging = store.snapshots().begin(context.module, outcome.started_at);
  if (!staging.ok()) {
    outcome.status = Error{staging.error(), ErrorCode::kIo};
    context.logger->error("scan not started: {}", staging.error());
    return outcome;
  }
  SnapshotWriter rows(store.snapshots(), staging.value());
  // Whatever ends the scan early, its partial rows go; the previous snapshot stays.
  struct DiscardUnlessCommitted {
    StateStore& store;
    int64_t id;
    bool committed = false;
    ~DiscardUnlessCommitted() {
      if (!committed) (void)store.snapshots().discard(id);
    }
  } discard{store, staging.value()};

  vigil_scan scan(&context, request.cpu_limit, request.progress);
  scan.rows = &rows;
  scan.command_timeout = request.command_timeout;
  scan.command_memory_max = request.command_memory_max;
  scan.command_pids_max = request.command_pids_max;
  scan.command_environment = request.command_environment;
  scan.command_prefix = request.command_prefix;
  context.logger->info("scan started: {} ({}), manifest types {}, CPU limit {}%", request.trigger,
                       request.control_id.empty() ? "no ControlId" : "ControlId " + request.control_id, types,
                       request.cpu_limit);
  PluginCallMarker marker(
      context.marker_dir, context.module,
      request.control_id.empty() ? std::string("interval scan") : "scan ControlId " + request.control_id);
  for (const Manifest& manifest : request.manifests) {
    outcome.status = plugin->run_handler(scan, manifest.manifest_type, manifest.body);
    if (!outcome.status.ok()) break;
  }
  outcome.finished_at = unix_now();
  if (outcome.status.ok()) {
    if (Status flushed = rows.flush(); !flushed.ok()) {
      outcome.status = Error{"emit_row: " + flushed.error(), ErrorCode::kInvalidArgument};
    }
  }
  if (!outcome.status.ok()) {
    context.logger->error("scan failed ({}): {}", error_code_name(outcome.status.code()), outcome.status.error());
    return outcome;
  }

  SnapshotInfo info{staging.value(), context.module, types, outcome.started_at, outcome.finished_at, rows.rows(), {}};
  ChunkEncoder encoder({context.module, staging.value(), request.trigger, request.control_id, outcome.started_at,
                        outcome.finished_at, rows.rows()},
                       request.chunk_bytes);
  auto committed = store.snapshots().commit(info, encoder);
  if (!committed.ok()) {
    outcome.status = Error{committed.error(), ErrorCode::kIo};
    context.logger->error("scan result not stored: {}", committed.error());
    return outcome;
  }
  discard.committed = true;
  outcome.added = static_cast<size_t>(committed.value().added);
  outcome.removed = static_cast<size_t>(committed.value().removed);
  outcome.changed = static_cast<size_t>(committed.value().changed);
  outcome.chunks = committed.value().chunks;
  outcome.snapshot_id = committed.value().snapshot_id;
  outcome.sequence = committed.value().sequence;
  outcome.dropped = committed.value().dropped;
  outcome.row_count = rows.rows();
  context.logger->info("scan complete: {} rows in snapshot {}; delta +{} -{} ~{}{}", outcome.row_count,
                       outcome.snapshot_id, outcome.added, outcome.removed, outcome.changed,
                       outcome.sequence ? " queued as " + std::to_string(outcome.chunks) + " chunk(s), last sequence " +
                                              std::to_string(*outcome.sequence)
                                        : std::string(", nothing to upload"));
  if (outcome.dropped > 0) {
    context.logger->warn("outbox bound reached: {} oldest entries dropped (their changes merge into later deltas)",
                         outcome.dropped);
  }
  return outcome;
}

}  // namespace vigil
