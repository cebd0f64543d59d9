/*
 * Vigil plugin ABI: the whole contract between vigild (the host) and a module
 * plugin. Plain C99 so any language with a C FFI can implement a plugin.
 *
 * Stability policy (see docs/abi-policy.md):
 *  - The ABI version is (major << 16) | minor. The host refuses a plugin whose
 *    major differs from its own; minors are negotiated down.
 *  - Structs start with `struct_size` then `abi_version`. Fields and function
 *    table slots are only ever appended; nothing is reordered, removed or
 *    renumbered. Each side checks the other's `struct_size` before touching a
 *    field that a smaller (older) struct may lack (VIGIL_HAS_FIELD).
 *  - Only fixed-width integers, pointer + length UTF-8 strings and opaque
 *    handles cross the boundary. Strings need not be NUL-terminated.
 *  - Ownership is never transferred: the side that allocates frees. Anything
 *    the host hands to a callback is valid only for the duration of that call;
 *    anything the plugin hands to the host is copied before the call returns.
 *
 * Naming: `on_*` are plugin callbacks the host calls; the members of
 * `vigil_host_api` are host services the plugin calls.
 *
 * Threads:
 *  - INIT THREAD: the host's control thread, during negotiation, on_init /
 *    on_create and on_shutdown / on_destroy; never concurrent for one plugin.
 *  - SCAN THREAD: a host worker thread running a manifest handler. One module
 *    runs at most one scan at a time; different modules run concurrently.
 *  - ANY THREAD: any thread, the plugin's own included, while the plugin is
 *    loaded (from on_init / on_create until on_shutdown / on_destroy returns).
 *
 * Long-lived work (a real-time watch) runs on threads the plugin owns: start
 * them in on_init / on_create or in a handler, call only ANY THREAD services
 * from them, stop and join them before on_shutdown / on_destroy returns. They
 * are not held to the CPU limit (docs/plugin-sdk.md, "Long-lived work").
 *
 * Reentrancy: a plugin callback may call the services its thread allows,
 * except that vigil_plugin_negotiate calls none and a vigil_on_value callback
 * only `log` and `log_enabled` (it runs inside the service delivering the
 * value: copy it and return). The host calls into a plugin from inside a
 * service only through that on_value callback.
 *
 * Versions: the plugin's answer in vigil_negotiation.abi_version is the version
 * both speak; the host reads a descriptor member only when that version has it
 * AND the descriptor's struct_size covers it. vigil_plugin.abi_version (the
 * header the plugin was built with) is checked for its major only.
 */
#ifndef VIGIL_PLUGIN_H
#define VIGIL_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Versions ----------------------------------------------------------- */

#define VIGIL_ABI_VERSION_MAJOR 1
#define VIGIL_ABI_VERSION_MINOR 6
#define VIGIL_MAKE_ABI_VERSION(major, minor) ((uint32_t)(((uint32_t)(major) << 16) | (uint32_t)(minor)))
#define VIGIL_ABI_VERSION VIGIL_MAKE_ABI_VERSION(VIGIL_ABI_VERSION_MAJOR, VIGIL_ABI_VERSION_MINOR)
#define VIGIL_ABI_MAJOR(version) ((uint32_t)(version) >> 16)
#define VIGIL_ABI_MINOR(version) ((uint32_t)(version)&0xFFFFu)

/* True when a struct whose first member says it is `size` bytes long holds `field`. */
#define VIGIL_HAS_FIELD(type, size, field) ((size_t)(size) >= offsetof(type, field) + sizeof(((type*)0)->field))

#if defined(__GNUC__) || defined(__clang__)
#define VIGIL_EXPORT __attribute__((visibility("default")))
#else
#define VIGIL_EXPORT
#endif

/* ---- Status codes (never renumbered) ------------------------------------ */

typedef int32_t vigil_status;
#define VIGIL_OK 0
#define VIGIL_E_INVALID_ARG 1 /* an argument was malformed; see the log / error text */
#define VIGIL_E_UNSUPPORTED 2 /* the call is not available in this context or version */
#define VIGIL_E_CANCELLED 3   /* the scan must stop now (unload, shutdown, user cancel) */
#define VIGIL_E_NO_MEMORY 4
#define VIGIL_E_NOT_FOUND 5    /* the key or value does not exist */
#define VIGIL_E_INTERNAL 6     /* unexpected failure; details were logged */
#define VIGIL_E_ABI_MISMATCH 7 /* negotiation: no common ABI version */
#define VIGIL_E_STATE 8        /* the call is not valid in the current state */
#define VIGIL_E_IO 9           /* the host could not persist or read data */
#define VIGIL_E_TIMEOUT 10     /* ABI 1.1: a command outlived CmdMaxTimeOut and was killed */

