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

json link_status(const Paths& paths) {
  auto status = request(paths, {{"command", "status"}});
  return status ? status->value("platform", json::object()) : json();
}

int wait_for_outcome(const Paths& paths, const json& before, double seconds) {
  const int64_t checkins = before.value("checkins", int64_t{0});
  const int64_t failures = before.value("failed_attempts", int64_t{0});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  json now = before;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    now = link_status(paths);
    if (!now.is_object()) return kRuntimeError;  // the request said why
    if (now.value("checkins", int64_t{0}) > checkins) {
      std::cout << "checked in with " << now.value("server", std::string()) << " (route "
                << now.value("route", std::string("direct")) << ")\n";
      return kOk;
    }
    if (now.value("failed_attempts", int64_t{0}) > failures) {
      return fail("the check-in failed (" + now.value("state", std::string()) +
                  "): " + now.value("last_error", std::string("no reason given")));
    }
  }
  return fail("no check-in within " + std::to_string(static_cast<int>(seconds)) +
              " s (link state: " + now.value("state", std::string("unknown")) + ")");
}

}  // namespace

Runner define_checkin(CLI::App& command) {
  auto wait = std::make_shared<bool>(false);
  auto timeout = std::make_shared<double>(60.0);
  command.add_flag("--wait", *wait, "Wait for the check-in and report how it went (exit 1 when it failed)");
  command.add_option("--timeout", *timeout, "Seconds --wait waits")
      ->check(CLI::Range(1.0, 3600.0))
      ->capture_default_str();
  return [wait, timeout](const Paths& paths) {
    json before = link_status(paths);
    if (!before.is_object()) return kRuntimeError;
    if (!before.value("configured", false)) return fail("no platform is configured (vigilctl provision …)");
    if (!request(paths, {{"command", "link_changed"}})) return kRuntimeError;
    if (*wait) return wait_for_outcome(paths, before, *timeout);
    std::cout << "check-in requested (vigilctl checkin --wait reports how it goes)\n";
    return kOk;
  };
}

}  // namespace vigil::ctl
