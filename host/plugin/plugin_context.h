// Host-side definitions of the ABI's opaque handles: vigil_plugin_host (one per
// loaded plugin: what it registered, where it logs and keeps state) and
// vigil_scan (one per running scan: where its rows go, its limits).
#pragma once

#include <vigil/plugin.h>

#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "exec/cpu_throttle.h"
#include "plugin/event_sink.h"
#include "settings/registry.h"
#include "store/snapshot_writer.h"
#include "store/state_store.h"

struct vigil_plugin_host {
  struct Handler {
    vigil_on_manifest callback = nullptr;
    void* user = nullptr;
  };
  // A condition the module reported for operators (set_condition, ABI 1.6).
  struct Condition {
    int32_t severity = VIGIL_CONDITION_INFO;
    std::string description;
    std::string fix;
  };

  std::string module;
  std::shared_ptr<spdlog::logger> logger;
  vigil::StateStore* store = nullptr;
  std::filesystem::path marker_dir;    // see PluginCallMarker
  vigil::EventSink* events = nullptr;  // takes emit_event; null: events unsupported

  // Registration is only allowed while on_init runs.
  std::atomic<bool> registering{false};
  std::map<std::string, Handler, std::less<>> handlers;  // manifest type -> handler
  int32_t default_cpu_limit = 100;
  std::string on_demand_key;
  bool scan_on_start = false;                      // scan at every start and reload (ABI 1.3)
  std::vector<vigil::settings::Setting> settings;  // what it declared (ABI 1.5)
  std::string init_error;                          // the last error the plugin logged during on_init: why it failed
  mutable std::mutex conditions_mutex;             // set_condition comes from any thread
  std::map<std::string, Condition> conditions;     // by code, guarded by conditions_mutex

  // Set when the plugin is being unloaded or the daemon stops: checkpoints
  // then report VIGIL_E_CANCELLED.
  std::atomic<bool> cancel_scans{false};
};

namespace vigil {
// A scan's progress as the plugin reports it; shared with whoever watches.
struct ScanProgress {
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> total{0};
};
}  // namespace vigil

struct vigil_scan {
  vigil_scan(const vigil_plugin_host* owner, int cpu_limit, std::shared_ptr<vigil::ScanProgress> observer = nullptr)
      : plugin(owner),
        throttle(cpu_limit, &plugin->cancel_scans),
        progress(observer ? std::move(observer) : std::make_shared<vigil::ScanProgress>()) {}

  const vigil_plugin_host* plugin;
  vigil::CpuThrottle throttle;
  vigil::SnapshotWriter* rows = nullptr;  // where emit_row sends rows; the scan's owner keeps it
  std::shared_ptr<vigil::ScanProgress> progress;
  std::chrono::seconds command_timeout{1800};     // CmdMaxTimeOut
  int64_t command_memory_max = int64_t{1} << 30;  // CmdMemoryMax (bytes, 0: none), where cgroups hold it
  int64_t command_pids_max = 512;                 // CmdPidsMax (0: none), where cgroups hold it
  std::vector<std::string> command_environment;   // proxy settings for commands (NAME=value)
  std::vector<std::string> command_prefix;        // UseSudo: SudoCommand's words
  std::string error;
};
