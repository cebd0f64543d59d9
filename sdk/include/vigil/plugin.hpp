// Header-only C++ helpers over the C ABI in plugin.h: a plugin author writes a
// class deriving from vigil::Plugin and one VIGIL_PLUGIN(...) line. Exceptions
// never cross the boundary: every callback catches and returns a status code.
#ifndef VIGIL_PLUGIN_HPP
#define VIGIL_PLUGIN_HPP

#include <vigil/plugin.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vigil {

inline vigil_str to_str(std::string_view text) {
  return vigil_str{text.data(), text.size()};
}
inline std::string_view to_view(vigil_str text) {
  return text.ptr == nullptr ? std::string_view{} : std::string_view{text.ptr, text.len};
}

// Thrown by a handler to fail the scan with a specific status and reason.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, vigil_status status = VIGIL_E_INTERNAL, bool host_reported = false)
      : std::runtime_error(message), status_(status), host_reported_(host_reported) {}
  vigil_status status() const noexcept { return status_; }
  // True when the host already recorded the detailed reason for this failure.
  bool host_reported() const noexcept { return host_reported_; }

 private:
  vigil_status status_;
  bool host_reported_;
};

// Thrown by Scan::checkpoint when the host asks the scan to stop.
class Cancelled : public std::exception {
 public:
  const char* what() const noexcept override { return "scan cancelled"; }
};

struct Column {
  std::string_view name;
  std::string_view value;
};

// Receives text from the host through a vigil_on_value callback. The
// callback is noexcept: an exception (std::bad_alloc) must never unwind
// through the host's C frames; it is noted and thrown after the call returns.
class TextSink {
 public:
  enum Mode { kAssign, kAppend };
  TextSink(std::string& out, Mode mode) : out_(out), mode_(mode) {}
  static void take(void* user, vigil_str value) noexcept {
    auto* sink = static_cast<TextSink*>(user);
    try {
      if (sink->mode_ == kAppend) {
        sink->out_.append(value.ptr, value.len);
      } else {
        sink->out_.assign(value.ptr, value.len);
      }
    } catch (...) {
      sink->failed_ = true;
    }
  }
  // Throws when a value could not be kept.
  void check() const {
    if (failed_) throw Error("out of memory for a value from the host", VIGIL_E_NO_MEMORY);
  }

 private:
  std::string& out_;
  Mode mode_;
  bool failed_ = false;
};

// One running scan. Valid only inside the handler it was passed to.
class Scan {
 public:
  Scan(vigil_scan* scan, const vigil_host_api* api, std::string_view manifest_type)
      : scan_(scan), api_(api), manifest_type_(manifest_type) {}

  std::string_view manifest_type() const { return manifest_type_; }

  // Emits one row; throws vigil::Error when the host refuses it.
  void emit(std::string_view table, const std::vector<Column>& keys, const std::vector<Column>& values) {
    std::vector<vigil_column> key_columns = convert(keys);
    std::vector<vigil_column> value_columns = convert(values);
    vigil_status status = api_->emit_row(scan_, to_str(table), key_columns.data(), key_columns.size(),
                                         value_columns.data(), value_columns.size());
    if (status != VIGIL_OK) {
      throw Error("row for table '" + std::string(table) + "' refused by the host", status, true);
    }
  }

  // Yields to the host's CPU limiter; throws vigil::Cancelled when the scan must stop.
  void checkpoint() {
    if (api_->checkpoint(scan_) == VIGIL_E_CANCELLED) throw Cancelled();
  }

  void progress(uint64_t done, uint64_t total) { api_->progress(scan_, done, total); }

  struct CommandOutput {
    int32_t exit_code = 0;
    std::string output;  // everything the command wrote to stdout
  };

