#include "canary/canary.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <random>
#include <thread>
#include <tuple>
#include <utility>

#include "canary/platform_query.h"
#include "store/default_manifests.h"
#include "vigil/fim_manifest/manifest.h"

extern char** environ;

namespace vigil::canary {
namespace {

using health::Severity;
using health::Step;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kFimModule = "fim";
constexpr std::chrono::milliseconds kPollInterval{100};

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

struct Leg {
  std::string name{};           // file, process, socket
  std::string module{};         // the module that should see it
  std::string outcome{"fail"};  // pass, fail, not available
  std::string detail{};
  std::string fix{};  // of a failure
  json facts = json::object();
};

// The running agent's entry for `module` in its status report; null when it has none.
json module_status(const health::Context& context, const std::string& module) {
  const json modules = context.status.value("modules", json::array());
  for (const auto& entry : modules) {
    if (entry.value("module", "") == module) return entry;
  }
  return nullptr;
}

// A name for the canary file that the watch takes: plain, or shaped like
// each of its include globs ("*.conf" -> "vigil-canary-<token>.conf").
std::vector<std::string> candidate_names(const fim::WatchedPath& watch, const std::string& token) {
  std::string plain = "vigil-canary-" + token;
  std::vector<std::string> names = {plain};
  for (const std::string& glob : watch.include) {
    size_t star = glob.find('*');
    std::string name = star == std::string::npos ? glob : glob.substr(0, star) + plain + glob.substr(star + 1);
    if (name.find_first_of("*?[/") == std::string::npos) names.push_back(name);
  }
  return names;
}

struct Target {
  std::string path;               // as the FIM module names it (on the inspected system)
  std::filesystem::path on_disk;  // where it is on this machine
};

// The first new-file path, in manifest order, that the FIM manifest in force covers.
Result<Target> choose_target(const health::Context& context, const std::string& token) {
  // The stored manifest, else the default the plugin ships (as the agent picks it).
  auto manifests = manifests_in_force(
      context.store->manifests(),
      find_default_manifests(context.paths.plugin_dir, kFimModule, os_release_name(context.paths.root)), kFimModule);
  if (!manifests.ok()) return Error{manifests.error()};
  if (manifests.value().manifests.empty()) {
    return Error{"the FIM module has no manifest, it watches nothing: " + manifests.value().missing};
  }
  fim::Manifest manifest;
  try {
    manifest = fim::parse_manifest(manifests.value().manifests.front().body);
  } catch (const fim::ManifestError& error) {
    return Error{std::string("the FIM manifest in force does not parse: ") + error.what()};
  }
  std::filesystem::path root = context.config("fim.Root").value_or("/");
  for (const fim::WatchedPath& watch : manifest.paths) {
    std::error_code error;
    if (!std::filesystem::is_directory(fim::on_disk(root, watch.path), error)) continue;
    std::string directory = watch.path.ends_with('/') ? watch.path : watch.path + "/";
    for (const std::string& name : candidate_names(watch, token)) {
      if (fim::covering(manifest, directory + name, false) != nullptr) {
        return Target{directory + name, fim::on_disk(root, directory + name)};
      }
    }
  }
  return Error{"no directory the FIM manifest watches exists and takes a new file (the manifest watches " +
               std::to_string(manifest.paths.size()) + " path(s) under root " + root.string() + ")"};
}

// Why the FIM module cannot see the canary file, with the fix; nullopt when it runs.
std::optional<std::pair<std::string, std::string>> fim_unavailable(const health::Context& context) {
  if (!context.daemon_answered()) {
    return std::pair{std::string("vigild is not running"), std::string("start it: systemctl start vigild")};
  }
  json status = module_status(context, kFimModule);
  if (status.is_null()) {
    return std::pair{std::string("no FIM module is loaded"),
                     "install the fim plugin into " + context.paths.plugin_dir.string() +
                         " (reinstall vigil-agent), then vigilctl plugins reload"};
  }
  std::string state = status.value("state", "");
  if (state == "disabled") {
    return std::pair{std::string("FIM is not active on this agent (the platform did not activate it)"),
                     std::string("activate FIM for this agent's activation key on the platform (vigil-platform "
                                 "admin activate --key … --module fim), then run the canary again")};
  }
  if (state == "quarantined") {
    return std::pair{"FIM is quarantined: " + status.value("reason", ""),
                     std::string("see the modules step's fix, then vigilctl plugins release fim")};
  }
  return std::nullopt;
}

Leg file_leg(const health::Context& context, const CanaryOptions& options) {
  Leg leg{.name = "file", .module = kFimModule};
  if (auto unavailable = fim_unavailable(context)) {
    std::tie(leg.detail, leg.fix) = *unavailable;
    return leg;
  }
  auto query = PlatformQuery::open(context, options.timeout);
  if (!query.ok()) {
    leg.detail = query.error();
    leg.fix = "provision the agent (vigilctl provision …) and see the connectivity step";
    return leg;
  }
  std::string token = fmt::format("{:x}-{}", std::random_device()(), ::getpid());
  auto target = choose_target(context, token);
  if (!target.ok()) {
    leg.detail = target.error();
    leg.fix =
        "give FIM a manifest that watches an existing directory (vigil-platform admin manifest-set --module "
        "fim …)";
    return leg;
  }
  leg.facts["path"] = target.value().path;
  int64_t since = unix_ms();
  auto started = Clock::now();
  int fd = ::open(target.value().on_disk.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    leg.detail = "cannot create " + target.value().on_disk.string() + ": " + std::strerror(errno);
    leg.fix = "run vigilctl health --canary as the user the agent runs as (root)";
    return leg;
  }
  constexpr std::string_view kContent = "vigil canary: vigilctl health --canary made this file and removes it\n";
  [[maybe_unused]] ssize_t written = ::write(fd, kContent.data(), kContent.size());
  ::close(fd);
  leg.facts["act_ms"] = ms_since(started);
  // Asked until the platform holds the event or the wait is over; the file goes either way.
  std::string last_error;
  std::optional<PlatformEvent> event;
  while (!event && Clock::now() - started < options.wait) {
    auto found = query.value()->find(kFimModule, target.value().path, since);
    if (!found.ok()) {
      last_error = found.error();
      if (found.code() == ErrorCode::kUnauthenticated || found.code() == ErrorCode::kInvalidArgument ||
          found.code() == ErrorCode::kNotFound) {
        break;  // asking again gets the same answer
      }
    } else {
      event = found.value();
    }
    if (!event) std::this_thread::sleep_for(kPollInterval);
  }
  int64_t round_trip = ms_since(started);
  std::error_code ignored;
  std::filesystem::remove(target.value().on_disk, ignored);
  if (!event) {
    leg.detail = fmt::format("the platform did not hold the FIM event for {} after {} ms{}", target.value().path,
                             round_trip, last_error.empty() ? "" : " (last answer: " + last_error + ")");
    leg.fix =
        "FIM's real-time monitor starts after its first scan: see the fim module's log (fim.log) and the "
        "communication step (uploads failing?)";
    return leg;
  }
  leg.outcome = "pass";
  leg.facts["round_trip_ms"] = round_trip;
  leg.facts["agent_ms"] = event->event_time_ms - since;  // the write until the agent saw it
  leg.facts["action"] = event->action;
  leg.detail = fmt::format("created {}; the platform held the '{}' event after {} ms (the agent saw it after {} ms)",
                           target.value().path, event->action, round_trip, event->event_time_ms - since);
  return leg;
}

// The process and socket legs: the act is made and timed, but only an EDR
// module would report it, and none exists yet.
std::string edr_missing(const health::Context& context) {
  return module_status(context, "edr").is_null() ? "no EDR module" : "this vigilctl does not read EDR events yet";
}

Leg process_leg(const health::Context& context) {
  Leg leg{.name = "process", .module = "edr", .outcome = "not available"};
  auto started = Clock::now();
  pid_t pid = 0;
  char program[] = "/bin/true";
  char* argv[] = {program, nullptr};
  int spawned = ::posix_spawn(&pid, program, nullptr, nullptr, argv, environ);
  int status = 0;
  if (spawned == 0) ::waitpid(pid, &status, 0);
  leg.facts["act_ms"] = ms_since(started);
  leg.detail = spawned == 0 ? fmt::format("{}: ran /bin/true (pid {}) in {} ms; nothing reports processes",
                                          edr_missing(context), pid, leg.facts["act_ms"].get<int64_t>())
                            : edr_missing(context) + "; /bin/true did not run: " + std::strerror(spawned);
  return leg;
}

Leg socket_leg(const health::Context& context) {
  Leg leg{.name = "socket", .module = "edr", .outcome = "not available"};
  auto started = Clock::now();
  std::string made;
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  auto* generic = reinterpret_cast<sockaddr*>(&address);
  if (listener >= 0 && client >= 0 && ::bind(listener, generic, sizeof(address)) == 0 && ::listen(listener, 1) == 0 &&
      ::getsockname(listener, generic, &length) == 0 && ::connect(client, generic, sizeof(address)) == 0) {
    made = fmt::format("connected to 127.0.0.1:{}", ntohs(address.sin_port));
  } else {
    made = std::string("no loopback connection: ") + std::strerror(errno);
  }
  if (client >= 0) ::close(client);
  if (listener >= 0) ::close(listener);
  leg.facts["act_ms"] = ms_since(started);
  leg.detail = fmt::format("{}: {} in {} ms; nothing reports connections", edr_missing(context), made,
                           leg.facts["act_ms"].get<int64_t>());
  return leg;
}

}  // namespace

health::Step check_canary(const health::Context& context, const CanaryOptions& options) {
  Step step{.name = "canary", .title = "Canary"};
  json legs = json::array();
  for (Leg leg : {file_leg(context, options), process_leg(context), socket_leg(context)}) {
    std::string label = leg.name + " (" + (leg.module == kFimModule ? std::string("FIM") : std::string("EDR")) + ")";
    step.lines.push_back(fmt::format("{}: {}: {}", label, leg.outcome, leg.detail));
    json entry = {{"leg", leg.name}, {"module", leg.module}, {"outcome", leg.outcome}, {"detail", leg.detail}};
    entry.update(leg.facts);
    legs.push_back(std::move(entry));
    if (leg.outcome == "fail") {
      step.add(Severity::kCritical, "canary-failed", "the canary's " + label + " leg failed: " + leg.detail, leg.fix);
    }
  }
  step.details["legs"] = legs;
  return step;
}

}  // namespace vigil::canary
