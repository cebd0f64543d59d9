// Implementation of every host service in vigil_host_api. Each function checks
// its arguments, never throws across the boundary (noexcept, so clang-tidy's
// bugprone-exception-escape checks it: scripts/check-abi-exceptions), and
// copies what it keeps.
#include "plugin/host_api.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <string_view>
#include <utility>

#include "delta/delta_encoder.h"
#include "exec/command_runner.h"
#include "log/log_manager.h"
#include "plugin/plugin_context.h"
#include "settings/registry.h"
#include "store/config_table.h"
#include "store/plugin_state.h"

namespace vigil {
namespace {

std::string_view view(vigil_str text) {
  return text.ptr == nullptr ? std::string_view{} : std::string_view{text.ptr, text.len};
}
bool valid(vigil_str text) {
  return text.ptr != nullptr || text.len == 0;
}

thread_local std::string t_service_failure;  // see take_service_failure

// Logs a failed service's cause and keeps it for the scan on this thread.
vigil_status service_failed(vigil_plugin_host* host, const char* call, const std::string& cause) {
  host->logger->error("{}: {}", call, cause);
  t_service_failure = cause;
  return VIGIL_E_IO;
}

template <class Fn>
vigil_status guarded(vigil_plugin_host* host, const char* call, Fn&& fn) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return VIGIL_E_NO_MEMORY;
  } catch (const std::exception& error) {
    if (host != nullptr && host->logger) host->logger->error("{}: {}", call, error.what());
    return VIGIL_E_INTERNAL;
  }
}

vigil_status log(vigil_plugin_host* host, int32_t level, vigil_str message) noexcept {
  if (host == nullptr || !valid(message) || level < VIGIL_LOG_FATAL || level > VIGIL_LOG_TRACE) {
    return VIGIL_E_INVALID_ARG;
  }
  return guarded(host, "log", [&] {
    host->logger->log(to_spdlog_level(level), "{}", view(message));
    if (host->registering && level <= VIGIL_LOG_ERROR) host->init_error = view(message);
    return VIGIL_OK;
  });
}

int32_t log_enabled(vigil_plugin_host* host, int32_t level) noexcept {
  if (host == nullptr || level < VIGIL_LOG_FATAL || level > VIGIL_LOG_TRACE) return 0;
  return host->logger->should_log(to_spdlog_level(level)) ? 1 : 0;
}

vigil_status register_manifest_handler(vigil_plugin_host* host, vigil_str manifest_type, vigil_on_manifest handler,
                                       void* user) noexcept {
  if (host == nullptr || handler == nullptr || !valid(manifest_type)) return VIGIL_E_INVALID_ARG;
  if (!host->registering) return VIGIL_E_STATE;
  return guarded(host, "register_manifest_handler", [&] {
    std::string type(view(manifest_type));
    if (!is_valid_name(type, true, VIGIL_KEY_NAME_MAX)) {
      host->logger->error("register_manifest_handler: invalid manifest type '{}'", type);
      return VIGIL_E_INVALID_ARG;
    }
    if (!host->handlers.emplace(type, vigil_plugin_host::Handler{handler, user}).second) {
      host->logger->error("register_manifest_handler: manifest type '{}' registered twice", type);
      return VIGIL_E_INVALID_ARG;
    }
    return VIGIL_OK;
  });
}

vigil_status set_default_cpu_limit(vigil_plugin_host* host, int32_t percent) noexcept {
  if (host == nullptr || percent < 1 || percent > 100) return VIGIL_E_INVALID_ARG;
  if (!host->registering) return VIGIL_E_STATE;
  host->default_cpu_limit = percent;
  return VIGIL_OK;
}

vigil_status set_on_demand_key(vigil_plugin_host* host, vigil_str key_name) noexcept {
  if (host == nullptr || !valid(key_name) || !is_valid_name(view(key_name), true, VIGIL_KEY_NAME_MAX))
    return VIGIL_E_INVALID_ARG;
  if (!host->registering) return VIGIL_E_STATE;
  return guarded(host, "set_on_demand_key", [&] {
    host->on_demand_key = std::string(view(key_name));
    return VIGIL_OK;
  });
}

vigil_status set_scan_on_start(vigil_plugin_host* host, int32_t enabled) noexcept {
  if (host == nullptr || (enabled != 0 && enabled != 1)) return VIGIL_E_INVALID_ARG;
  if (!host->registering) return VIGIL_E_STATE;
  host->scan_on_start = enabled == 1;
  return VIGIL_OK;
}