/* A status as words ("internal error") for messages; "unknown status" for a
 * code this header does not know (one newer than the plugin, or garbage).
 * Inline rather than a host service: it works before the host table exists
 * (negotiation) and on agents older than 1.4, and it is plain data. */
static inline const char* vigil_status_name(vigil_status status) {
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
    case VIGIL_E_TIMEOUT: return "timed out";
    default: return "unknown status";
  }
}

/* ---- Name limits (bytes) every host enforces; named here since ABI 1.4 ---- */

#define VIGIL_MODULE_NAME_MAX 32  /* vigil_plugin.module: [a-z0-9_-] */
#define VIGIL_KEY_NAME_MAX 64     /* manifest types and the on-demand key: [A-Za-z0-9_-] */
#define VIGIL_COLUMN_NAME_MAX 128 /* table and column names of rows and events: [A-Za-z0-9_] */

/* ---- Log levels (match the LogLevel configuration key) ------------------ */

#define VIGIL_LOG_FATAL 0
#define VIGIL_LOG_ERROR 1
#define VIGIL_LOG_WARN 2
#define VIGIL_LOG_INFO 3
#define VIGIL_LOG_DEBUG 4
#define VIGIL_LOG_TRACE 5

/* ---- Module kinds ------------------------------------------------------- */

#define VIGIL_MODULE_SCAN 1     /* runs manifest handlers on interval / demand / startup; may also watch */
#define VIGIL_MODULE_REALTIME 2 /* runs no scans: only emits events, from threads of its own */

/* ---- Basic types -------------------------------------------------------- */

/* A UTF-8 string: `len` bytes at `ptr`, not necessarily NUL-terminated.
 * OWNERSHIP: always the caller's; the callee copies what it keeps. */
typedef struct vigil_str {
  const char* ptr;
  size_t len;
} vigil_str;

/* One named column value of an emitted row. */
typedef struct vigil_column {
  vigil_str name;
  vigil_str value;
} vigil_column;

/* Host-side handle for one loaded plugin. OWNERSHIP: host. Valid from on_init
 * (or on_create) until on_shutdown (or on_destroy) returns. */
typedef struct vigil_plugin_host vigil_plugin_host;

/* Host-side handle for one running scan. OWNERSHIP: host. Valid only while
 * the manifest handler it was passed to is running. */
typedef struct vigil_scan vigil_scan;

/* Receives a string the host owns; `value` is valid only during the call. */
typedef void (*vigil_on_value)(void* user, vigil_str value);

/* A manifest handler: evaluates `manifest` (of type `manifest_type`) and emits
 * rows into `scan`. Returns VIGIL_OK when the snapshot is complete,
 * VIGIL_E_CANCELLED when it stopped because checkpoint said so, any other code
 * on failure (with a reason given through `set_error`). A scan that does not
 * return VIGIL_OK stores nothing.
 * THREAD: SCAN THREAD. `user` is the pointer given at registration. */
typedef vigil_status (*vigil_on_manifest)(void* user, vigil_scan* scan, vigil_str manifest_type, vigil_str manifest);

/* ---- Settings a module declares (ABI 1.5) ---------------------------------- */

/* Kinds of a declared setting: how its value is checked before it is stored. */
/* Severities of a module's condition (set_condition, ABI 1.6); 0 clears it. */
#define VIGIL_CONDITION_CLEAR 0
#define VIGIL_CONDITION_INFO 1
#define VIGIL_CONDITION_WARNING 2
#define VIGIL_CONDITION_CRITICAL 3

#define VIGIL_SETTING_INTEGER 1 /* decimal, min..max */
#define VIGIL_SETTING_BOOLEAN 2 /* 1/0, true/false, yes/no, on/off */
#define VIGIL_SETTING_CHOICE 3  /* one of `choices` */
#define VIGIL_SETTING_TEXT 4    /* one line of printable text */
#define VIGIL_SETTING_PATH 5    /* an absolute path */

