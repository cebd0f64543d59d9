// File Integrity Monitoring (type fim, key FIM). A scan walks the manifest's
// paths and records every file's metadata and content hash in the `files`
// table, so the delta between scans is what changed. After each scan the
// real-time monitor watches the same trees from that baseline and emits a
// `file_events` event per change as it happens (created, modified,
// attributes, deleted, renamed, with before/after and who where known).
// The module is declared a scan module so the host schedules its scans; the
// monitor is its own thread, under the SDK's contract for long-lived work
// (docs/plugin-sdk.md): started after a scan, stopped and joined before the
// plugin object is gone, calling only services allowed on any thread.
#include <vigil/plugin.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <set>

#include "baseline.h"
#include "hash_cache.h"
#include "monitor.h"

namespace {

// The hash cache's state keys: hashes.0, hashes.1, ...
const std::string kCacheKey = "hashes.";
// A batch is hashed (on fim.HashThreads threads) and emitted at this many
// records, or sooner when its files hold this many bytes, so an interrupted
// scan loses little hashing.
constexpr size_t kBatchRecords = 512;
constexpr uint64_t kBatchBytes = uint64_t{256} << 20;

std::string octal(uint32_t mode) {
  char text[8];
  std::snprintf(text, sizeof(text), "%04o", mode);
  return text;
}

// The watched attributes of `record` as columns, each name prefixed (e.g. "before_").
void describe(const vigil::fim::FileRecord& record, const std::string& algorithm, const std::string& prefix,
              std::vector<std::pair<std::string, std::string>>& out) {
  using vigil::fim::watches;
  const auto& watch = *record.watch;
  if (record.type == "missing") return;
  if (watches(watch, "size") && record.type == "file") out.emplace_back(prefix + "size", std::to_string(record.size));
  if (watches(watch, "mode")) out.emplace_back(prefix + "mode", octal(record.mode));
  if (watches(watch, "owner")) out.emplace_back(prefix + "uid", std::to_string(record.uid));
  if (watches(watch, "group")) out.emplace_back(prefix + "gid", std::to_string(record.gid));
  if (watches(watch, "mtime")) out.emplace_back(prefix + "mtime_ns", std::to_string(record.mtime_ns));
  if (watches(watch, "ctime")) out.emplace_back(prefix + "ctime_ns", std::to_string(record.ctime_ns));
  if (watches(watch, "inode")) out.emplace_back(prefix + "inode", std::to_string(record.inode));
  if (!record.hash.empty()) out.emplace_back(prefix + algorithm, record.hash);
  if (!record.target.empty()) out.emplace_back(prefix + "target", record.target);
  if (!record.xattrs.empty()) out.emplace_back(prefix + "xattrs", record.xattrs);
  if (!record.acl.empty()) out.emplace_back(prefix + "acl", record.acl);
}

std::vector<vigil::Column> columns(const std::vector<std::pair<std::string, std::string>>& values) {
  std::vector<vigil::Column> out;
  out.reserve(values.size());
  for (const auto& [name, value] : values) out.push_back({name, value});
  return out;
}

// fim.<key>: the agent validates them (ABI 1.5) and vigilctl config lists them.
void declare_settings(vigil::Host& host) {
  using vigil::Setting;
  host.declare(Setting::path("Root", "/", "the root the manifest's paths are under"));
  host.declare(Setting::flag("Realtime", true, "watch the scanned trees in real time after each scan"));
  host.declare(Setting::integer("HashThreads", 1, 64, 1,
                                "threads hashing file contents (beyond the first: not held to CpuLimit)"));
  host.declare(Setting::integer("CoalesceMs", 0, 10000, 5, "milliseconds in which changes to one file make one event"));
  host.declare(
      Setting::integer("MaxHoldMs", 10, 60000, 1000, "longest an event of a busy file is held, in milliseconds"));
  host.declare(
      Setting::flag("Fanotify", true, "watch with fanotify where the kernel and privileges allow, else inotify"));
}

class FimPlugin : public vigil::Plugin {
 public:
  ~FimPlugin() override { monitor_.reset(); }  // its thread emits through host_: stop it first

  void init(vigil::Host& host) override {
    host_ = &host;
    host.set_default_cpu_limit(50);
    host.set_on_demand_key("FIM");
    declare_settings(host);
    try {
      // Watching resumes only from a scan: one at every start also catches what changed while we were down.
      host.set_scan_on_start(true);
    } catch (const vigil::Error& error) {
      host.warn(std::string("real-time monitoring starts with the next interval scan: ") + error.what());
    }
    host.on_manifest("fim", [this](vigil::Scan& scan, std::string_view manifest) { run(scan, manifest); });
  }