// The module's declaration of `name`, or null.
const vigil::settings::Setting* declared(const vigil_plugin_host* host, std::string_view name) noexcept {
  for (const auto& setting : host->settings) {
    if (setting.name == name) return &setting;
  }
  return nullptr;
}

// ABI 1.5: a setting of the module, checked as the agent will check its values.
vigil_status declare_setting(vigil_plugin_host* host, const vigil_setting* setting) noexcept {
  if (host == nullptr || setting == nullptr || !VIGIL_HAS_FIELD(vigil_setting, setting->struct_size, description))
    return VIGIL_E_INVALID_ARG;
  if (!host->registering) return VIGIL_E_STATE;
  return guarded(host, "declare_setting", [&] {
    using vigil::settings::Kind;
    auto refuse = [&](const std::string& why) {
      host->logger->error("declare_setting: {}", why);
      return VIGIL_E_INVALID_ARG;
    };
    if (!valid(setting->name) || !valid(setting->default_value) || !valid(setting->description))
      return refuse("a null string");
    vigil::settings::Setting entry;
    entry.name = std::string(view(setting->name));
    if (!is_valid_name(entry.name, false, VIGIL_KEY_NAME_MAX))
      return refuse("invalid setting name '" + entry.name + "'");
    if (const auto* agent = vigil::settings::find_builtin(entry.name);
        agent != nullptr && agent->scope != vigil::settings::Scope::kAgent) {
      return refuse("'" + entry.name + "' is a setting the agent gives every module");
    }
    if (declared(host, entry.name) != nullptr) return refuse("setting '" + entry.name + "' declared twice");
    switch (setting->kind) {
      case VIGIL_SETTING_INTEGER: entry.kind = Kind::kInteger; break;
      case VIGIL_SETTING_BOOLEAN: entry.kind = Kind::kBoolean; break;
      case VIGIL_SETTING_CHOICE: entry.kind = Kind::kChoice; break;
      case VIGIL_SETTING_TEXT: entry.kind = Kind::kText; break;
      case VIGIL_SETTING_PATH: entry.kind = Kind::kPath; break;
      default: return refuse("setting '" + entry.name + "': unknown kind " + std::to_string(setting->kind));
    }
    entry.scope = vigil::settings::Scope::kModule;
    entry.min = setting->min;
    entry.max = setting->max;
    if (entry.kind == Kind::kInteger && entry.min > entry.max)
      return refuse("setting '" + entry.name + "': min is above max");
    if (entry.kind == Kind::kChoice) {
      if (setting->choices == nullptr || setting->choice_count == 0 || setting->choice_count > 256)
        return refuse("setting '" + entry.name + "': a choice needs 1-256 choices");
      for (size_t i = 0; i < setting->choice_count; ++i) {
        if (!valid(setting->choices[i])) return refuse("setting '" + entry.name + "': a null choice");
        entry.choices.emplace_back(view(setting->choices[i]));
      }
    }
    entry.default_value = std::string(view(setting->default_value));
    entry.description = std::string(view(setting->description)).substr(0, 300);
    entry.secret = (setting->flags & VIGIL_SETTING_SECRET) != 0;
    entry.applies = "when the module next reads it (its next scan)";
    entry.module = host->module;
    if (!entry.default_value.empty()) {
      std::string key = host->module + "." + entry.name;
      if (Status fits = vigil::settings::check_value(entry, key, entry.default_value); !fits.ok())
        return refuse("the default of " + fits.error());
    }
    host->settings.push_back(std::move(entry));
    return VIGIL_OK;
  });
}

vigil_status deliver(const Result<std::optional<std::string>>& found, vigil_plugin_host* host, const char* call,
                     vigil_on_value on_value, void* user) {
  if (!found.ok()) return service_failed(host, call, found.error());
  if (!found.value()) return VIGIL_E_NOT_FOUND;
  on_value(user, vigil_str{found.value()->data(), found.value()->size()});
  return VIGIL_OK;
}

vigil_status config_get(vigil_plugin_host* host, vigil_str key, vigil_on_value on_value, void* user) noexcept {
  if (host == nullptr || on_value == nullptr || !valid(key) || key.len == 0) return VIGIL_E_INVALID_ARG;
  // Only the module's own key: an agent-wide key of the same name (a global
  // Root=/x) must never silently redirect a module.
  return guarded(host, "config_get", [&] {
    std::string name = host->module + "." + std::string(view(key));
    auto found = host->store->config().get(name);
    const auto* setting = declared(host, view(key));
    if (setting == nullptr || !found.ok()) return deliver(found, host, "config_get", on_value, user);
    // A declared key gives its default while unset, or while it holds what no longer fits.
    if (found.value()) {
      Status fits = vigil::settings::check_value(*setting, name, *found.value());
      if (fits.ok()) return deliver(found, host, "config_get", on_value, user);
      host->logger->warn("configuration ignored: {}", fits.error());
    }
    if (setting->default_value.empty()) return VIGIL_E_NOT_FOUND;
    return deliver(std::optional<std::string>(setting->default_value), host, "config_get", on_value, user);
  });
}

