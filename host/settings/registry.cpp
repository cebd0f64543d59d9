// The table of the agent's settings and the checks of each kind.
#include "settings/registry.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "base/memory_size.h"
#include "vigil/crypto/random.h"
#include "vigil/net/wire.h"
#include "vigil/time_windows/time_windows.h"

namespace vigil::settings {
namespace {

constexpr int64_t kDay = 24 * 3600;
constexpr int64_t kMiB = int64_t{1} << 20;
constexpr size_t kMaxText = 4096;

// Why the keys read once at start need a restart, said once each.
constexpr const char* kLogsAtStart = "the log files and sinks are opened once, at start";
constexpr const char* kPrivilegesAtStart = "vigild drops to them once, at start";

Setting internal(const char* name, const char* description, bool secret = false) {
  return {.name = name,
          .applies = "written by the agent",
          .secret = secret,
          .access = Access::kInternal,
          .description = description};
}

std::vector<Setting> make_table() {
  return {
      // Platform (vigilctl provision sets them together; config set may change one).
      {.name = "ServerUri",
       .kind = Kind::kUrl,
       .applies = "next check-in (the link reconnects)",
       .description = "the platform's address (provision also takes WebServiceUri)"},
      {.name = "CustomerId",
       .kind = Kind::kUuid,
       .applies = "next check-in (the agent provisions again)",
       .description = "the customer the agent belongs to"},
      {.name = "ActivationId",
       .kind = Kind::kUuid,
       .applies = "next check-in (the agent provisions again)",
       .secret = true,
       .description = "the activation key the agent provisions with"},
      {.name = "CaBundle",
       .kind = Kind::kFile,
       .applies = "next connection",
       .description = "PEM CAs to trust for the platform; default the configuration directory's ca-bundle.crt if "
                      "present, else the system store"},
      {.name = "HostIdSearchDir",
       .kind = Kind::kPath,
       .default_value = "/etc/",
       .applies = "next provisioning",
       .description = "directory of the host id file vigil/hostid"},
      {.name = "GoldenImage",
       .kind = Kind::kBoolean,
       .default_value = "false",
       .applies = "next check-in",
       .access = Access::kCommand,
       .owner = "vigilctl provision GoldenImage=true",
       .description = "golden-image mode: the image carries no identity (provision also clears it)"},
      {.name = "CheckinInterval",
       .kind = Kind::kInteger,
       .min = 1,
       .max = 7 * kDay,
       .default_value = "900",
       .applies = "next check-in",
       .description = "seconds between check-ins; the platform's profile replaces it"},
      {.name = "LinkBackoffMaxSeconds",
       .kind = Kind::kInteger,
       .min = 1,
       .max = 3600,
       .default_value = "300",
       .applies = "next retry",
       .description = "cap of the platform link's retry backoff, in seconds"},
      {.name = "UpdateCheckInterval",
       .kind = Kind::kInteger,
       .min = 60,
       .max = 7 * kDay,
       .default_value = "86400",
       .applies = "next check-in",
       .description = "seconds between plugin update checks when the platform announces nothing new (an expiry is "
                      "still noticed)"},
      {.name = "UpdateExpiryWarningDays",
       .kind = Kind::kInteger,
       .min = 0,
       .max = 365,
       .default_value = "3",
       .applies = "at once",
       .description = "days before the trusted update metadata expires that status warns"},
      {.name = "AutoUpgrade",
       .kind = Kind::kBoolean,
       .default_value = "0",
       .applies = "at once",
       .description = "swap to a verified new plugin version as soon as it is staged; the platform's profile "
                      "(auto_upgrade) replaces it"},
      {.name = "PluginPin",
       .kind = Kind::kText,
       .scope = Scope::kModule,
       .applies = "next update check",
       .description = "the plugin version this module must run (staged and swapped to when AutoUpgrade is on, a "
                      "downgrade too); unset: the platform's current; the platform's profile (plugin_pins) sets it"},
      {.name = "UpgradeWindow",
       .kind = Kind::kTimeWindows,
       .applies = "at once",
       .description = "local times when automatic plugin swaps may start (empty: any time); the platform's profile "
                      "(upgrade_window) sets it"},
      {.name = "PluginProbeWindow",
       .kind = Kind::kInteger,
       .min = 1,
       .max = kDay,
       .default_value = "600",
       .applies = "next swap",
       .description = "seconds a swapped-in plugin version is watched (its first scan must end OK, the worker must "
                      "not die) before it counts as good; a failure reverts to the previous version"},
      {.name = "SelfProtection",
       .kind = Kind::kBoolean,
       .default_value = "0",
       .applies = "at once",
       .description = "refuse stops and uninstalls without a platform key, restore the agent's files, block "
                      "debuggers (docs/self-protection.md); turning it off locally needs --sp-key; the platform's "
                      "profile (self_protection) replaces it"},
      // Logs.
      {.name = "LogLevel",
       .kind = Kind::kInteger,
       .min = 0,
       .max = 5,
       .default_value = "3",
       .applies = "at once",
       .description = "0 fatal, 1 error, 2 warning, 3 info, 4 debug, 5 trace; the platform's profile may set it"},
      {.name = "Logs/TraceLevel",
       .kind = Kind::kInteger,
       .min = 0,
       .max = 5,
       .applies = "at once",
       .description = "overrides LogLevel for every log while set"},
      {.name = "LogDestType",
       .kind = Kind::kChoice,
       .choices = {"file", "syslog", "journal"},
       .default_value = "file",
       .live = false,
       .applies = kLogsAtStart,
       .description = "where logs go"},
      {.name = "LogFileDir",
       .kind = Kind::kPath,
       .default_value = "/var/log/vigil",
       .live = false,
       .applies = kLogsAtStart,
       .description = "directory of vigild.log and the module logs (under --root)"},
      {.name = "LogGroup",
       .kind = Kind::kText,
       .default_value = "adm",
       .live = false,
       .applies = "the log directory's group is set once, at start",
       .description = "the group that may read the logs"},
      // Privileges and commands.
      {.name = "User",
       .kind = Kind::kText,
       .live = false,
       .applies = kPrivilegesAtStart,
       .description = "account vigild runs as after start; unset: root"},
      {.name = "Group",
       .kind = Kind::kText,
       .live = false,
       .applies = kPrivilegesAtStart,
       .description = "group vigild runs as after start; unset: User's group"},
      {.name = "UseSudo",
       .kind = Kind::kBoolean,
       .default_value = "0",
       .applies = "next command",
       .description = "run the commands modules run through SudoCommand"},
      {.name = "SudoCommand",
       .kind = Kind::kText,
       .default_value = "sudo",
       .applies = "next command",
       .description = "the command and its words (split at spaces, no shell) that UseSudo puts in front"},
      {.name = "CmdMaxTimeOut",
       .kind = Kind::kInteger,
       .min = 1,
       .max = 7 * kDay,
       .default_value = "1800",
       .applies = "next scan",
       .description = "seconds a command of a scan may run before it is killed"},
      {.name = "ProcessPriority",
       .kind = Kind::kInteger,
       .min = -20,
       .max = 19,
       .default_value = "0",
       .applies = "next scan",
       .description = "nice value of scans and their commands"},
      {.name = "WorkerMemoryLimit",
       .kind = Kind::kSize,
       .min = 0,
       .max = int64_t{1} << 40,
       .default_value = "512M",
       .live = false,
       .applies = "the supervisor learns it when the worker starts",
       .description = "resident memory past which the supervisor restarts the worker; 0: none"},
      // Module budgets: `<module>.Name` for one module, `Name` for all.
      {.name = "CpuLimit",
       .kind = Kind::kInteger,
       .scope = Scope::kAgentOrModule,
       .min = 1,
       .max = 100,
       .applies = "next scan",
       .description =
           "percent of one core a scan may use; default the module's own; the platform's profile sets it per module"},
      {.name = "ScanInterval",
       .kind = Kind::kInteger,
       .scope = Scope::kAgentOrModule,
       .min = 1,
       .max = 31 * kDay,
       .default_value = "14400",
       .applies = "at once (the next interval scan is planned again)",
       .description = "seconds between interval scans; the platform's profile sets it per module"},
      {.name = "CmdMemoryMax",
       .kind = Kind::kSize,
       .scope = Scope::kAgentOrModule,
       .min = 0,
       .max = int64_t{1} << 40,
       .default_value = "1G",
       .applies = "next command",
       .description = "memory.max of each command's cgroup; 0: none"},
      {.name = "CmdPidsMax",
       .kind = Kind::kInteger,
       .scope = Scope::kAgentOrModule,
       .min = 0,
       .max = 1 << 22,
       .default_value = "512",
       .applies = "next command",
       .description = "pids.max of each command's cgroup; 0: none"},
      // Outbox and uploads.
      {.name = "BlackoutWindows",
       .kind = Kind::kTimeWindows,
       .applies = "at once",
       .description = "local times when uploads wait (scans still run); the platform's profile sets it"},
      {.name = "OutboxMaxEntries",
       .kind = Kind::kInteger,
       .min = 1,
       .max = 10000000,
       .default_value = "10000",
       .applies = "at once",
       .description = "entries the outbox keeps; past it the oldest are dropped and counted"},
      {.name = "OutboxMaxBytes",
       .kind = Kind::kInteger,
       .min = kMiB,
       .max = int64_t{1} << 40,
       .default_value = "268435456",
       .applies = "at once",
       .description = "bytes the outbox keeps; past it the oldest entries are dropped and counted"},
      {.name = "OutboxChunkBytes",
       .kind = Kind::kInteger,
       .min = 4096,
       .max = 8 * kMiB,
       .default_value = "1048576",
       .applies = "next scan",
       .description = "bound of one encoded delta chunk"},
      {.name = "UploadDirectory",
       .kind = Kind::kPath,
       .live = false,
       .applies = "the upload target is made once, at start",
       .description = "where deltas go while no platform is configured; default uploaded/ in the data directory"},
      // Metrics (docs/metrics.md).
      {.name = "MetricsTextfile",
       .kind = Kind::kPath,
       .applies = "next write",
       .description = "file the agent writes its Prometheus metrics to, for node_exporter's textfile collector "
                      "(under --root); unset: none"},
      {.name = "MetricsInterval",
       .kind = Kind::kInteger,
       .min = 1,
       .max = 3600,
       .default_value = "15",
       .applies = "next write",
       .description = "seconds between writes of the metrics textfile"},
      // Proxy (vigilctl proxy; docs/proxy.md).
      {.name = "ProxyOrder",
       .kind = Kind::kChoice,
       .choices = {"sequential", "seq", "random"},
       .default_value = "sequential",
       .applies = "next connection",
       .description = "order in which the ProxyUrls are tried"},
      {.name = "ProxyWpad",
       .kind = Kind::kBoolean,
       .default_value = "off",
       .applies = "next connection",
       .description = "discover a PAC file with WPAD (DNS)"},
      {.name = "ProxySystem",
       .kind = Kind::kBoolean,
       .default_value = "on",
       .applies = "next connection",
       .description = "use https_proxy/no_proxy of vigild's environment"},
      {.name = "ProxyDirectFallback",
       .kind = Kind::kBoolean,
       .default_value = "on",
       .applies = "next connection",
       .description = "connect directly once every proxy failed (off: fail closed)"},
      {.name = "ConnectTimeout",
       .kind = Kind::kInteger,
       .min = 1,
       .max = 120,
       .default_value = "3",
       .applies = "next connection",
       .description = "seconds per connection attempt"},
      {.name = "ProxyUrls",
       .applies = "next connection",
       .access = Access::kCommand,
       .owner = "vigilctl proxy --url",
       .description = "proxy URLs, ';'-separated; their credentials are sealed"},
      {.name = "ProxyPac",
       .applies = "next connection",
       .access = Access::kCommand,
       .owner = "vigilctl proxy --pac",
       .description = "PAC file URL"},
      {.name = "ProxyUser",
       .applies = "next connection",
       .secret = true,
       .access = Access::kCommand,
       .owner = "vigilctl proxy --user",
       .description = "proxy user, sealed"},
      {.name = "ProxyPassword",
       .applies = "next connection",
       .secret = true,
       .access = Access::kCommand,
       .owner = "vigilctl proxy --password",
       .description = "proxy password, sealed"},
      // What the agent writes for itself.
      internal("AgentId", "the agent's identity, issued by the platform"),
      internal("AgentToken", "the agent's credential", true),
      // Secret: it holds the ActivationId, which is.
      internal("ProvisionedFor", "the ServerUri, CustomerId and ActivationId the identity was issued for", true),
      internal("HostFingerprint", "the machine's fingerprint when the identity was issued"),
      internal("ProvisionedAt", "when the identity was issued (unix seconds)"),
      internal("GoldenImageFingerprint", "the image's fingerprint (golden-image mode)"),
      internal("ProvisionNonce", "the nonce of a provisioning under way", true),
      internal("ReprovisionReason", "why the agent provisions again"),
      internal("ActivatedModules", "the modules the platform activated"),
      internal("StateVersion", "the desired state applied"),
      internal("Profile", "the platform profile applied"),
      internal("ProfileLogLevel", "the LogLevel the profile set (taken back when the profile drops it)"),
      internal("LastCommandId", "the last platform command carried out"),
      internal("Uninstalled", "when the platform uninstalled the agent"),
  };
}

bool printable(std::string_view value) {
  return std::none_of(value.begin(), value.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

// "512 MiB" for a size, the number otherwise.
std::string bound_text(const Setting& setting, int64_t bound) {
  return setting.kind == Kind::kSize && bound != 0 ? memory_size_text(bound) : std::to_string(bound);
}

}  // namespace

const std::vector<Setting>& builtin() {
  static const std::vector<Setting> table = make_table();
  return table;
}

const Setting* find_builtin(std::string_view name) {
  for (const Setting& setting : builtin()) {
    if (iequals(setting.name, name)) return &setting;
  }
  return nullptr;
}

std::string kind_name(Kind kind) {
  switch (kind) {
    case Kind::kInteger: return "integer";
    case Kind::kSize: return "size";
    case Kind::kBoolean: return "boolean";
    case Kind::kChoice: return "choice";
    case Kind::kText: return "text";
    case Kind::kPath: return "path";
    case Kind::kFile: return "file";
    case Kind::kUuid: return "uuid";
    case Kind::kUrl: return "url";
    case Kind::kTimeWindows: return "time windows";
  }
  return "text";
}

std::string allowed_values(const Setting& setting) {
  switch (setting.kind) {
    case Kind::kInteger: return "an integer from " + std::to_string(setting.min) + " to " + std::to_string(setting.max);
    case Kind::kSize:
      return "a size from " + bound_text(setting, setting.min) + " to " + bound_text(setting, setting.max) +
             " (bytes, or a number with K, M or G)";
    case Kind::kBoolean: return "a boolean (1/0, true/false, yes/no, on/off)";
    case Kind::kChoice: return "one of " + join(setting.choices);
    case Kind::kText: return "one line of text (up to 4096 bytes)";
    case Kind::kPath: return "an absolute path";
    case Kind::kFile: return "the absolute path of an existing file";
    case Kind::kUuid: return "a UUID (8-4-4-4-12 hexadecimal digits)";
    case Kind::kUrl: return "an https://host[:port] URL";
    case Kind::kTimeWindows: return "HH:MM-HH:MM local-time windows, comma-separated (empty: none)";
  }
  return "";
}

Result<bool> boolean_value(std::string_view value) {
  for (const char* yes : {"1", "true", "yes", "on"}) {
    if (iequals(value, yes)) return true;
  }
  for (const char* no : {"0", "false", "no", "off"}) {
    if (iequals(value, no)) return false;
  }
  return Error{"not a boolean"};
}

Result<int64_t> integer_value(const Setting& setting, std::string_view value) {
  int64_t number = 0;
  if (setting.kind == Kind::kSize) {
    auto size = parse_memory_size(value);
    if (!size.ok()) return Error{size.error()};
    number = size.value();
  } else {
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (error != std::errc() || end != value.data() + value.size() || value.empty()) return Error{"not an integer"};
  }
  if (number < setting.min || number > setting.max) return Error{"out of range"};
  return number;
}

Status check_value(const Setting& setting, std::string_view key, std::string_view value) {
  auto refuse = [&](const std::string& detail = "") {
    std::string shown = setting.secret ? "(hidden)" : "'" + std::string(value.substr(0, 200)) + "'";
    return Error{std::string(key) + " must be " + allowed_values(setting) + ", got " + shown +
                 (detail.empty() ? "" : ": " + detail)};
  };
  if (!printable(value) || value.size() > kMaxText) return refuse("control characters or too long");
  switch (setting.kind) {
    case Kind::kInteger:
    case Kind::kSize:
      if (!integer_value(setting, value).ok()) return refuse();
      break;
    case Kind::kBoolean:
      if (!boolean_value(value).ok()) return refuse();
      break;
    case Kind::kChoice:
      if (std::find(setting.choices.begin(), setting.choices.end(), value) == setting.choices.end()) return refuse();
      break;
    case Kind::kText:
      if (value.empty()) return refuse("empty (unset it instead)");
      break;
    case Kind::kPath:
      if (value.empty() || value.front() != '/') return refuse();
      break;
    case Kind::kFile: {
      std::error_code error;
      if (value.empty() || value.front() != '/' || !std::filesystem::is_regular_file(value, error)) return refuse();
      break;
    }
    case Kind::kUuid:
      if (!crypto::is_uuid(std::string(value))) return refuse();
      break;
    case Kind::kUrl:
      if (auto url = wire::parse_url(value); !url.ok()) return refuse(url.error());
      break;
    case Kind::kTimeWindows:
      if (auto windows = TimeWindows::parse(value); !windows.ok()) return refuse(windows.error());
      break;
  }
  return Status::Ok();
}

std::string doc_row(const Setting& setting) {
  std::string name = setting.scope == Scope::kAgent    ? "`" + setting.name + "`"
                     : setting.scope == Scope::kModule ? "`<module>." + setting.name + "`"
                                                       : "`" + setting.name + "`, `<module>." + setting.name + "`";
  std::string values = setting.access == Access::kInternal ? "read-only" : allowed_values(setting);
  if (setting.access == Access::kCommand) values = "set with `" + setting.owner + "`";
  std::string when = setting.live ? setting.applies : "restart: " + setting.applies;
  std::string description = setting.description + (setting.secret ? " (secret: never shown)" : "");
  return "| " + name + " | " + values + " | " +
         (setting.default_value.empty() ? "" : "`" + setting.default_value + "`") + " | " + when + " | " + description +
         " |";
}

}  // namespace vigil::settings