 private:
  void run(vigil::Scan& scan, std::string_view text) {
    auto manifest = std::make_shared<vigil::fim::Manifest>();
    try {
      *manifest = vigil::fim::parse_manifest(text);
    } catch (const vigil::fim::ManifestError& error) {
      throw vigil::Error(error.what(), VIGIL_E_INVALID_ARG);
    }
    std::filesystem::path root = host_->setting("Root");
    vigil::fim::RecordTree baseline(*manifest);
    auto [recorded, reused] = record(scan, *manifest, root, baseline);
    host_->info(std::to_string(recorded) + " paths recorded, " + std::to_string(reused) +
                " hashes reused from the last baseline");
    if (host_->flag("Realtime")) start_monitor(manifest, root, std::move(baseline));
  }

  // The scan as a stream: the walk's records go in small batches through the
  // hash cache, the hashing threads and emit, and into `baseline` (the
  // monitor's, compact), so memory grows by about 110 bytes a file (the
  // cache) plus the baseline's, not by whole records. Returns how many paths
  // were recorded and how many hashes were reused.
  std::pair<size_t, size_t> record(vigil::Scan& scan, const vigil::fim::Manifest& manifest,
                                   const std::filesystem::path& root, vigil::fim::RecordTree& baseline) {
    const std::string& algorithm = manifest.algorithm;
    // The running monitor knows every file as it is now: it is the cache, and
    // the state's copy (for a start without one) need not be read.
    const vigil::fim::Monitor* running = monitor_ && monitor_->algorithm() == algorithm ? monitor_.get() : nullptr;
    vigil::fim::HashCache cache = running ? vigil::fim::HashCache(algorithm) : load_cache(algorithm);
    vigil::fim::HashCacheWriter saver(algorithm, kCacheKey, [this](const std::string& key, const std::string& value) {
      host_->set_state(key, value);
    });
    // The host holds the scan thread to the module's CPU limit; extra hashing
    // threads are outside it, so they are opt-in (fim.HashThreads).
    unsigned threads = static_cast<unsigned>(host_->integer("HashThreads"));
    std::vector<vigil::fim::FileRecord> batch;
    std::set<std::string> missing;  // watched tops that do not exist (the baseline keeps no record of them)
    size_t recorded = 0, reused = 0;
    uint64_t batch_bytes = 0;
    auto flush = [&] {
      for (auto& entry : batch) reused += (running ? running->reuse_hash(entry) : cache.fill(entry)) ? 1 : 0;
      vigil::fim::hash_files(batch, root, algorithm, threads, [&](size_t, size_t) { scan.checkpoint(); });
      for (auto& entry : batch) {
        emit_row(scan, algorithm, entry);
        saver.add(entry);
        if (entry.type != "missing") baseline.set(entry);
      }
      batch.clear();
      batch_bytes = 0;
      saver.save_if_due();
      scan.progress(recorded, 0);
    };
    vigil::fim::walk(manifest, root, [&](vigil::fim::FileRecord&& entry) {
      // Watched trees may overlap: the first watch that reached a path keeps it.
      if (manifest.paths.size() > 1 && (missing.count(entry.path) != 0 || baseline.contains(entry.path))) return;
      if (entry.type == "missing") {
        missing.insert(entry.path);
      } else {
        baseline.set(entry);  // now, so a later watch finds it; again with its hash below
      }
      if (++recorded % 64 == 0) scan.checkpoint();
      if (entry.type == "file") batch_bytes += entry.size;
      batch.push_back(std::move(entry));
      if (batch.size() >= kBatchRecords || batch_bytes >= kBatchBytes) flush();
    });
    flush();
    size_t chunks = saver.finish();
    // Chunks past this baseline's are an older, larger baseline's.
    for (size_t stale = chunks; host_->state(kCacheKey + std::to_string(stale)); ++stale) {
      host_->erase_state(kCacheKey + std::to_string(stale));
    }
    host_->erase_state("hashes");  // one whole value before 0.3.0
    return {recorded, reused};
  }

  vigil::fim::HashCache load_cache(const std::string& algorithm) {
    vigil::fim::HashCache cache(algorithm);
    for (size_t chunk = 0;; ++chunk) {
      auto text = host_->state(kCacheKey + std::to_string(chunk));
      if (!text) break;
      cache.add(*text);
    }
    return cache;
  }

  void emit_row(vigil::Scan& scan, const std::string& algorithm, const vigil::fim::FileRecord& record) {
    std::vector<std::pair<std::string, std::string>> values = {{"type", record.type},
                                                               {"severity", record.watch->severity}};
    describe(record, algorithm, "", values);
    if (!record.error.empty()) values.emplace_back("error", record.error);
    scan.emit("files", {{"path", record.path}}, columns(values));
  }