vigil_status state_get(vigil_plugin_host* host, vigil_str key, vigil_on_value on_value, void* user) noexcept {
  if (host == nullptr || on_value == nullptr || !valid(key) || key.len == 0) return VIGIL_E_INVALID_ARG;
  return guarded(host, "state_get", [&] {
    return deliver(host->store->plugin_state().get(host->module, view(key)), host, "state_get", on_value, user);
  });
}

vigil_status state_set(vigil_plugin_host* host, vigil_str key, vigil_str value) noexcept {
  if (host == nullptr || !valid(key) || key.len == 0 || !valid(value)) return VIGIL_E_INVALID_ARG;
  return guarded(host, "state_set", [&] {
    Status stored = host->store->plugin_state().set(host->module, view(key), view(value));
    return stored.ok() ? VIGIL_OK : service_failed(host, "state_set", stored.error());
  });
}

vigil_status state_delete(vigil_plugin_host* host, vigil_str key) noexcept {
  if (host == nullptr || !valid(key) || key.len == 0) return VIGIL_E_INVALID_ARG;
  return guarded(host, "state_delete", [&] {
    Result<bool> deleted = host->store->plugin_state().remove(host->module, view(key));
    if (!deleted.ok()) return service_failed(host, "state_delete", deleted.error());
    return deleted.value() ? VIGIL_OK : VIGIL_E_NOT_FOUND;
  });
}

// Fills `object` from columns; returns what is malformed, or "" when all is well.
std::string add_columns(std::string_view table, const vigil_column* columns, size_t count, nlohmann::json& object) {
  std::string where = "table '" + std::string(table) + "': ";
  if (count > 0 && columns == nullptr) return where + "null column array";
  for (size_t i = 0; i < count; ++i) {
    std::string_view name = view(columns[i].name);
    if (!valid(columns[i].name) || !valid(columns[i].value) || !is_valid_name(name, false, VIGIL_COLUMN_NAME_MAX)) {
      return where + "invalid column name '" + std::string(name) + "'";
    }
    if (object.contains(name)) return where + "column '" + std::string(name) + "' given twice";
    object[std::string(name)] = std::string(view(columns[i].value));
  }
  return {};
}

vigil_status emit_row(vigil_scan* scan, vigil_str table, const vigil_column* keys, size_t key_count,
                      const vigil_column* values, size_t value_count) noexcept {
  if (scan == nullptr || !valid(table)) return VIGIL_E_INVALID_ARG;
  try {
    std::string table_name(view(table));
    if (!is_valid_name(table_name, false, VIGIL_COLUMN_NAME_MAX)) {
      scan->error = "emit_row: invalid table name '" + table_name + "'";
      return VIGIL_E_INVALID_ARG;
    }
    if (key_count == 0) {
      scan->error = "emit_row: table '" + table_name + "': a row needs at least one key column";
      return VIGIL_E_INVALID_ARG;
    }
    nlohmann::json key_object = nlohmann::json::object();
    nlohmann::json value_object = nlohmann::json::object();
    std::string problem = add_columns(table_name, keys, key_count, key_object);
    if (problem.empty()) problem = add_columns(table_name, values, value_count, value_object);
    if (!problem.empty()) {
      scan->error = "emit_row: " + problem;
      return VIGIL_E_INVALID_ARG;
    }
    if (scan->rows == nullptr) {
      scan->error = "emit_row: this scan takes no rows";
      return VIGIL_E_STATE;
    }
    Status stored = scan->rows->add({table_name, key_object.dump(), value_object.dump()});
    if (!stored.ok()) {
      scan->error = "emit_row: " + stored.error();
      return VIGIL_E_INVALID_ARG;
    }
    return VIGIL_OK;
  } catch (const nlohmann::json::type_error&) {
    scan->error = "emit_row: table '" + std::string(view(table)) + "': a column is not valid UTF-8";
    return VIGIL_E_INVALID_ARG;
  } catch (const std::bad_alloc&) {
    return VIGIL_E_NO_MEMORY;
  } catch (const std::exception& error) {
    scan->error = std::string("emit_row: ") + error.what();
    return VIGIL_E_INTERNAL;
  }
}

