// Loading, ABI negotiation and refusal of plugin libraries.
#include "plugin/loaded_plugin.h"

#include <dlfcn.h>

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "log/log_manager.h"
#include "plugin/host_api.h"
#include "plugin/plugin_call_marker.h"
#include "settings/catalog.h"
#include "store/config_table.h"
#include "store/plugin_crashes.h"
#include "vigil/crypto/digest.h"

namespace vigil {
namespace {

std::string abi_text(uint32_t version) {
  return fmt::format("{}.{}", VIGIL_ABI_MAJOR(version), VIGIL_ABI_MINOR(version));
}

std::string copy(vigil_str text) {
  return text.ptr == nullptr ? std::string() : std::string(text.ptr, text.len);
}

}  // namespace

Result<std::shared_ptr<LoadedPlugin>> LoadedPlugin::load(const std::filesystem::path& file,
                                                         const PluginServices& services,
                                                         const std::function<bool(std::string_view)>& module_taken,
                                                         std::string* module_seen, const ExpectedPlugin* expected) {
  auto refuse = [&](const std::string& reason) { return Error{file.string() + ": " + reason}; };

  std::shared_ptr<LoadedPlugin> plugin(new LoadedPlugin());
  plugin->file_ = file;
  // A private copy: on disk where the agent keeps them, else in memory, else (a
  // warning) the file itself.
  Result<PluginImage> image = Error{"no directory for plugin copies"};
  if (!services.image_dir.empty()) image = PluginImage::copy_to(file, services.image_dir);
  if (!image.ok()) image = PluginImage::copy_of(file);
  if (!image.ok()) {
    services.logs->daemon()->warn(
        "{}: no private copy ({}); loading the file itself, which must then not be "
        "overwritten while loaded",
        file.string(), image.error());
    image = PluginImage::open_file(file);
    if (!image.ok()) return refuse(image.error());
  }
  plugin->image_ = std::move(image.value());
  if (expected != nullptr) {
    // The copy is what runs: checked after it was made, so a file swapped on disk meanwhile cannot slip through.
    Result<std::string> sha256 = crypto::hash_file(plugin->image_.load_path(), "sha256");
    if (!sha256.ok()) return refuse("cannot check its sha256: " + sha256.error());
    if (sha256.value() != expected->sha256) {
      return refuse(fmt::format("sha256 {} is not the {} the signed metadata gave it (changed on disk?)",
                                sha256.value(), expected->sha256));
    }
  }
  plugin->library_ = ::dlopen(plugin->image_.load_path().c_str(), RTLD_NOW | RTLD_LOCAL);
  if (plugin->library_ == nullptr) {
    const char* why = ::dlerror();
    return refuse(std::string("not a loadable shared library (") + (why != nullptr ? why : "dlopen failed") + ")");
  }
  plugin->unload_blocker_ = vigil::unload_blocker(plugin->image_.fd());
  auto negotiate =
      reinterpret_cast<vigil_status (*)(vigil_negotiation*)>(::dlsym(plugin->library_, VIGIL_ENTRY_SYMBOL));
  if (negotiate == nullptr) {
    return refuse(std::string("not a Vigil plugin: no exported '") + VIGIL_ENTRY_SYMBOL + "' symbol");
  }

  vigil_negotiation negotiation{sizeof(vigil_negotiation), VIGIL_ABI_VERSION, host_api(), nullptr};
  vigil_status status = negotiate(&negotiation);
  if (status != VIGIL_OK) {
    // A plugin refusing the host's ABI may say which one it speaks (the C++ helpers do).
    std::string plugin_side = negotiation.abi_version != VIGIL_ABI_VERSION
                                  ? "the plugin speaks ABI " + abi_text(negotiation.abi_version)
                                  : "the plugin did not say which ABI it speaks";
    return refuse(fmt::format("ABI negotiation failed ({}): {}, the host speaks ABI {}", status_name(status),
                              plugin_side, abi_text(VIGIL_ABI_VERSION)));
  }
  if (VIGIL_ABI_MAJOR(negotiation.abi_version) != VIGIL_ABI_VERSION_MAJOR ||
      VIGIL_ABI_MINOR(negotiation.abi_version) > VIGIL_ABI_VERSION_MINOR) {
    return refuse(fmt::format("plugin speaks ABI {}, the host speaks ABI {}", abi_text(negotiation.abi_version),
                              abi_text(VIGIL_ABI_VERSION)));
  }
  const vigil_plugin* descriptor = negotiation.plugin;
  if (descriptor == nullptr) return refuse("negotiation returned no plugin descriptor");
  if (!VIGIL_HAS_FIELD(vigil_plugin, descriptor->struct_size, on_shutdown)) {
    return refuse(fmt::format("plugin descriptor struct_size {} is smaller than the {} bytes of ABI 1.0",
                              descriptor->struct_size, offsetof(vigil_plugin, on_shutdown) + sizeof(void*)));
  }
  if (VIGIL_ABI_MAJOR(descriptor->abi_version) != VIGIL_ABI_VERSION_MAJOR) {
    return refuse(fmt::format("plugin descriptor is for ABI {}, the host speaks ABI {}",
                              abi_text(descriptor->abi_version), abi_text(VIGIL_ABI_VERSION)));
  }
  std::string module = copy(descriptor->module);
  if (module_seen != nullptr) *module_seen = module;
  bool lower_case = std::none_of(module.begin(), module.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  if (!is_valid_name(module, true, VIGIL_MODULE_NAME_MAX) || !lower_case) {
    return refuse(fmt::format("invalid module name '{}' (1-{} of a-z, 0-9, '_', '-')", module, VIGIL_MODULE_NAME_MAX));
  }
  if (descriptor->kind != VIGIL_MODULE_SCAN && descriptor->kind != VIGIL_MODULE_REALTIME) {
    return refuse(fmt::format("module '{}' has unknown kind {}", module, descriptor->kind));
  }
  // The negotiated version decides which entry points count; struct_size whether they exist.
  bool with_instance = VIGIL_ABI_MINOR(negotiation.abi_version) >= 4 &&
                       VIGIL_HAS_FIELD(vigil_plugin, descriptor->struct_size, on_destroy) &&
                       descriptor->on_create != nullptr;
  if (with_instance && descriptor->on_destroy == nullptr) {
    return refuse("module '" + module + "' sets on_create but not on_destroy");
  }
  if (!with_instance && (descriptor->on_init == nullptr || descriptor->on_shutdown == nullptr)) {
    return refuse("module '" + module + "' lacks on_init or on_shutdown");
  }
  if (module_taken(module)) return refuse("duplicate module '" + module + "': another plugin already provides it");
  if (services.quarantine_after > 0 && services.store != nullptr) {
    auto crashes = services.store->plugin_crashes().count(module);
    if (crashes.ok() && crashes.value() >= services.quarantine_after) {
      return refuse(
          fmt::format("module '{}' is quarantined: the agent crashed {} times while it ran "
                      "(after fixing it: vigilctl plugins release {})",
                      module, crashes.value(), module));
    }
  }

  plugin->display_name_ = copy(descriptor->display_name);
  plugin->version_ = copy(descriptor->version);
  if (expected != nullptr && (module != expected->module || plugin->version_ != expected->version)) {
    return refuse(fmt::format("the plugin says module '{}' version {}, the signed metadata says module '{}' version {}",
                              module, plugin->version_, expected->module, expected->version));
  }
  plugin->abi_version_ = negotiation.abi_version;
  plugin->kind_ = descriptor->kind;
  plugin->context_ = std::make_unique<vigil_plugin_host>();
  plugin->context_->module = module;
  plugin->context_->logger = services.logs->module(module);
  plugin->context_->store = services.store;
  plugin->context_->marker_dir = services.marker_dir;
  plugin->context_->events = services.events;

  plugin->context_->registering = true;
  {
    PluginCallMarker marker(services.marker_dir, module, kActivityInit);
    void* instance = nullptr;
    status = with_instance ? descriptor->on_create(plugin->context_.get(), host_api(), &instance)
                           : descriptor->on_init(plugin->context_.get(), host_api());
    if (status == VIGIL_OK && with_instance) {
      plugin->on_destroy_ = descriptor->on_destroy;
      plugin->instance_ = instance;
    } else if (status == VIGIL_OK) {
      plugin->on_shutdown_ = descriptor->on_shutdown;
    }
  }
  plugin->context_->registering = false;
  if (status != VIGIL_OK) {
    // The plugin cleaned up after itself; on_shutdown / on_destroy is not called.
    std::string why = plugin->context_->init_error;
    plugin->context_.reset();
    return refuse(fmt::format("module '{}' failed to initialise ({}){}", module, status_name(status),
                              why.empty() ? ": see " + module + ".log" : ": " + why));
  }
  if (descriptor->kind == VIGIL_MODULE_SCAN && plugin->context_->handlers.empty()) {
    plugin->shut_down();
    plugin->context_.reset();
    return refuse("scan module '" + module + "' registered no manifest handler");
  }
  if (services.store != nullptr) {
    // Kept so that vigilctl validates the module's keys while it is not loaded; none: nothing to validate.
    const auto& declared = plugin->context_->settings;
    Status kept = services.store->config().set_module_settings(
        module, declared.empty() ? std::nullopt : std::optional<std::string>(settings::encode(declared)));
    if (!kept.ok()) plugin->context_->logger->warn("its settings are not kept for vigilctl: {}", kept.error());
  }
  return plugin;
}

void LoadedPlugin::shut_down() {
  if (!context_ || (on_destroy_ == nullptr && on_shutdown_ == nullptr)) return;
  PluginCallMarker marker(context_->marker_dir, context_->module, kActivityUnload);
  if (on_destroy_ != nullptr) {
    std::exchange(on_destroy_, nullptr)(std::exchange(instance_, nullptr));
  } else if (on_shutdown_ != nullptr) {
    std::exchange(on_shutdown_, nullptr)();
  }
}

LoadedPlugin::~LoadedPlugin() {
  [[maybe_unused]] Status unloaded = unload();  // whoever needed to know called unload() first
}

Status LoadedPlugin::unload() {
  shut_down();
  if (context_) context_->handlers.clear();  // pointers into the code about to go
  if (library_ == nullptr) return Status::Ok();
  ::dlclose(std::exchange(library_, nullptr));
  // The image still exists, so its path names this library and no other.
  void* still = ::dlopen(image_.load_path().c_str(), RTLD_NOW | RTLD_NOLOAD);
  ::dlerror();
  if (still == nullptr) {
    image_ = PluginImage();
    return Status::Ok();
  }
  ::dlclose(still);  // the reference NOLOAD just took
  image_.keep_forever();
  return Error{"old code still loaded: " +
               (unload_blocker_.empty() ? std::string("the dynamic loader kept the library mapped after dlclose")
                                        : unload_blocker_)};
}

std::vector<std::string> LoadedPlugin::manifest_types() const {
  std::vector<std::string> types;
  for (const auto& [type, handler] : context_->handlers) types.push_back(type);
  return types;
}

bool LoadedPlugin::handles(std::string_view manifest_type) const {
  return context_->handlers.find(manifest_type) != context_->handlers.end();
}

Status LoadedPlugin::run_handler(vigil_scan& scan, std::string_view manifest_type, std::string_view body) const {
  auto handler = context_->handlers.find(manifest_type);
  if (handler == context_->handlers.end()) {
    return Error{"module '" + module() + "' has no handler for manifest type '" + std::string(manifest_type) + "'",
                 ErrorCode::kUnsupported};
  }
  (void)take_service_failure();  // an earlier call's, not this scan's
  vigil_status status =
      handler->second.callback(handler->second.user, &scan, vigil_str{manifest_type.data(), manifest_type.size()},
                               vigil_str{body.data(), body.size()});
  std::string service_failure = take_service_failure();
  if (status == VIGIL_OK) return Status::Ok();
  // The plugin's own words when it left any (set_error, a failed host call),
  // and the cause of a host service that failed it (a full disk).
  std::string error = scan.error.empty() ? "the plugin returned " + status_name(status) : scan.error;
  if (!service_failure.empty() && error.find(service_failure) == std::string::npos) error += ": " + service_failure;
  return Error{error, error_code_of(status)};
}

bool LoadedPlugin::begin_scan() {
  std::lock_guard lock(scan_mutex_);
  if (context_->cancel_scans) return false;
  ++active_scans_;
  return true;
}

void LoadedPlugin::end_scan() {
  std::lock_guard lock(scan_mutex_);
  if (--active_scans_ == 0) scans_done_.notify_all();
}

void LoadedPlugin::cancel_scans() {
  std::lock_guard lock(scan_mutex_);
  context_->cancel_scans = true;
}

void LoadedPlugin::wait_idle() {
  std::unique_lock lock(scan_mutex_);
  scans_done_.wait(lock, [this] { return active_scans_ == 0; });
}

bool LoadedPlugin::scanning() const {
  std::lock_guard lock(scan_mutex_);
  return active_scans_ > 0;
}

}  // namespace vigil