  // Runs a command through the host (sanitised PATH, CmdMaxTimeOut, CPU limit).
  // Throws vigil::Cancelled when the scan is cancelled meanwhile, vigil::Error
  // when the command cannot run or times out. Needs a host of ABI 1.1 or newer.
  CommandOutput run(const std::vector<std::string>& argv) {
    if (!VIGIL_HAS_FIELD(vigil_host_api, api_->struct_size, run_command)) {
      throw Error("this agent is too old to run commands (needs plugin ABI 1.1)", VIGIL_E_UNSUPPORTED);
    }
    std::vector<vigil_str> args;
    args.reserve(argv.size());
    for (const std::string& arg : argv) args.push_back(to_str(arg));
    CommandOutput result;
    TextSink output(result.output, TextSink::kAppend);
    vigil_status status =
        api_->run_command(scan_, args.data(), args.size(), &TextSink::take, &output, &result.exit_code);
    output.check();
    if (status == VIGIL_E_CANCELLED) throw Cancelled();
    if (status != VIGIL_OK)
      throw Error("command '" + (argv.empty() ? std::string() : argv[0]) + "' failed", status, true);
    return result;
  }

  void set_error(std::string_view message) { api_->set_error(scan_, to_str(message)); }

 private:
  static std::vector<vigil_column> convert(const std::vector<Column>& columns) {
    std::vector<vigil_column> out;
    out.reserve(columns.size());
    for (const Column& column : columns) out.push_back({to_str(column.name), to_str(column.value)});
    return out;
  }

  vigil_scan* scan_;
  const vigil_host_api* api_;
  std::string_view manifest_type_;
};

using ManifestHandler = std::function<void(Scan& scan, std::string_view manifest)>;

// One of the module's settings (`<module>.<name>`), declared in init with
// Host::declare: the agent validates the key before storing it (ABI 1.5), and
// Host::setting/integer/flag read it back with the declared default.
struct Setting {
  std::string name;
  int32_t kind = VIGIL_SETTING_TEXT;
  int64_t min = 0;
  int64_t max = 0;
  std::vector<std::string> choices;
  std::string default_value;
  std::string description;
  bool secret = false;

  static Setting integer(std::string name, int64_t min, int64_t max, int64_t fallback, std::string description) {
    return make(std::move(name), VIGIL_SETTING_INTEGER, std::to_string(fallback), std::move(description), min, max);
  }
  static Setting flag(std::string name, bool fallback, std::string description) {
    return make(std::move(name), VIGIL_SETTING_BOOLEAN, fallback ? "true" : "false", std::move(description));
  }
  static Setting choice(std::string name, std::vector<std::string> choices, std::string fallback,
                        std::string description) {
    Setting setting = make(std::move(name), VIGIL_SETTING_CHOICE, std::move(fallback), std::move(description));
    setting.choices = std::move(choices);
    return setting;
  }
  static Setting text(std::string name, std::string fallback, std::string description) {
    return make(std::move(name), VIGIL_SETTING_TEXT, std::move(fallback), std::move(description));
  }
  static Setting path(std::string name, std::string fallback, std::string description) {
    return make(std::move(name), VIGIL_SETTING_PATH, std::move(fallback), std::move(description));
  }

  // The value as this kind reads it: 1/0, true/false, yes/no, on/off.
  static std::optional<bool> parse_flag(std::string_view value) {
    std::string lower;
    for (char c : value) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (lower == "1" || lower == "true" || lower == "yes" || lower == "on") return true;
    if (lower == "0" || lower == "false" || lower == "no" || lower == "off") return false;
    return std::nullopt;
  }
  // A decimal integer within min..max, else nullopt.
  std::optional<int64_t> parse_integer(std::string_view value) const {
    bool negative = !value.empty() && value.front() == '-';
    if (negative) value.remove_prefix(1);
    if (value.empty() || value.size() > 18) return std::nullopt;  // 18 digits never overflow
    int64_t number = 0;
    for (char c : value) {
      if (c < '0' || c > '9') return std::nullopt;
      number = number * 10 + (c - '0');
    }
    if (negative) number = -number;
    if (number < min || number > max) return std::nullopt;
    return number;
  }

 private:
  static Setting make(std::string name, int32_t kind, std::string fallback, std::string description, int64_t min = 0,
                      int64_t max = 0) {
    Setting setting;
    setting.name = std::move(name);
    setting.kind = kind;
    setting.min = min;
    setting.max = max;
    setting.default_value = std::move(fallback);
    setting.description = std::move(description);
    return setting;
  }
};