/* Flags of a declared setting. */
#define VIGIL_SETTING_SECRET 1u /* never printed (vigilctl config masks it) */

/* One setting of the module: the configuration key `<module>.<name>`.
 * OWNERSHIP: the plugin's; the host copies it during declare_setting. */
typedef struct vigil_setting {
  uint32_t struct_size;     /* sizeof(vigil_setting) as the plugin was built */
  uint32_t abi_version;     /* the plugin's VIGIL_ABI_VERSION */
  vigil_str name;           /* [A-Za-z0-9_], 1-VIGIL_KEY_NAME_MAX bytes */
  int32_t kind;             /* VIGIL_SETTING_* */
  uint32_t flags;           /* VIGIL_SETTING_SECRET, or 0 */
  int64_t min;              /* INTEGER: the smallest value allowed */
  int64_t max;              /* INTEGER: the largest value allowed */
  const vigil_str* choices; /* CHOICE: the values allowed */
  size_t choice_count;
  vigil_str default_value; /* valid for the kind, or empty for none */
  vigil_str description;   /* one line, for vigilctl config show */
} vigil_setting;

/* ---- Host services -------------------------------------------------------- */

typedef struct vigil_host_api {
  uint32_t struct_size; /* sizeof(vigil_host_api) as the host was built */
  uint32_t abi_version; /* the host's VIGIL_ABI_VERSION */

  /* -- ABI 1.0 -- */

  /* Writes one line to the module's log. THREAD: ANY THREAD. */
  vigil_status (*log)(vigil_plugin_host* host, int32_t level, vigil_str message);

  /* Returns 1 when a message at `level` would be written, else 0, so a plugin
   * can skip formatting. THREAD: ANY THREAD. */
  int32_t (*log_enabled)(vigil_plugin_host* host, int32_t level);

  /* Registers `handler` for manifests of type `manifest_type` (e.g. "inv"):
   * [A-Za-z0-9_-], 1-VIGIL_KEY_NAME_MAX bytes. A type may be registered once
   * per host. THREAD: INIT THREAD, during on_init or on_create only
   * (VIGIL_E_STATE otherwise). `user` is passed back verbatim: a plugin with
   * an instance (ABI 1.4) passes it here. */
  vigil_status (*register_manifest_handler)(vigil_plugin_host* host, vigil_str manifest_type, vigil_on_manifest handler,
                                            void* user);

  /* Sets the module's default CPU limit in percent of one core (1-100),
   * used until the configuration profile says otherwise.
   * THREAD: INIT THREAD, during on_init or on_create only. */
  vigil_status (*set_default_cpu_limit)(vigil_plugin_host* host, int32_t percent);

  /* Sets the module's on-demand key name (the ScanOnDemand/<key> hive entry).
   * Letters, digits, '_' and '-' only, 1-VIGIL_KEY_NAME_MAX bytes.
   * THREAD: INIT THREAD, during on_init or on_create only. */
  vigil_status (*set_on_demand_key)(vigil_plugin_host* host, vigil_str key_name);

  /* Reads configuration value `key`, that is the module-scoped `<module>.<key>`
   * (never an agent-wide key of the same name). Calls `on_value` once when
   * found; returns VIGIL_E_NOT_FOUND otherwise. THREAD: ANY THREAD. */
  vigil_status (*config_get)(vigil_plugin_host* host, vigil_str key, vigil_on_value on_value, void* user);

  /* Per-plugin persistent key/value state (survives restarts). `state_get`
   * calls `on_value` once when found, else returns VIGIL_E_NOT_FOUND.
   * Values are arbitrary bytes. THREAD: ANY THREAD. */
  vigil_status (*state_get)(vigil_plugin_host* host, vigil_str key, vigil_on_value on_value, void* user);
  vigil_status (*state_set)(vigil_plugin_host* host, vigil_str key, vigil_str value);
  vigil_status (*state_delete)(vigil_plugin_host* host, vigil_str key);

  /* Adds one row to table `table` of the scan's snapshot. `keys` identify the
   * row within its table (at least one; the same key twice in one scan is
   * VIGIL_E_INVALID_ARG); `values` are the other columns. Table and column
   * names: letters, digits and '_', 1-VIGIL_COLUMN_NAME_MAX bytes.
   * THREAD: SCAN THREAD. */
  vigil_status (*emit_row)(vigil_scan* scan, vigil_str table, const vigil_column* keys, size_t key_count,
                           const vigil_column* values, size_t value_count);

  /* Cooperative scheduling point: call it often (every few milliseconds of
   * work). The host may sleep here to hold the scan to its CPU limit.
   * Returns VIGIL_E_CANCELLED when the scan must stop; the handler should
   * then return VIGIL_E_CANCELLED promptly. THREAD: SCAN THREAD. */
  vigil_status (*checkpoint)(vigil_scan* scan);

  /* Reports progress: `done` of `total` units (total 0 = unknown).
   * THREAD: SCAN THREAD. */
  vigil_status (*progress)(vigil_scan* scan, uint64_t done, uint64_t total);

  /* Sets the reason the scan failed, reported with its non-OK status.
   * THREAD: SCAN THREAD. */
  vigil_status (*set_error)(vigil_scan* scan, vigil_str message);

  /* -- ABI 1.1 -- */

  /* Runs a data-collection command and waits for it. `argv[0]` is an absolute
   * path, or a name looked up in a sanitised PATH (the standard system
   * directories, minus any that are world-writable); with the agent's
   * UseSudo on, it runs through SudoCommand (no shell). The command gets
   * /dev/null as stdin and a minimal environment; its stdout is passed to
   * `on_output` in chunks as it arrives (each valid during that call), its
   * stderr goes to the module log. Its CPU time counts against the scan's CPU
   * limit: the host pauses it as needed. It is killed after CmdMaxTimeOut
   * seconds (VIGIL_E_TIMEOUT) or when the scan is cancelled
   * (VIGIL_E_CANCELLED); the scan's error then says why. On VIGIL_OK,
   * `exit_code` holds its exit status, or 128 + the signal that ended it.
   * THREAD: SCAN THREAD. */
  vigil_status (*run_command)(vigil_scan* scan, const vigil_str* argv, size_t argc, vigil_on_value on_output,
                              void* user, int32_t* exit_code);

  /* -- ABI 1.2 -- */

  /* Emits one event of a real-time module (a file changed, a process
   * started...) into table `table`: the host batches events (up to a second
   * or a few hundred events) into the durable outbox, in order, each batch
   * with its own sequence number. Names as for emit_row. The host copies
   * everything before returning. THREAD: ANY THREAD while loaded. */
  vigil_status (*emit_event)(vigil_plugin_host* host, vigil_str table, const vigil_column* columns,
                             size_t column_count);

  /* -- ABI 1.3 -- */

  /* With `enabled` 1, the module's scan also runs whenever the agent starts
   * and whenever the plugin is loaded again (an upgrade), as if its
   * ScanOnStartup hive value were 1: for a module that watches in real time
   * from its last scan, which must resume watching and catch what changed
   * while it was not running. Only when the module is activated and has a
   * manifest. THREAD: INIT THREAD, during on_init or on_create only. */
  vigil_status (*set_scan_on_start)(vigil_plugin_host* host, int32_t enabled);

  /* -- ABI 1.5 -- */

  /* Declares one of the module's settings, so that the agent validates
   * `<module>.<name>` before storing it (vigilctl config set refuses a value
   * outside it, and any key the module did not declare, naming the known
   * ones) and lists it with its default in `vigilctl config show`. After a
   * declaration config_get of the key returns the default while the key is
   * unset (or holds a value that does not fit). Names the agent gives every
   * module (CpuLimit, ScanInterval, CmdMemoryMax, CmdPidsMax) are refused.
   * The declarations are kept across restarts, replaced at every load.
   * THREAD: INIT THREAD, during on_init or on_create only. */
  vigil_status (*declare_setting)(vigil_plugin_host* host, const vigil_setting* setting);

  /* -- ABI 1.6 -- */

  /* Reports a condition of the module an operator should act on: a limit
   * reached, a kernel feature missing, coverage lost. `code` names it
   * ([a-z0-9-], 1-64 bytes; the same code replaces the earlier report),
   * `severity` is VIGIL_CONDITION_INFO, _WARNING or _CRITICAL, or
   * VIGIL_CONDITION_CLEAR to withdraw it (description and fix are then
   * ignored). `description` says what is wrong, `fix` what to do (each 1-1024
   * bytes). The agent shows conditions in vigilctl status and as findings of
   * vigilctl health until they are cleared or the plugin unloads. The host
   * copies everything. THREAD: ANY THREAD while loaded. */
  vigil_status (*set_condition)(vigil_plugin_host* host, vigil_str code, int32_t severity, vigil_str description,
                                vigil_str fix);

  /* New services are appended here, under a comment naming the ABI minor. */
} vigil_host_api;

