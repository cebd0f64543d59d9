// Step 7, communication: the last check-in against the check-in interval,
// the link's state and last error, and the outbox waiting for upload.
#include <fmt/format.h>

#include <algorithm>

#include "health/steps.h"
#include "settings/reader.h"

namespace vigil::health {
namespace {

// A check-in this much later than its interval (beyond twice it) is overdue:
// one missed round is weather, two are a problem.
constexpr int64_t kGraceSeconds = 60;

void judge_outbox(Step& step, const nlohmann::json& outbox) {
  step.details["outbox"] = outbox;
  step.lines.push_back(fmt::format("outbox: {} entries ({} bytes) waiting, {} dropped, {} set aside",
                                   outbox.value("depth", 0), outbox.value("bytes", 0), outbox.value("dropped", 0),
                                   outbox.value("set_aside", 0)));
  if (outbox.contains("failing")) {
    for (const auto& [module, failing] : outbox["failing"].items()) {
      step.add(Severity::kWarning, "upload-failing",
               "uploads of module " + module + " fail: " + failing.value("error", std::string()),
               "see vigild.log for the platform's answer; the entries are retried with back-off");
    }
  }
  if (outbox.value("dropped", 0) > 0) {
    step.add(Severity::kInfo, "outbox-dropped",
             fmt::format("{} outbox entries were dropped to keep the outbox's bound (since the agent was set up)",
                         outbox.value("dropped", 0)),
             "if uploads were down for long, raise OutboxMaxEntries / OutboxMaxBytes (vigilctl config set)");
  }
  if (outbox.value("set_aside", 0) > 0) {
    step.add(Severity::kInfo, "outbox-set-aside",
             fmt::format("{} outbox entries were refused by the platform for good and set aside",
                         outbox.value("set_aside", 0)),
             "vigilctl status names the last one and why; send vigilctl diagnostics to the platform's operator");
  }
}

}  // namespace

Step check_communication(const Context& context) {
  Step step{.name = "communication", .title = "Communication"};
  if (!context.daemon_answered()) {
    step.lines.push_back("vigild is not running: the last check-in is not known (the running agent keeps it)");
    if (context.store) {
      auto stats = context.store->outbox().stats();
      if (stats.ok()) {
        judge_outbox(step, {{"depth", stats.value().depth},
                            {"bytes", stats.value().bytes},
                            {"dropped", stats.value().dropped},
                            {"set_aside", stats.value().set_aside}});
      }
    }
    step.skipped = true;
    return step;
  }
  nlohmann::json platform = context.status.value("platform", nlohmann::json::object());
  if (context.status.contains("outbox")) judge_outbox(step, context.status["outbox"]);
  if (!platform.value("configured", false)) {
    step.lines.push_back("no platform is configured: deltas go to the upload directory");
    step.skipped = true;
    return step;
  }
  std::string state = platform.value("state", "");
  int64_t interval = platform.value("checkin_interval", int64_t{900});
  int64_t started = context.status.value("daemon", nlohmann::json::object()).value("started_at", context.now);
  std::string last_error = platform.value("last_error", "");
  step.details.update({{"state", state}, {"checkin_interval", interval}, {"last_error", last_error}});
  step.lines.push_back(fmt::format("link: {} (check-in every {})", state, duration_text(interval)));
  int64_t deadline = 2 * interval + kGraceSeconds;
  if (platform.contains("last_checkin")) {
    int64_t last = platform["last_checkin"].get<int64_t>();
    int64_t age = context.now - last;
    step.details["last_checkin"] = utc_time(last);
    step.details["last_checkin_age_seconds"] = age;
    step.lines.push_back(fmt::format("last check-in {} ago ({})", duration_text(age), utc_time(last)));
    if (age > deadline) {
      step.add(Severity::kCritical, "checkin-overdue",
               fmt::format("no check-in for {} (the interval is {}){}", duration_text(age), duration_text(interval),
                           last_error.empty() ? "" : "; last error: " + last_error),
               "see the connectivity step's fix; vigilctl checkin tries at once");
    }
  } else {
    step.details["last_checkin"] = nullptr;
    if (state == "golden image") {
      step.lines.push_back("golden image: this machine does not check in; its clones do");
    } else if (context.now - started > deadline) {
      step.add(Severity::kCritical, "never-checked-in",
               fmt::format("no check-in since vigild started {} ago{}", duration_text(context.now - started),
                           last_error.empty() ? "" : "; last error: " + last_error),
               "see the connectivity step's fix; vigilctl checkin tries at once");
    } else {
      step.lines.push_back("no check-in yet since vigild started " + duration_text(context.now - started) + " ago");
    }
  }
  bool critical = std::any_of(step.findings.begin(), step.findings.end(),
                              [](const Finding& finding) { return finding.severity == Severity::kCritical; });
  if (state != "connected" && state != "golden image" && !last_error.empty() && !critical) {
    step.add(Severity::kWarning, "link-failing", "the platform link is '" + state + "': " + last_error,
             "see the connectivity step; the agent retries with back-off (vigilctl checkin tries at once)");
  }
  if (platform.contains("route")) step.lines.push_back("the link's route: " + platform["route"].get<std::string>());
  return step;
}

}  // namespace vigil::health
