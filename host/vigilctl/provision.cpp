#include "vigilctl/provision.h"

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "control_socket/control_client.h"
#include "link/identity.h"
#include "link/platform_link.h"
#include "settings/reader.h"
#include "store/config_table.h"
#include "store/state_store.h"

namespace vigil {

using nlohmann::json;
namespace keys = link_keys;

namespace {

// Canonical names of what provision accepts, by lower-case spelling.
const std::map<std::string, std::string>& accepted() {
  static const std::map<std::string, std::string> names = {
      {"customerid", keys::kCustomerId},   {"activationid", keys::kActivationId},
      {"webserviceuri", keys::kServerUri}, {"serveruri", keys::kServerUri},
      {"goldenimage", keys::kGoldenImage}, {"hostidsearchdir", keys::kHostIdSearchDir},
      {"cabundle", keys::kCaBundle}};
  return names;
}

int fail(const std::string& message) {
  std::cerr << "vigilctl: provision: " << message << "\n";
  return 1;
}

}  // namespace

bool merge_key_values(const std::vector<std::string>& words, std::map<std::string, std::string>& settings,
                      std::string& error) {
  for (const auto& word : words) {
    auto equals = word.find('=');
    if (equals == std::string::npos || equals == 0) {
      error = "expected Key=Value, got '" + word + "'";
      return false;
    }
    std::string key = word.substr(0, equals);
    std::string lower = key;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto found = accepted().find(lower);
    if (found == accepted().end()) {
      error = "unknown setting '" + key +
              "' (accepted: CustomerId, ActivationId, WebServiceUri/ServerUri, GoldenImage, "
              "HostIdSearchDir, CaBundle)";
      return false;
    }
    settings[found->second] = word.substr(equals + 1);
  }
  return true;
}

int run_provision(const Paths& paths, const ProvisionOptions& options) {
  const auto& given = options.settings;
  auto value = [&](const char* key) -> std::optional<std::string> {
    auto found = given.find(key);
    return found == given.end() ? std::nullopt : std::optional<std::string>(found->second);
  };
  // Everything is checked before anything is written.
  for (const char* key : {keys::kCustomerId, keys::kActivationId, keys::kServerUri}) {
    if (!value(key)) return fail(std::string(key) + " is required");
  }
  // The same checks as vigilctl config set: the settings registry's.
  for (const auto& [key, text] : given) {
    if (Status fits = settings::check_value(settings::setting(key), key, text); !fits.ok()) return fail(fits.error());
  }
  bool golden = value(keys::kGoldenImage) && settings::boolean_value(*value(keys::kGoldenImage)).value();

  std::vector<std::pair<std::string, std::optional<std::string>>> changes;
  for (const char* key :
       {keys::kCustomerId, keys::kActivationId, keys::kServerUri, keys::kHostIdSearchDir, keys::kCaBundle}) {
    if (auto text = value(key)) changes.emplace_back(key, *text);
  }
  changes.emplace_back("Uninstalled", std::nullopt);
  link::MachineFacts facts = link::read_machine_facts(paths.root);
  if (golden) {
    // The image carries no identity: each clone makes its own on first start.
    for (const char* key : {keys::kAgentId, keys::kAgentToken, "ProvisionedFor", "HostFingerprint", "StateVersion",
                            "ProvisionNonce", keys::kReprovisionReason, keys::kActivatedModules}) {
      changes.emplace_back(key, std::nullopt);
    }
    changes.emplace_back(keys::kGoldenImage, "true");
    changes.emplace_back(keys::kGoldenImageFingerprint, facts.fingerprint);
  } else {
    changes.emplace_back(keys::kGoldenImage, std::nullopt);
    changes.emplace_back(keys::kGoldenImageFingerprint, std::nullopt);
  }

  auto store = StateStore::open(paths.state_db());
  if (!store.ok()) return fail(store.error());
  if (Status saved = store.value()->config().update(changes); !saved.ok()) return fail(saved.error());
  json report = {{"server", *value(keys::kServerUri)},
                 {"customer_id", *value(keys::kCustomerId)},
                 {"golden_image", golden},
                 {"vigild_running", daemon_running(paths.control_socket())},
                 {"agent_id", nullptr}};
  auto say = [&options](const std::string& line) {
    if (!options.as_json) std::cout << line << "\n";
  };
  auto done = [&options, &report] {
    if (options.as_json) std::cout << report.dump(2) << "\n";
    return 0;
  };
  if (golden) {
    std::string search_dir = value(keys::kHostIdSearchDir).value_or("");
    if (search_dir.empty()) {
      if (auto stored = store.value()->config().get(keys::kHostIdSearchDir); stored.ok() && stored.value())
        search_dir = *stored.value();
    }
    std::error_code ignored;
    std::filesystem::remove(link::host_id_file(paths.root, search_dir), ignored);
    say("golden image configured: no agent id on this machine; each clone provisions on its first start");
  }
  say("provisioning settings saved: server " + *value(keys::kServerUri) + ", customer " + *value(keys::kCustomerId));

  if (!report["vigild_running"].get<bool>()) {
    if (!golden) say("vigild is not running: it provisions when it starts");
    return done();
  }
  auto started = std::chrono::system_clock::now();
  int64_t since = std::chrono::duration_cast<std::chrono::seconds>(started.time_since_epoch()).count();
  if (auto woken = call_daemon(paths.control_socket(), {{"command", "link_changed"}}); !woken.ok()) {
    return fail(woken.error());
  }
  if (golden || options.wait_seconds <= 0) return done();
  json platform;
  while (std::chrono::system_clock::now() - started < std::chrono::seconds(options.wait_seconds)) {
    auto status = call_daemon(paths.control_socket(), {{"command", "status"}});
    if (status.ok() && status.value().contains("platform")) {
      platform = status.value()["platform"];
      if (platform.value("state", "") == "connected" && platform.value("identity_current", false) &&
          platform.value("server", "") == *value(keys::kServerUri) &&
          platform.value("last_checkin", int64_t{0}) >= since) {
        report["agent_id"] = platform.value("agent_id", "");
        say("provisioned: agent id " + platform.value("agent_id", ""));
        return done();
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return fail(
      "not provisioned within " + std::to_string(options.wait_seconds) +
      " s (link state: " + platform.value("state", "unknown") +
      (platform.contains("last_error") ? ", last error: " + platform["last_error"].get<std::string>() : std::string()) +
      "); vigild keeps trying with backoff");
}

}  // namespace vigil
