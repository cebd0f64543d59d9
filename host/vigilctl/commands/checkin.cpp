// vigilctl checkin: a check-in now rather than at the next interval; with
// --wait, the outcome of that check-in (the link's counters of check-ins and
// failed attempts say which came first).
#include <chrono>
#include <iostream>
#include <thread>

#include "vigilctl/commands/commands.h"

namespace vigil::ctl {
namespace {

using nlohmann::json;

struct CheckinOptions {
  bool wait = false;
  double timeout = 60.0;
  bool as_json = false;
};

json link_status(const Paths& paths) {
  auto status = request(paths, {{"command", "status"}});
  return status ? status->value("platform", json::object()) : json();
}

// {"outcome": "checked_in", "server", "route"}, or "failed" or "timed_out"
// with the link's "state" and "error"; null when vigild did not answer (the
// reason printed).
json wait_for_outcome(const Paths& paths, const json& before, double seconds) {
  const int64_t checkins = before.value("checkins", int64_t{0});
  const int64_t failures = before.value("failed_attempts", int64_t{0});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  json now = before;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    now = link_status(paths);
    if (!now.is_object()) return nullptr;
    if (now.value("checkins", int64_t{0}) > checkins) {
      return {{"outcome", "checked_in"},
              {"server", now.value("server", std::string())},
              {"route", now.value("route", std::string("direct"))}};
    }
    if (now.value("failed_attempts", int64_t{0}) > failures) {
      return {{"outcome", "failed"},
              {"state", now.value("state", std::string())},
              {"error", now.value("last_error", std::string("no reason given"))}};
    }
  }
  return {{"outcome", "timed_out"},
          {"state", now.value("state", std::string("unknown"))},
          {"error", "no check-in within " + std::to_string(static_cast<int>(seconds)) + " s"}};
}

int run_checkin(const Paths& paths, const CheckinOptions& options) {
  json before = link_status(paths);
  if (!before.is_object()) return kRuntimeError;
  if (!before.value("configured", false)) return fail("no platform is configured (vigilctl provision …)");
  if (!request(paths, {{"command", "link_changed"}})) return kRuntimeError;
  json outcome = {{"outcome", "requested"}};
  if (options.wait) outcome = wait_for_outcome(paths, before, options.timeout);
  if (outcome.is_null()) return kRuntimeError;
  if (options.as_json) print_json(outcome);
  const std::string result = outcome["outcome"];
  if (result == "failed") {
    return fail("the check-in failed (" + outcome["state"].get<std::string>() +
                "): " + outcome["error"].get<std::string>());
  }
  if (result == "timed_out") {
    return fail(outcome["error"].get<std::string>() + " (link state: " + outcome["state"].get<std::string>() + ")");
  }
  if (options.as_json) return kOk;
  if (result == "checked_in") {
    std::cout << "checked in with " << outcome["server"].get<std::string>() << " (route "
              << outcome["route"].get<std::string>() << ")\n";
  } else {
    std::cout << "check-in requested (vigilctl checkin --wait reports how it goes)\n";
  }
  return kOk;
}

}  // namespace

Runner define_checkin(CLI::App& command) {
  auto options = std::make_shared<CheckinOptions>();
  command.add_flag("--wait", options->wait, "Wait for the check-in and report how it went (exit 1 when it failed)");
  command.add_option("--timeout", options->timeout, "Seconds --wait waits")
      ->check(CLI::Range(1.0, 3600.0))
      ->capture_default_str();
  add_json_flag(command, options->as_json);
  return [options](const Paths& paths) { return run_checkin(paths, *options); };
}

}  // namespace vigil::ctl