vigil_status checkpoint(vigil_scan* scan) noexcept {
  if (scan == nullptr) return VIGIL_E_INVALID_ARG;
  if (scan->plugin->cancel_scans.load()) return VIGIL_E_CANCELLED;
  scan->throttle.checkpoint();
  return scan->plugin->cancel_scans.load() ? VIGIL_E_CANCELLED : VIGIL_OK;
}

vigil_status progress(vigil_scan* scan, uint64_t done, uint64_t total) noexcept {
  if (scan == nullptr) return VIGIL_E_INVALID_ARG;
  scan->progress->done = done;
  scan->progress->total = total;
  return VIGIL_OK;
}

vigil_status set_error(vigil_scan* scan, vigil_str message) noexcept {
  if (scan == nullptr || !valid(message)) return VIGIL_E_INVALID_ARG;
  try {
    scan->error = std::string(view(message));
    return VIGIL_OK;
  } catch (const std::bad_alloc&) {
    return VIGIL_E_NO_MEMORY;
  }
}

vigil_status run_command(vigil_scan* scan, const vigil_str* argv, size_t argc, vigil_on_value on_output, void* user,
                         int32_t* exit_code) noexcept {
  if (scan == nullptr || argv == nullptr || argc == 0) return VIGIL_E_INVALID_ARG;
  try {
    CommandRequest request;
    for (size_t i = 0; i < argc; ++i) {
      if (!valid(argv[i])) {
        scan->error = "run_command: argument " + std::to_string(i) + " is a null string";
        return VIGIL_E_INVALID_ARG;
      }
      request.argv.emplace_back(view(argv[i]));
    }
    const auto& logger = scan->plugin->logger;
    request.timeout = scan->command_timeout;
    request.environment = scan->command_environment;
    request.prefix = scan->command_prefix;
    request.module = scan->plugin->module;
    request.memory_max_bytes = scan->command_memory_max;
    request.pids_max = scan->command_pids_max;
    request.cpu_limit = scan->throttle.percent();
    request.cancelled = &scan->plugin->cancel_scans;
    request.on_output = [&](std::string_view chunk) {
      if (on_output != nullptr) on_output(user, vigil_str{chunk.data(), chunk.size()});
    };
    request.on_error_line = [&](std::string_view line) { logger->warn("{}: {}", request.argv[0], line); };
    logger->debug("running {} (timeout {} s, CPU limit {}%)", request.argv[0],
                  std::chrono::duration_cast<std::chrono::seconds>(request.timeout).count(), request.cpu_limit);
    CommandOutcome outcome = vigil::run_command(request);
    if (!outcome.status.ok()) {
      scan->error = outcome.status.error();
      logger->error("{}", outcome.status.error());
      return plugin_status_of(outcome.status.code());
    }
    if (exit_code != nullptr) *exit_code = outcome.exit_code;
    return VIGIL_OK;
  } catch (const std::bad_alloc&) {
    return VIGIL_E_NO_MEMORY;
  } catch (const std::exception& error) {
    scan->error = std::string("run_command: ") + error.what();
    return VIGIL_E_INTERNAL;
  }
}

vigil_status emit_event(vigil_plugin_host* host, vigil_str table, const vigil_column* columns,
                        size_t column_count) noexcept {
  if (host == nullptr || !valid(table)) return VIGIL_E_INVALID_ARG;
  if (host->events == nullptr) return VIGIL_E_UNSUPPORTED;
  return guarded(host, "emit_event", [&] {
    std::string table_name(view(table));
    nlohmann::json values = nlohmann::json::object();
    std::string problem = is_valid_name(table_name, false, VIGIL_COLUMN_NAME_MAX)
                              ? add_columns(table_name, columns, column_count, values)
                              : "invalid table name '" + table_name + "'";
    if (!problem.empty()) {
      host->logger->error("emit_event: {}", problem);
      return VIGIL_E_INVALID_ARG;
    }
    try {
      (void)values.dump();  // refuses text that is not UTF-8, as the wire's strings must be
    } catch (const nlohmann::json::type_error&) {
      host->logger->error("emit_event: table '{}': a column is not valid UTF-8", table_name);
      return VIGIL_E_INVALID_ARG;
    }
    std::vector<std::pair<std::string, std::string>> pairs;
    for (auto& [name, value] : values.items()) pairs.emplace_back(name, value.get<std::string>());
    auto now = std::chrono::system_clock::now().time_since_epoch();
    host->events->add(
        host->module,
        encode_event(table_name, std::chrono::duration_cast<std::chrono::milliseconds>(now).count(), pairs));
    return VIGIL_OK;
  });
}

