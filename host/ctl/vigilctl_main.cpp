// vigilctl: the operator tool. Talks to vigild over the control socket and,
// for read-only commands, reads the state store directly when vigild is down.
// Exit codes: 0 ok, 1 runtime error, 2 usage error.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "base/paths.h"
#include "control/control_client.h"
#include "control/reports.h"
#include "ctl/agent_access.h"
#include "ctl/output.h"
#include "ctl/provision.h"
#include "ctl/proxy_command.h"
#include "store/state_store.h"
#include "version.h"

namespace {

using nlohmann::json;
constexpr int kOk = 0;
constexpr int kRuntimeError = 1;
constexpr int kUsageError = 2;

int fail(const std::string& message) {
  std::cerr << "vigilctl: " << message << "\n";
  return kRuntimeError;
}

// Sends a request; prints the daemon's error and returns nullopt on failure.
std::optional<json> request(const vigil::Paths& paths, const json& body) {
  auto response = vigil::call_daemon(paths.control_socket(), body);
  if (!response.ok()) {
    fail(response.error());
    return std::nullopt;
  }
  if (!response.value().value("ok", false)) {
    fail(response.value().value("error", "vigild refused the request"));
    return std::nullopt;
  }
  return response.value();
}

// Opens the state store for offline reads, saying so on stderr.
std::unique_ptr<vigil::StateStore> open_offline(const vigil::Paths& paths) {
  if (!std::filesystem::exists(paths.state_db())) {
    fail("vigild is not running and there is no state store at " + paths.state_db().string());
    return nullptr;
  }
  auto store = vigil::StateStore::open(paths.state_db());
  if (!store.ok()) {
    fail(store.error());
    return nullptr;
  }
  std::cerr << "vigilctl: vigild is not running; read from the state store\n";
  return std::move(store.value());
}

void print_json(const json& value) {
  std::cout << value.dump(2) << "\n";
}

std::vector<std::string> translate_key_value_form(const std::vector<std::string>& words) {
  std::vector<std::string> kept;
  std::map<std::string, std::string> pairs;
  for (const std::string& arg : words) {
    auto equals = arg.find('=');
    bool key_value = arg.rfind("-", 0) != 0 && equals != std::string::npos && equals > 0;
    if (!key_value) {
      kept.push_back(arg);
      continue;
    }
    std::string key = arg.substr(0, equals);
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    pairs[key] = arg.substr(equals + 1);
  }
  std::vector<std::string> args;
  if (pairs.count("action") > 0 && pairs["action"] == "demand") {
    args = kept;
    args.insert(args.end(), {"demand", "--type", pairs["type"]});
    if (pairs.count("cputhrottle") > 0) args.insert(args.end(), {"--cpu-throttle", pairs["cputhrottle"]});
    for (const auto& [key, unused] : pairs) {
      if (key != "action" && key != "type" && key != "cputhrottle") args.push_back("--unknown-" + key);
    }
  } else {
    args = words;
  }
  return {args.rbegin(), args.rend()};  // CLI11 takes them last first
}

int run_demand(const vigil::Paths& paths, const std::string& type, int cpu_throttle, bool wait) {
  auto response = request(paths, {{"command", "demand"}, {"module", type}, {"cpu_throttle", cpu_throttle}});
  if (!response) return kRuntimeError;
  std::string control_id = (*response)["control_id"];
  std::cout << "ControlId: " << control_id << std::endl;
  if (!wait) return kOk;
  bool terminal = ::isatty(STDOUT_FILENO) != 0;
  std::string last_state;
  auto unreachable_since = std::chrono::steady_clock::now();
  bool reachable = true, restarted = false;
  for (;;) {
    auto status =
        vigil::call_daemon(paths.control_socket(), {{"command", "demand_status"}, {"control_id", control_id}});
    if (!status.ok() && !vigil::instance_lock_held(paths)) return fail(status.error());  // vigild is gone
    if (!status.ok()) {
      // The worker died (perhaps in this very scan): the supervisor starts another, which knows how the demand ended.
      if (reachable) unreachable_since = std::chrono::steady_clock::now();
      reachable = false;
      restarted = true;
      if (std::chrono::steady_clock::now() - unreachable_since > std::chrono::seconds(60)) return fail(status.error());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    reachable = true;
    if (!status.value().value("ok", false)) {
      return fail("ControlId " + control_id + ": " + status.value().value("error", "vigild refused the request") +
                  (restarted ? " (the worker restarted meanwhile, see vigild.log)" : ""));
    }
    const json& demand = status.value()["demand"];
    std::string state = demand["state"];
    if (terminal && demand.contains("progress")) {
      uint64_t done = demand["progress"]["done"];
      uint64_t total = demand["progress"]["total"];
      std::cout << "\r" << state << (total > 0 ? " " + std::to_string(done) + "/" + std::to_string(total) : "")
                << "          " << std::flush;
    } else if (state != last_state) {
      std::cout << state << std::endl;
    }
    last_state = state;
    if (state == "completed" || state == "failed") {
      if (terminal) std::cout << "\n";
      if (state == "failed")
        return fail("ControlId " + control_id + " failed: " + demand["message"].get<std::string>());
      std::cout << "completed: " << demand["message"].get<std::string>() << "\n";
      return kOk;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// After the worker stopped to be replaced, waits (up to 30 s) until a new
// worker answers on the control socket; false if none did.
bool wait_for_new_worker(const vigil::Paths& paths, int64_t old_pid) {
  for (int waited = 0; waited < 300; ++waited) {
    auto status = vigil::call_daemon(paths.control_socket(), {{"command", "status"}});
    if (status.ok() && status.value().value("ok", false) && status.value()["daemon"].value("pid", old_pid) != old_pid)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// The hive lives in the state store: vigilctl reads and writes it directly,
// whether or not vigild runs; a running vigild notices writes at once.
int run_keys(const vigil::Paths& paths, bool list, bool get, const std::string& path, const std::string& name,
             const std::string& value) {
  if (!list && !get) {
    static const std::set<std::string> kNames = {"CpuLimit", "ScanOnDemand", "ScanOnStartup"};
    if (path.rfind(std::string(vigil::kHiveRoot) + "/", 0) != 0 || kNames.count(name) == 0) {
      std::cerr << "vigilctl: keys set: expected ScanOnDemand/<KeyName> and one of CpuLimit, ScanOnDemand, "
                   "ScanOnStartup\n";
      return kUsageError;
    }
    bool digits = !value.empty() && value.size() <= 3 &&
                  std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) {
      std::cerr << "vigilctl: keys set: " << name << " takes a decimal number, got '" << value << "'\n";
      return kUsageError;
    }
  }
  if (!std::filesystem::exists(paths.state_db())) return fail("no state store at " + paths.state_db().string());
  auto store = vigil::StateStore::open(paths.state_db());
  if (!store.ok()) return fail(store.error());
  if (list) {
    auto values = store.value()->hive_list(vigil::kHiveRoot);
    if (!values.ok()) return fail(values.error());
    for (const auto& entry : values.value()) {
      std::cout << entry.path << "/" << entry.name << " = " << entry.value << "\n";
    }
    return kOk;
  }
  if (get) {
    auto found = store.value()->hive_get(path, name);
    if (!found.ok()) return fail(found.error());
    if (!found.value()) return fail("no value " + path + "/" + name);
    std::cout << *found.value() << "\n";
    return kOk;
  }
  if (auto existing = store.value()->hive_get(path, "ScanOnDemand"); !existing.ok() || !existing.value()) {
    return fail("no key " + path + " (keys are created when their module is activated; see vigilctl keys list)");
  }
  vigil::Status written = store.value()->hive_set(path, name, value);
  if (!written.ok()) return fail(written.error());
  std::cout << path << "/" << name << " = " << value << "\n";
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vigilctl - operate the Vigil agent"};
  app.require_subcommand(1);
  std::optional<std::string> root;
  app.add_option("--root", root, "Relocate every path under DIR (also $VIGIL_ROOT)")->type_name("DIR");
  app.set_version_flag("--version", std::string("vigilctl ") + vigil::kVigilVersion);

  bool as_json = false;
  auto* plugins = app.add_subcommand("plugins", "List plugins: loaded ones and refusals with their reason");
  plugins->add_flag("--json", as_json, "Print JSON");
  std::string module;
  auto* reload = plugins->add_subcommand("reload", "Reload MODULE, or load new plugin files when none is given");
  reload->add_option("module", module, "Module to reload");
  auto* unload = plugins->add_subcommand("unload", "Unload MODULE (its running scan is cancelled)");
  unload->add_option("module", module, "Module to unload")->required();
  auto* release = plugins->add_subcommand("release", "Release a quarantined MODULE and load it again");
  release->add_option("module", module, "Quarantined module")->required();

  auto* status = app.add_subcommand("status", "Show the daemon, agent id and module states");
  status->add_flag("--json", as_json, "Print JSON");

  std::optional<std::string> table;
  auto* results = app.add_subcommand("results", "Show the rows of a module's latest snapshot");
  results->add_option("--module,-m", module, "Module type, e.g. inv")->required();
  results->add_option("--table,-t", table, "Only this table");
  results->add_flag("--json", as_json, "Print JSON");
  int64_t limit = 1000, offset = 0;
  results->add_option("--limit", limit, "At most this many rows (1-10000, default 1000)")
      ->check(CLI::Range(int64_t{1}, vigil::kMaxResultRows));
  results->add_option("--offset", offset, "Skip this many rows (the previous page's next_offset)")
      ->check(CLI::NonNegativeNumber);

  auto* manifest = app.add_subcommand("manifest", "Manage the manifests modules scan with");
  manifest->require_subcommand(1);
  std::string manifest_file;
  std::optional<std::string> manifest_type;
  std::string manifest_version = "local";
  auto* manifest_set = manifest->add_subcommand("set", "Store FILE as the module's manifest (it may then scan)");
  manifest_set->add_option("--module,-m", module, "Module type, e.g. inv")->required();
  manifest_set->add_option("--file,-f", manifest_file, "Manifest file")->required()->check(CLI::ExistingFile);
  manifest_set->add_option("--type", manifest_type, "Manifest type (when the module handles several)");
  manifest_set->add_option("--version", manifest_version, "Manifest version label")->capture_default_str();

  std::string demand_type;
  int cpu_throttle = 0;
  bool wait = false;
  auto* demand = app.add_subcommand("demand", "Start an on-demand scan; prints its ControlId and returns");
  demand->add_option("--type,-t", demand_type, "Module type: inv, vm, pc, udc, sca, ...")->required();
  demand->add_option("--cpu-throttle", cpu_throttle, "0 = no throttling, 1-1000 = per mille of one core")
      ->check(CLI::Range(0, 1000));
  demand->add_flag("--wait", wait, "Wait for the scan to finish, showing progress on a terminal");

  auto* keys = app.add_subcommand("keys", "Read and write the key hive (ScanOnDemand/<Key>/...)");
  keys->require_subcommand(1);
  std::string key_path, value_name, value;
  auto* keys_list = keys->add_subcommand("list", "List every value of the hive");
  auto* keys_get = keys->add_subcommand("get", "Print one value");
  keys_get->add_option("path", key_path, "Key path, e.g. ScanOnDemand/Inventory")->required();
  keys_get->add_option("name", value_name, "Value name: CpuLimit, ScanOnDemand, ScanOnStartup")->required();
  auto* keys_set = keys->add_subcommand("set", "Write one value (the agent reacts at once)");
  keys_set->add_option("path", key_path, "Key path, e.g. ScanOnDemand/Inventory")->required();
  keys_set->add_option("name", value_name, "Value name: CpuLimit, ScanOnDemand, ScanOnStartup")->required();
  keys_set->add_option("value", value, "Value")->required();

  auto* stop = app.add_subcommand("stop", "Stop vigild");
  auto* checkin = app.add_subcommand("checkin", "Check in with the platform now instead of at the next interval");

  vigil::ProvisionOptions provision_options;
  std::vector<std::string> provision_words;
  auto* provision = app.add_subcommand(
      "provision", "Provision against a platform: CustomerId=… ActivationId=… WebServiceUri=… (or the flags)");
  provision->add_option("settings", provision_words, "Key=Value settings");
  auto& settings = provision_options.settings;
  provision->add_option_function<std::string>("--customer-id",
                                              [&](const std::string& v) { settings["CustomerId"] = v; });
  provision->add_option_function<std::string>("--activation-id",
                                              [&](const std::string& v) { settings["ActivationId"] = v; });
  provision->add_option_function<std::string>(
      "--server-uri,--web-service-uri", [&](const std::string& v) { settings["ServerUri"] = v; },
      "https://host[:port]");
  provision->add_option_function<std::string>(
      "--golden-image", [&](const std::string& v) { settings["GoldenImage"] = v; },
      "true: configure an image; clones provision on first start");
  provision->add_option_function<std::string>("--host-id-search-dir",
                                              [&](const std::string& v) { settings["HostIdSearchDir"] = v; });
  provision->add_option_function<std::string>(
      "--ca-bundle", [&](const std::string& v) { settings["CaBundle"] = v; },
      "PEM file of the CAs to trust for the platform");
  provision->add_option("--wait", provision_options.wait_seconds, "Seconds to wait for a running vigild (0: none)")
      ->capture_default_str();

  vigil::ProxyOptions proxy_options;
  auto* proxy = app.add_subcommand(
      "proxy", "Set, show or delete the proxy settings (slash forms /u /n /p /a /d /w /h /c /t work too)");
  proxy->add_option("--url", proxy_options.url, "Proxy URLs, ';'-separated: http[s]://[user:password@]host:port");
  proxy->add_option("--user", proxy_options.user, "Proxy user name (stored encrypted); needs --url or --pac");
  proxy->add_option("--password", proxy_options.password,
                    "Proxy password (stored encrypted); alone, replaces the stored password");
  proxy->add_flag("--password-stdin", proxy_options.password_stdin,
                  "Read the password from stdin (keeps it out of ps and shell history)");
  proxy->add_option("--pac", proxy_options.pac, "PAC file URL: http://, https:// or file:///");
  proxy->add_flag("--delete", proxy_options.remove, "Delete every proxy setting of the agent");
  proxy->add_option("--wpad", proxy_options.wpad, "on|off: discover a PAC file with WPAD (DNS)");
  proxy->add_option("--system", proxy_options.system, "on|off: use https_proxy/no_proxy of vigild's environment");
  proxy->add_flag("--show", proxy_options.show, "Print the settings, credentials masked");
  proxy->add_option("--direct-fallback", proxy_options.direct_fallback,
                    "on|off: connect directly once every proxy failed (off = fail closed)");
  proxy->add_option("--order", proxy_options.order, "sequential|seq|random: order of the --url list");
  proxy->add_option("--connect-timeout", proxy_options.connect_timeout, "Seconds per connection attempt (1-120)");

  std::optional<std::string> secret;
  auto* encrypt = app.add_subcommand("encrypt-string", "Print an encrypted #TOKEN form of TEXT (stdin when omitted)");
  encrypt->add_option("text", secret, "User name or password to encrypt");

  std::vector<std::string> words(argv + 1, argv + argc);
  if (auto first = std::find(words.begin(), words.end(), "proxy"); first != words.end()) {
    std::vector<std::string> after = vigil::translate_proxy_slash_options({first + 1, words.end()});
    words.erase(first + 1, words.end());
    words.insert(words.end(), after.begin(), after.end());
  }
  // The operators' form from other agents: "action=demand type=vm cputhrottle=100".
  std::vector<std::string> args = translate_key_value_form(words);
  try {
    app.parse(args);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? kOk : kUsageError;
  }
  vigil::Paths paths = vigil::Paths::resolve(root);
  if (vigil::Status access = vigil::require_agent_access(paths); !access.ok()) return fail(access.error());

  if (plugins->parsed()) {
    json body = {{"command", "plugins"}};
    if (reload->parsed()) body = {{"command", "reload"}};
    if (unload->parsed()) body = {{"command", "unload"}};
    if (release->parsed()) body = {{"command", "release"}};
    if (!module.empty()) body["module"] = module;
    auto response = request(paths, body);
    if (!response) return kRuntimeError;
    if (response->contains("restarting")) {
      // The old code could not be unloaded: the new one runs in a new worker.
      std::cout << "reloading " << (module.empty() ? "plugins" : module)
                << " by restarting the worker: " << (*response)["restarting"].get<std::string>() << "\n";
      if (!wait_for_new_worker(paths, (*response).value("worker_pid", int64_t{0})))
        return fail("no new worker answered within 30 s (see vigild.log)");
      std::cout << "reloaded " << (module.empty() ? "plugins" : module) << " (new worker)\n";
      return kOk;
    }
    if (response->contains("warning")) std::cerr << "vigilctl: " << (*response)["warning"].get<std::string>() << "\n";
    if (unload->parsed() || release->parsed() || (reload->parsed() && !module.empty())) {
      std::cout << (unload->parsed() ? "unloaded " : release->parsed() ? "released " : "reloaded ") << module << "\n";
      return kOk;
    }
    if (as_json) {
      print_json((*response)["plugins"]);
    } else {
      vigil::print_plugins(std::cout, (*response)["plugins"]);
    }
    return kOk;
  }

  if (status->parsed()) {
    json report;
    if (vigil::daemon_running(paths.control_socket())) {
      auto response = request(paths, {{"command", "status"}});
      if (!response) return kRuntimeError;
      report = std::move(*response);
      report.erase("ok");
    } else {
      auto store = open_offline(paths);
      report = {{"daemon", {{"running", false}}}, {"agent_id", store ? vigil::agent_id(*store) : ""}};
    }
    if (as_json) {
      print_json(report);
    } else {
      vigil::print_status(std::cout, report);
    }
    return kOk;
  }

  if (results->parsed()) {
    json report;
    if (vigil::daemon_running(paths.control_socket())) {
      json body = {{"command", "results"}, {"module", module}, {"limit", limit}, {"offset", offset}};
      if (table) body["table"] = *table;
      auto response = request(paths, body);
      if (!response) return kRuntimeError;
      report = (*response)["results"];
    } else {
      auto store = open_offline(paths);
      if (!store) return kRuntimeError;
      auto offline = vigil::results_report(*store, module, table, limit, offset);
      if (!offline.ok()) return fail(offline.error());
      report = offline.value();
    }
    if (as_json) {
      print_json(report);
    } else {
      vigil::print_results(std::cout, report);
    }
    return kOk;
  }

  if (manifest_set->parsed()) {
    std::ifstream file(manifest_file, std::ios::binary);
    std::ostringstream body;
    body << file.rdbuf();
    if (!file) return fail("cannot read manifest " + manifest_file);
    json request_body = {
        {"command", "manifest_set"}, {"module", module}, {"body", body.str()}, {"version", manifest_version}};
    if (manifest_type) request_body["manifest_type"] = *manifest_type;
    auto response = request(paths, request_body);
    if (!response) return kRuntimeError;
    std::cout << "manifest stored: module " << module << ", type " << (*response)["manifest_type"].get<std::string>()
              << ", version " << manifest_version << "\n";
    return kOk;
  }

  if (checkin->parsed()) {
    if (!request(paths, {{"command", "link_changed"}})) return kRuntimeError;
    std::cout << "check-in requested\n";
    return kOk;
  }

  if (provision->parsed()) {
    std::string error;
    if (!vigil::merge_key_values(provision_words, provision_options.settings, error)) {
      std::cerr << "vigilctl: provision: " << error << "\n";
      return kUsageError;
    }
    return vigil::run_provision(paths, provision_options);
  }

  if (proxy->parsed()) return vigil::run_proxy(paths, proxy_options);
  if (encrypt->parsed()) return vigil::run_encrypt_string(paths, secret);

  if (demand->parsed()) return run_demand(paths, demand_type, cpu_throttle, wait);

  if (keys->parsed()) return run_keys(paths, keys_list->parsed(), keys_get->parsed(), key_path, value_name, value);

  if (stop->parsed()) {
    // The daemon may close the socket before its reply arrives; the instance
    // lock being released is the proof that the process is gone.
    auto response = vigil::call_daemon(paths.control_socket(), {{"command", "stop"}});
    if (!response.ok() && !vigil::instance_lock_held(paths)) return fail(response.error());
    for (int waited = 0; waited < 300; ++waited) {
      if (!vigil::instance_lock_held(paths)) {
        std::cout << "vigild stopped\n";
        return kOk;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return fail("vigild did not stop within 15 s");
  }
  return kUsageError;
}