// The plugin's view of the host: logging, configuration, state, registration.
class Host {
 public:
  Host(vigil_plugin_host* host, const vigil_host_api* api) : host_(host), api_(api) {}
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  void log(int32_t level, std::string_view message) const { api_->log(host_, level, to_str(message)); }
  bool log_enabled(int32_t level) const { return api_->log_enabled(host_, level) != 0; }
  void error(std::string_view message) const { log(VIGIL_LOG_ERROR, message); }
  void warn(std::string_view message) const { log(VIGIL_LOG_WARN, message); }
  void info(std::string_view message) const { log(VIGIL_LOG_INFO, message); }
  void debug(std::string_view message) const { log(VIGIL_LOG_DEBUG, message); }

  std::optional<std::string> config(std::string_view key) const { return read(api_->config_get, key); }
  std::optional<std::string> state(std::string_view key) const { return read(api_->state_get, key); }
  void set_state(std::string_view key, std::string_view value) const {
    check(api_->state_set(host_, to_str(key), to_str(value)), "state_set");
  }
  void erase_state(std::string_view key) const {
    vigil_status status = api_->state_delete(host_, to_str(key));
    if (status != VIGIL_E_NOT_FOUND) check(status, "state_delete");
  }

  // Emits a real-time event (any thread). Needs a host of ABI 1.2 or newer.
  void emit_event(std::string_view table, const std::vector<Column>& columns) const {
    if (!VIGIL_HAS_FIELD(vigil_host_api, api_->struct_size, emit_event)) {
      throw Error("this agent is too old to take events (needs plugin ABI 1.2)", VIGIL_E_UNSUPPORTED);
    }
    std::vector<vigil_column> converted;
    converted.reserve(columns.size());
    for (const Column& column : columns) converted.push_back({to_str(column.name), to_str(column.value)});
    check(api_->emit_event(host_, to_str(table), converted.data(), converted.size()), "emit_event");
  }

  // Reports a condition an operator should act on (any thread), or clears it
  // with VIGIL_CONDITION_CLEAR. Texts past 1024 bytes are cut (at a character).
  // Agents older than ABI 1.6 only log it.
  void condition(std::string_view code, int32_t severity, std::string_view description = {},
                 std::string_view fix = {}) const {
    auto cut = [](std::string_view text) {
      if (text.size() <= 1024) return text;
      size_t end = 1024;
      while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;  // not inside a character
      return text.substr(0, end);
    };
    description = cut(description);
    fix = cut(fix);
    if (!VIGIL_HAS_FIELD(vigil_host_api, api_->struct_size, set_condition)) {
      if (severity != VIGIL_CONDITION_CLEAR) {
        api_->log(host_, severity == VIGIL_CONDITION_INFO ? VIGIL_LOG_INFO : VIGIL_LOG_WARN,
                  to_str(std::string(description) + " (" + std::string(fix) + ")"));
      }
      return;
    }
    check(api_->set_condition(host_, to_str(code), severity, to_str(description), to_str(fix)), "set_condition");
  }

  // Declares a setting (valid only inside Plugin::init). Agents older than
  // ABI 1.5 do not validate it, but setting() still gives its default.
  void declare(const Setting& setting) {
    settings_.push_back(setting);
    if (!VIGIL_HAS_FIELD(vigil_host_api, api_->struct_size, declare_setting)) return;
    std::vector<vigil_str> choices;
    for (const std::string& choice : settings_.back().choices) choices.push_back(to_str(choice));
    vigil_setting declared{};
    declared.struct_size = sizeof(vigil_setting);
    declared.abi_version = VIGIL_ABI_VERSION;
    declared.name = to_str(setting.name);
    declared.kind = setting.kind;
    declared.flags = setting.secret ? VIGIL_SETTING_SECRET : 0u;
    declared.min = setting.min;
    declared.max = setting.max;
    declared.choices = choices.data();
    declared.choice_count = choices.size();
    declared.default_value = to_str(setting.default_value);
    declared.description = to_str(setting.description);
    check(api_->declare_setting(host_, &declared), "declare_setting");
  }
  // A declared setting's value: the configured one, else its default.
  std::string setting(std::string_view name) const {
    const Setting& declared = find_setting(name);
    return config(name).value_or(declared.default_value);
  }
  // A declared INTEGER setting; its default when the value does not fit
  // (an agent older than 1.5 stored it unchecked).
  int64_t integer(std::string_view name) const {
    const Setting& declared = find_setting(name);
    if (auto value = config(name)) {
      if (auto number = declared.parse_integer(*value)) return *number;
    }
    return declared.parse_integer(declared.default_value).value_or(declared.min);
  }
  // A declared BOOLEAN setting, likewise.
  bool flag(std::string_view name) const {
    const Setting& declared = find_setting(name);
    if (auto value = config(name)) {
      if (auto parsed = Setting::parse_flag(*value)) return *parsed;
    }
    return Setting::parse_flag(declared.default_value).value_or(false);
  }