vigil_status set_condition(vigil_plugin_host* host, vigil_str code, int32_t severity, vigil_str description,
                           vigil_str fix) noexcept {
  if (host == nullptr || !valid(code) || severity < VIGIL_CONDITION_CLEAR || severity > VIGIL_CONDITION_CRITICAL) {
    return VIGIL_E_INVALID_ARG;
  }
  return guarded(host, "set_condition", [&] {
    std::string name(view(code));
    bool plain = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
    if (!plain) {
      host->logger->error("set_condition: invalid code '{}' ([a-z0-9-], 1-64 bytes)", name);
      return VIGIL_E_INVALID_ARG;
    }
    std::lock_guard lock(host->conditions_mutex);
    if (severity == VIGIL_CONDITION_CLEAR) {
      if (host->conditions.erase(name) > 0) host->logger->info("condition {} cleared", name);
      return VIGIL_OK;
    }
    if (!valid(description) || !valid(fix) || description.len == 0 || fix.len == 0 || description.len > 1024 ||
        fix.len > 1024) {
      host->logger->error("set_condition: '{}' needs a description and a fix of 1-1024 bytes each", name);
      return VIGIL_E_INVALID_ARG;
    }
    vigil_plugin_host::Condition condition{severity, std::string(view(description)), std::string(view(fix))};
    try {
      (void)nlohmann::json({condition.description, condition.fix}).dump();  // status shows them as JSON strings
    } catch (const nlohmann::json::type_error&) {
      host->logger->error("set_condition: '{}': the description or fix is not valid UTF-8", name);
      return VIGIL_E_INVALID_ARG;
    }
    auto found = host->conditions.find(name);
    if (found == host->conditions.end() || found->second.description != condition.description) {
      host->logger->warn("condition {}: {} (fix: {})", name, condition.description, condition.fix);
    }
    host->conditions[name] = std::move(condition);
    return VIGIL_OK;
  });
}

const vigil_host_api kHostApi = {
    sizeof(vigil_host_api),
    VIGIL_ABI_VERSION,
    &log,
    &log_enabled,
    &register_manifest_handler,
    &set_default_cpu_limit,
    &set_on_demand_key,
    &config_get,
    &state_get,
    &state_set,
    &state_delete,
    &emit_row,
    &checkpoint,
    &progress,
    &set_error,
    &run_command,
    &emit_event,
    &set_scan_on_start,
    &declare_setting,
    &set_condition,
};

}  // namespace

const vigil_host_api* host_api() {
  return &kHostApi;
}

bool is_valid_name(std::string_view name, bool allow_dash, size_t max_length) {
  if (name.empty() || name.size() > max_length) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              (allow_dash && c == '-');
    if (!ok) return false;
  }
  return true;
}

ErrorCode error_code_of(vigil_status status) {
  switch (status) {
    case VIGIL_E_INVALID_ARG: return ErrorCode::kInvalidArgument;
    case VIGIL_E_UNSUPPORTED: return ErrorCode::kUnsupported;
    case VIGIL_E_CANCELLED: return ErrorCode::kCancelled;
    case VIGIL_E_NOT_FOUND: return ErrorCode::kNotFound;
    case VIGIL_E_IO: return ErrorCode::kIo;
    case VIGIL_E_TIMEOUT: return ErrorCode::kTimedOut;
    default: return ErrorCode::kFailed;
  }
}

vigil_status plugin_status_of(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return VIGIL_E_INVALID_ARG;
    case ErrorCode::kUnsupported: return VIGIL_E_UNSUPPORTED;
    case ErrorCode::kCancelled: return VIGIL_E_CANCELLED;
    case ErrorCode::kNotFound: return VIGIL_E_NOT_FOUND;
    case ErrorCode::kIo: return VIGIL_E_IO;
    case ErrorCode::kTimedOut: return VIGIL_E_TIMEOUT;
    default: return VIGIL_E_INTERNAL;
  }
}

std::string status_name(vigil_status status) {
  std::string name = vigil_status_name(status);
  // A code newer than this host, or garbage, keeps its number: "unknown status 42".
  if (name == vigil_status_name(-1)) name += " " + std::to_string(status);
  return name;
}

std::string take_service_failure() {
  return std::exchange(t_service_failure, std::string());
}

}  // namespace vigil
