// One plugin library loaded and negotiated: its descriptor (copied), its
// registrations, and the library handle that keeps its code mapped. The code
// comes from a private copy of the file (PluginImage), not the file itself.
// unload() (or destruction) calls on_destroy or on_shutdown and then unloads
// the library.
#pragma once

#include <vigil/plugin.h>

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "plugin/plugin_context.h"
#include "plugin/plugin_image.h"
#include "vigil/result/result.h"

namespace vigil {

class LogManager;

// What the loader needs from the agent.
struct PluginServices {
  StateStore* store = nullptr;
  LogManager* logs = nullptr;
  std::filesystem::path marker_dir;  // where calls into plugins are marked; empty: not marked
  int64_t quarantine_after = 0;      // crashes that quarantine a module; 0: never
  EventSink* events = nullptr;       // where emit_event goes; null: unsupported
  std::filesystem::path image_dir;   // where the private copies of plugin files go; empty: in memory
};

// What signed metadata says a file is (a plugin slot's): its bytes, checked
// on the private copy right before dlopen, and the module and version the
// plugin must then call itself.
struct ExpectedPlugin {
  std::string sha256;
  std::string module;
  std::string version;
};

class LoadedPlugin {
 public:
  ~LoadedPlugin();
  LoadedPlugin(const LoadedPlugin&) = delete;
  LoadedPlugin& operator=(const LoadedPlugin&) = delete;

  // Loads `file`, negotiates the ABI and calls on_init. `module_taken` is asked
  // before on_init so a duplicate module never runs any code of its own.
  // Every refusal names the file and the reason; `module_seen`, when given,
  // receives the module name as soon as negotiation tells it. With
  // `expected`, a file that is not what it says is refused before its init runs.
  static Result<std::shared_ptr<LoadedPlugin>> load(const std::filesystem::path& file, const PluginServices& services,
                                                    const std::function<bool(std::string_view)>& module_taken,
                                                    std::string* module_seen = nullptr,
                                                    const ExpectedPlugin* expected = nullptr);

  const std::filesystem::path& file() const { return file_; }
  const std::string& module() const { return context_->module; }
  const std::string& display_name() const { return display_name_; }
  const std::string& version() const { return version_; }
  uint32_t abi_version() const { return abi_version_; }
  int32_t kind() const { return kind_; }
  const vigil_plugin_host& context() const { return *context_; }
  std::vector<std::string> manifest_types() const;
  bool handles(std::string_view manifest_type) const;
  // Runs the module's handler of `manifest_type` on `scan`: the one place the
  // host calls a plugin's handler. A failure carries the plugin's error text
  // and its status as an ErrorCode (kUnsupported: no such handler).
  Status run_handler(vigil_scan& scan, std::string_view manifest_type, std::string_view body) const;

  // Scan bookkeeping: begin_scan fails once cancel_scans() was called.
  bool begin_scan();
  void end_scan();
  void cancel_scans();
  // Blocks until no scan of this plugin runs.
  void wait_idle();
  bool scanning() const;

  // Calls on_destroy / on_shutdown and closes the library, then asks the dynamic loader
  // whether its code is really gone: an error starting "old code still
  // loaded" says why not. Once only; the plugin's code is never called again.
  Status unload();
  // Why the library cannot be unloaded, read from its ELF image ("" if nothing is known).
  const std::string& unload_blocker() const { return unload_blocker_; }

 private:
  LoadedPlugin() = default;
  // Calls on_destroy(instance) or on_shutdown(), whichever ends what init began; once only.
  void shut_down();

  std::filesystem::path file_;
  std::string display_name_;
  std::string version_;
  uint32_t abi_version_ = 0;
  int32_t kind_ = 0;
  // Set once init succeeded: on_destroy_ and instance_ for a plugin started by
  // on_create (ABI 1.4), on_shutdown_ for one started by on_init.
  void (*on_shutdown_)(void) = nullptr;
  void (*on_destroy_)(void*) = nullptr;
  void* instance_ = nullptr;
  std::unique_ptr<vigil_plugin_host> context_;
  PluginImage image_;  // what the library was loaded from; open until it is unloaded
  void* library_ = nullptr;
  std::string unload_blocker_;

  mutable std::mutex scan_mutex_;
  std::condition_variable scans_done_;
  int active_scans_ = 0;
};

}  // namespace vigil