  // Registration; valid only inside Plugin::init.
  void on_manifest(std::string_view manifest_type, ManifestHandler handler) {
    auto entry = std::make_unique<HandlerEntry>(HandlerEntry{std::move(handler), api_});
    check(api_->register_manifest_handler(host_, to_str(manifest_type), &HandlerEntry::call, entry.get()),
          "register_manifest_handler");
    handlers_.push_back(std::move(entry));
  }
  void set_default_cpu_limit(int32_t percent) const {
    check(api_->set_default_cpu_limit(host_, percent), "set_default_cpu_limit");
  }
  void set_on_demand_key(std::string_view key_name) const {
    check(api_->set_on_demand_key(host_, to_str(key_name)), "set_on_demand_key");
  }
  // Scan whenever the agent starts or reloads the plugin. Needs a host of ABI 1.3 or newer.
  void set_scan_on_start(bool enabled) const {
    if (!VIGIL_HAS_FIELD(vigil_host_api, api_->struct_size, set_scan_on_start)) {
      throw Error("this agent is too old to scan at every start (needs plugin ABI 1.3)", VIGIL_E_UNSUPPORTED);
    }
    check(api_->set_scan_on_start(host_, enabled ? 1 : 0), "set_scan_on_start");
  }

 private:
  struct HandlerEntry {
    ManifestHandler handler;
    const vigil_host_api* api;

    static vigil_status call(void* user, vigil_scan* scan, vigil_str manifest_type, vigil_str manifest) {
      auto* self = static_cast<HandlerEntry*>(user);
      Scan wrapper(scan, self->api, to_view(manifest_type));
      try {
        self->handler(wrapper, to_view(manifest));
        return VIGIL_OK;
      } catch (const Cancelled&) {
        return VIGIL_E_CANCELLED;
      } catch (const Error& error) {
        if (!error.host_reported()) wrapper.set_error(error.what());
        return error.status() == VIGIL_OK ? VIGIL_E_INTERNAL : error.status();
      } catch (const std::bad_alloc&) {
        wrapper.set_error("out of memory");
        return VIGIL_E_NO_MEMORY;
      } catch (const std::exception& error) {
        wrapper.set_error(error.what());
        return VIGIL_E_INTERNAL;
      } catch (...) {
        wrapper.set_error("unknown exception");
        return VIGIL_E_INTERNAL;
      }
    }
  };

  using Getter = vigil_status (*)(vigil_plugin_host*, vigil_str, vigil_on_value, void*);
  std::optional<std::string> read(Getter getter, std::string_view key) const {
    std::string value;
    TextSink sink(value, TextSink::kAssign);
    vigil_status status = getter(host_, to_str(key), &TextSink::take, &sink);
    sink.check();
    if (status == VIGIL_E_NOT_FOUND) return std::nullopt;
    check(status, "read");
    return value;
  }
  static void check(vigil_status status, const char* call) {
    if (status != VIGIL_OK) throw Error(std::string("host refused ") + call, status);
  }
  const Setting& find_setting(std::string_view name) const {
    for (const Setting& setting : settings_) {
      if (setting.name == name) return setting;
    }
    throw Error("setting '" + std::string(name) + "' was never declared", VIGIL_E_INVALID_ARG);
  }

  vigil_plugin_host* host_;
  const vigil_host_api* api_;
  std::vector<std::unique_ptr<HandlerEntry>> handlers_;
  std::vector<Setting> settings_;  // what the module declared, for the defaults
};

// Base class of a C++ plugin. One object per load is the plugin's instance
// (ABI 1.4): created on load, destroyed on unload, no global state needed.
class Plugin {
 public:
  virtual ~Plugin() = default;
  // Registers handlers etc. Throwing refuses the plugin with the exception's
  // message, and with its status when it is a vigil::Error.
  virtual void init(Host& host) = 0;
};

