#include "health/digest.h"

#include <algorithm>
#include <array>
#include <ctime>

#include "health/facts.h"
#include "health/steps.h"

namespace vigil::health {
namespace {

// The check-in that carries the digest proves the link works, and the
// platform sees each agent's last check-in itself: what step 7 says of the
// link's past would only be stale there.
constexpr std::array<std::string_view, 3> kLinkFindings = {"checkin-overdue", "never-checked-in", "link-failing"};

Step communication_without_link(const Context& context) {
  Step step = check_communication(context);
  std::erase_if(step.findings, [](const Finding& finding) {
    return std::find(kLinkFindings.begin(), kLinkFindings.end(), finding.code) != kLinkFindings.end();
  });
  return step;
}

// At most `bytes`, cut at a UTF-8 character boundary (protobuf strings must stay valid UTF-8).
std::string shortened(const std::string& text, size_t bytes) {
  if (text.size() <= bytes) return text;
  size_t end = bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

}  // namespace

Report check_running_agent(const Paths& paths, StoreView store, nlohmann::json status, nlohmann::json plugins) {
  Context context;
  context.paths = paths;
  context.now = static_cast<int64_t>(std::time(nullptr));
  context.store.emplace(store);
  context.status = std::move(status);
  context.plugins = std::move(plugins);
  Report report;
  report.daemon_running = true;
  Step disk{.name = "installed", .title = "Installed"};
  collect_free_disk(context, report);
  judge_free_disk(report, disk);
  report.steps.push_back(std::move(disk));
  report.steps.push_back(check_processes(context, report));
  report.steps.push_back(check_certificates(context));
  report.steps.push_back(check_proxy_settings(context));
  report.steps.push_back(communication_without_link(context));
  report.steps.push_back(check_modules(context));
  report.steps.push_back(check_plugin_update_trust(context));
  return report;
}

Digest digest_of(const Report& report, int64_t now) {
  Digest digest;
  digest.overall = report.overall();
  digest.checked_at = now;
  const Finding* top = nullptr;
  for (const Finding* finding : report.findings()) {
    if (finding->severity == Severity::kInfo) continue;
    ++digest.findings;
    if (top == nullptr || finding->severity > top->severity) top = finding;
  }
  if (top != nullptr) {
    digest.top_code = top->code;
    digest.top_text = shortened(top->description, kDigestTextBytes);
  }
  return digest;
}

}  // namespace vigil::health