  void start_monitor(std::shared_ptr<vigil::fim::Manifest> manifest, const std::filesystem::path& root,
                     vigil::fim::RecordTree baseline) {
    monitor_.reset();  // the new manifest and baseline replace the old ones
    vigil::fim::MonitorOptions options;
    options.window = std::chrono::milliseconds(host_->integer("CoalesceMs"));
    options.max_hold = std::chrono::milliseconds(host_->integer("MaxHoldMs"));
    options.fanotify = host_->flag("Fanotify");
    std::string algorithm = manifest->algorithm;
    auto monitor = std::make_unique<vigil::fim::Monitor>(
        manifest, root, std::move(baseline),
        [this, algorithm](const vigil::fim::Event& event) { report(event, algorithm); }, options);
    // What an operator should know of this start replaces what the last one reported.
    for (const char* code : {"realtime-off", "realtime-unwatched", "fanotify-unavailable"}) {
      host_->condition(code, VIGIL_CONDITION_CLEAR);
    }
    try {
      monitor->start();
    } catch (const std::runtime_error& error) {
      host_->error(std::string("real-time monitoring is off: ") + error.what());
      host_->condition("realtime-off", VIGIL_CONDITION_CRITICAL,
                       std::string("real-time monitoring is off (scans still run): ") + error.what(),
                       "fix what the message names, then vigilctl plugins reload fim");
      return;
    }
    auto stats = monitor->stats();
    bool inotify = stats.source == "inotify";
    std::string how = "real-time monitoring through " + stats.source + " (" + std::to_string(stats.watches) +
                      (inotify ? " directory watches of fs.inotify.max_user_watches "
                               : " directory marks of fs.fanotify.max_user_marks ") +
                      std::to_string(stats.watch_limit);
    how += inotify ? "; fanotify: " + stats.fanotify_unavailable + ")" : ")";
    if (inotify) {
      if (options.fanotify) {
        host_->condition("fanotify-unavailable", VIGIL_CONDITION_INFO,
                         "fanotify is unavailable (" + stats.fanotify_unavailable +
                             "): FIM watches with inotify, without who-data (process and user of a change)",
                         "run the agent as root on a kernel with fanotify (Linux 5.17+) for who-data, or set "
                         "fim.Fanotify=false to choose inotify");
      }
    }
    host_->info(how);
    monitor_ = std::move(monitor);
  }

  // The monitor's thread: one event to the host's outbox.
  void report(const vigil::fim::Event& event, const std::string& algorithm) {
    std::vector<std::pair<std::string, std::string>> values = {{"action", event.action}, {"path", event.path}};
    if (!event.old_path.empty()) values.emplace_back("old_path", event.old_path);
    const auto* record = event.after ? &*event.after : event.before ? &*event.before : nullptr;
    if (record != nullptr) values.emplace_back("type", record->type);
    if (event.watch != nullptr) values.emplace_back("severity", event.watch->severity);
    if (!event.changed.empty()) {
      std::string changed;
      for (const auto& name : event.changed) changed += (changed.empty() ? "" : ",") + name;
      values.emplace_back("changed", changed);
    }
    if (event.before) describe(*event.before, algorithm, "before_", values);
    if (event.after) describe(*event.after, algorithm, "after_", values);
    if (event.after && !event.after->error.empty()) values.emplace_back("error", event.after->error);
    if (event.pid != 0) values.emplace_back("pid", std::to_string(event.pid));
    if (!event.process.empty()) values.emplace_back("process", event.process);
    if (event.uid >= 0) values.emplace_back("uid", std::to_string(event.uid));
    if (!event.detail.empty()) values.emplace_back("detail", event.detail);
    values.emplace_back("source", event.source);
    if (event.action == "degraded" || event.action == "rescan") host_->warn(event.path + ": " + event.detail);
    if (event.action == "degraded") try {
        std::string limit = event.detail.find("max_user_watches") != std::string::npos ? "fs.inotify.max_user_watches"
                            : event.detail.find("max_user_marks") != std::string::npos ? "fs.fanotify.max_user_marks"
                                                                                       : "";
        host_->condition("realtime-unwatched", VIGIL_CONDITION_WARNING, event.path + ": " + event.detail,
                         !limit.empty() ? "raise the limit (sysctl -w " + limit +
                                              "=N, and the same in /etc/sysctl.d/ to keep it), then vigilctl "
                                              "plugins reload fim"
                                        : "fix what the message names, then vigilctl plugins reload fim");
      } catch (const vigil::Error& error) {
        host_->error(std::string("a condition was not taken: ") + error.what());
      }
    try {
      host_->emit_event("file_events", columns(values));
    } catch (const vigil::Error& error) {
      host_->error(std::string("a file event was not taken: ") + error.what());
    }
  }

  vigil::Host* host_ = nullptr;
  std::unique_ptr<vigil::fim::Monitor> monitor_;
};

}  // namespace

VIGIL_PLUGIN(FimPlugin, "fim", "File Integrity Monitoring", "0.3.0", VIGIL_MODULE_SCAN)