namespace detail {

template <class PluginClass>
struct Adapter {
  // One load: the host's view, and the plugin object, destroyed first (it may
  // still use the host on its way out).
  struct Instance {
    Instance(vigil_plugin_host* raw_host, const vigil_host_api* api) : host(raw_host, api) {}
    Host host;
    PluginClass plugin;
  };

  // Agents of ABI 1.4 and later keep the instance and hand it back to on_destroy.
  static vigil_status on_create(vigil_plugin_host* raw_host, const vigil_host_api* api, void** out) {
    if (api == nullptr || !VIGIL_HAS_FIELD(vigil_host_api, api->struct_size, set_error)) {
      return VIGIL_E_ABI_MISMATCH;
    }
    if (out == nullptr) return VIGIL_E_INVALID_ARG;
    try {
      auto instance = std::make_unique<Instance>(raw_host, api);
      instance->plugin.init(instance->host);
      *out = instance.release();
      return VIGIL_OK;
    } catch (const Error& error) {
      api->log(raw_host, VIGIL_LOG_ERROR, to_str(std::string("init failed: ") + error.what()));
      return error.status() == VIGIL_OK ? VIGIL_E_INTERNAL : error.status();
    } catch (const std::exception& error) {
      api->log(raw_host, VIGIL_LOG_ERROR, to_str(std::string("init failed: ") + error.what()));
    } catch (...) {
      api->log(raw_host, VIGIL_LOG_ERROR, to_str("init failed: unknown exception"));
    }
    return VIGIL_E_INTERNAL;
  }

  static void on_destroy(void* instance) {
    try {
      delete static_cast<Instance*>(instance);
    } catch (...) {  // a destructor must not take the host down
    }
  }

  // Agents older than 1.4 call on_init and on_shutdown(void): the one
  // instance of the load has to live here meanwhile.
  static inline void* legacy = nullptr;

  static vigil_status on_init(vigil_plugin_host* raw_host, const vigil_host_api* api) {
    return on_create(raw_host, api, &legacy);
  }

  static void on_shutdown() { on_destroy(std::exchange(legacy, nullptr)); }

  static vigil_status negotiate(vigil_negotiation* negotiation, const char* module, const char* display_name,
                                const char* version, int32_t kind) {
    if (negotiation == nullptr || !VIGIL_HAS_FIELD(vigil_negotiation, negotiation->struct_size, plugin)) {
      return VIGIL_E_ABI_MISMATCH;
    }
    if (VIGIL_ABI_MAJOR(negotiation->abi_version) != VIGIL_ABI_VERSION_MAJOR) {
      negotiation->abi_version = VIGIL_ABI_VERSION;  // so that the host's refusal names both versions
      return VIGIL_E_ABI_MISMATCH;
    }
    static const vigil_plugin descriptor = {
        sizeof(vigil_plugin),
        VIGIL_ABI_VERSION,
        {module, std::strlen(module)},
        {display_name, std::strlen(display_name)},
        {version, std::strlen(version)},
        kind,
        0,
        &Adapter::on_init,
        &Adapter::on_shutdown,
        &Adapter::on_create,
        &Adapter::on_destroy,
    };
    uint32_t minor = VIGIL_ABI_MINOR(negotiation->abi_version) < VIGIL_ABI_VERSION_MINOR
                         ? VIGIL_ABI_MINOR(negotiation->abi_version)
                         : VIGIL_ABI_VERSION_MINOR;
    negotiation->abi_version = VIGIL_MAKE_ABI_VERSION(VIGIL_ABI_VERSION_MAJOR, minor);
    negotiation->plugin = &descriptor;
    return VIGIL_OK;
  }
};

}  // namespace detail
}  // namespace vigil

// Defines the plugin's exported entry point for `PluginClass` (a vigil::Plugin).
// kind: VIGIL_MODULE_SCAN or VIGIL_MODULE_REALTIME.
#define VIGIL_PLUGIN(PluginClass, module, display_name, version, kind)                                         \
  extern "C" VIGIL_EXPORT vigil_status vigil_plugin_negotiate(vigil_negotiation* negotiation) {                \
    return ::vigil::detail::Adapter<PluginClass>::negotiate(negotiation, module, display_name, version, kind); \
  }

#endif  // VIGIL_PLUGIN_HPP