/* ---- Plugin descriptor ---------------------------------------------------- */

typedef struct vigil_plugin {
  uint32_t struct_size; /* sizeof(vigil_plugin) as the plugin was built */
  uint32_t abi_version; /* the plugin's VIGIL_ABI_VERSION */

  /* -- ABI 1.0 -- */

  vigil_str module;       /* short unique module type, e.g. "inv"; [a-z0-9_-], 1-VIGIL_MODULE_NAME_MAX bytes */
  vigil_str display_name; /* e.g. "Inventory" */
  vigil_str version;      /* the plugin's own version, e.g. "1.2.0" */
  int32_t kind;           /* VIGIL_MODULE_SCAN or VIGIL_MODULE_REALTIME */
  int32_t reserved0;      /* zero */

  /* Called once after a successful negotiation: the plugin registers its
   * handlers, CPU limit and key through `api`. Any status but VIGIL_OK refuses
   * the plugin (the host then unloads it without calling on_shutdown); the
   * refusal names the status (vigil_status_name) and the last message the
   * plugin logged at VIGIL_LOG_ERROR or worse during the call, so log why.
   * `host` and `api` stay valid until on_shutdown returns. THREAD: INIT THREAD.
   * Not called when on_create is (ABI 1.4, below). */
  vigil_status (*on_init)(vigil_plugin_host* host, const vigil_host_api* api);

  /* Called once before the library is unloaded, after every scan of the
   * module has returned. Release everything. THREAD: INIT THREAD.
   * Not called when on_create was. */
  void (*on_shutdown)(void);

  /* -- ABI 1.4 -- */

  /* on_init with an instance: the plugin writes into `*instance` the pointer
   * to its state for this load (any value, NULL included), which the host
   * passes back to on_destroy; manifest handlers get theirs as the `user` of
   * their registration. So a plugin needs no global state. Refusal as for
   * on_init: then the host ignores `*instance` and calls neither on_destroy
   * nor on_shutdown.
   * The host calls on_create and on_destroy instead of on_init and
   * on_shutdown when the negotiated version is 1.4 or later and on_create is
   * set (then on_destroy must be too). A plugin that must also run on agents
   * older than 1.4 sets on_init and on_shutdown as well; NULL otherwise.
   * THREAD: INIT THREAD. */
  vigil_status (*on_create)(vigil_plugin_host* host, const vigil_host_api* api, void** instance);

  /* on_shutdown for a plugin started by on_create: called once with the
   * instance on_create gave, after every scan of the module has returned, and
   * before the library is unloaded. Release everything. THREAD: INIT THREAD. */
  void (*on_destroy)(void* instance);
} vigil_plugin;

/* ---- Entry point ---------------------------------------------------------- */

typedef struct vigil_negotiation {
  uint32_t struct_size;           /* sizeof(vigil_negotiation) as the host was built */
  uint32_t abi_version;           /* in: the host's ABI version; out: the version both speak */
  const vigil_host_api* host_api; /* in: host services, valid while loaded */
  const vigil_plugin* plugin;     /* out: static descriptor, valid while loaded */
} vigil_negotiation;

/* The one symbol every plugin exports. The plugin checks the host's major
 * version, writes the ABI version it speaks into `abi_version` and its
 * descriptor into `plugin`, and returns VIGIL_OK, or VIGIL_E_ABI_MISMATCH when
 * it cannot speak the host's major version (then best with the version it
 * does speak in `abi_version`, which the host's refusal names). It must not
 * call host services.
 * THREAD: INIT THREAD. */
#define VIGIL_ENTRY_SYMBOL "vigil_plugin_negotiate"
typedef vigil_status (*vigil_negotiate_fn)(vigil_negotiation* negotiation);
VIGIL_EXPORT vigil_status vigil_plugin_negotiate(vigil_negotiation* negotiation);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* VIGIL_PLUGIN_H */
