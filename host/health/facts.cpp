#include "health/facts.h"

#include <sys/statvfs.h>

#include <fmt/format.h>

#include "version.h"

namespace vigil::health {

namespace fs = std::filesystem;

namespace {

// Free space below this share of the file system, or below kLowDiskBytes, is a warning.
constexpr int64_t kLowDiskPercent = 5;
constexpr int64_t kLowDiskBytes = int64_t{200} << 20;

}  // namespace

int64_t disk_usage(const fs::path& path) {
  std::error_code error;
  if (fs::is_regular_file(path, error)) return static_cast<int64_t>(fs::file_size(path, error));
  int64_t total = 0;
  for (fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, error), end;
       !error && it != end; it.increment(error)) {
    std::error_code ignored;
    if (it->is_regular_file(ignored)) total += static_cast<int64_t>(it->file_size(ignored));
  }
  return total;
}

void collect_free_disk(const Context& context, Report& report) {
  struct statvfs space {};
  fs::path data = fs::exists(context.paths.data_dir) ? context.paths.data_dir : context.paths.root;
  if (::statvfs(data.c_str(), &space) == 0) {
    report.facts["free_disk"] = {
        {"path", data.string()},
        {"free_bytes", static_cast<int64_t>(space.f_bavail) * static_cast<int64_t>(space.f_frsize)},
        {"total_bytes", static_cast<int64_t>(space.f_blocks) * static_cast<int64_t>(space.f_frsize)}};
  }
}

void judge_free_disk(const Report& report, Step& step) {
  if (!report.facts.contains("free_disk")) return;
  const auto& disk = report.facts["free_disk"];
  int64_t free = disk.value("free_bytes", int64_t{0});
  int64_t total = disk.value("total_bytes", int64_t{0});
  step.lines.push_back(
      fmt::format("free disk: {} of {} at {}", size_text(free), size_text(total), disk.value("path", std::string())));
  if (free < kLowDiskBytes || (total > 0 && free * 100 / total < kLowDiskPercent)) {
    step.add(Severity::kWarning, "disk-low",
             fmt::format("only {} free on the file system of {}", size_text(free), disk.value("path", std::string())),
             "free space there: the state store and the outbox need room to grow");
  }
}

void collect_facts(const Context& context, Report& report) {
  nlohmann::json& facts = report.facts;
  facts["timestamp"] = utc_time(context.now);
  facts["root"] = context.paths.root.string();
  // The activation id is a secret of this agent's customer (docs/vigilctl.md): only whether it is set.
  auto id = [&](const char* key) { return context.config(key).value_or(""); };
  facts["ids"] = {{"customer_id", id("CustomerId")},
                  {"agent_id", id("AgentId")},
                  {"activation_id", context.config("ActivationId") ? "********" : ""},
                  {"config_id", id("StateVersion")},
                  {"profile", id("Profile")}};
  collect_free_disk(context, report);
  int64_t programs = disk_usage(context.paths.plugin_dir);
  for (const fs::path& program :
       {context.program_dir / "vigild", context.program_dir / "vigild-worker", context.program_dir / "vigilctl",
        context.paths.root / "usr/sbin/vigild", context.paths.root / "usr/lib/vigil/vigild-worker"}) {
    programs += disk_usage(program);
  }
  facts["disk_used"] = {{"data_bytes", disk_usage(context.paths.data_dir)},
                        {"log_bytes", disk_usage(context.paths.log_dir)},
                        {"program_bytes", programs}};
  if (!facts.contains("cpu_seconds")) facts["cpu_seconds"] = nullptr;
  if (!facts.contains("memory")) facts["memory"] = nullptr;
}

}  // namespace vigil::health
