// Step 3, processes: the supervisor and the worker, their CPU time and
// memory, and the worker's memory against WorkerMemoryLimit.
#include <fmt/format.h>

#include "base/memory_size.h"
#include "health/process_info.h"
#include "health/steps.h"
#include "settings/reader.h"

namespace vigil::health {
namespace {

nlohmann::json process_json(const ProcessInfo& info) {
  return {
      {"pid", info.pid},
      {"name", info.name},
      {"cpu_seconds", info.cpu_seconds},
      {"memory",
       {{"working_set_bytes", info.rss_bytes}, {"private_bytes", info.private_bytes}, {"peak_bytes", info.peak_bytes}}},
      {"threads", info.threads}};
}

std::string process_line(const std::string& role, const ProcessInfo& info) {
  return fmt::format("{} pid {}: cpu {:.2f} s, rss {}, private {}, peak {}, {} threads", role, info.pid,
                     info.cpu_seconds, size_text(info.rss_bytes), size_text(info.private_bytes),
                     size_text(info.peak_bytes), info.threads);
}

}  // namespace

Step check_processes(const Context& context, Report& report) {
  Step step{.name = "processes", .title = "Processes"};
  if (!context.daemon_answered()) {
    step.skipped = true;
    step.lines.push_back("vigild is not running: no process to look at");
    return step;
  }
  auto worker = read_process(context.status.value("daemon", nlohmann::json::object()).value("pid", 0));
  if (!worker) {
    step.add(Severity::kWarning, "worker-gone", "the worker that answered is gone (it restarted meanwhile?)",
             "run vigilctl health again; vigild.log says why the worker restarted");
    return step;
  }
  nlohmann::json processes = nlohmann::json::array();
  double cpu = worker->cpu_seconds;
  int64_t rss = worker->rss_bytes, private_bytes = worker->private_bytes, peak = worker->peak_bytes;
  if (auto supervisor = read_process(worker->parent); supervisor && supervisor->name == "vigild") {
    step.lines.push_back(process_line("vigild (supervisor)", *supervisor));
    processes.push_back(process_json(*supervisor));
    cpu += supervisor->cpu_seconds;
    rss += supervisor->rss_bytes;
    private_bytes += supervisor->private_bytes;
    peak += supervisor->peak_bytes;
  } else {
    step.lines.push_back("no supervisor: the worker runs alone (vigild --no-supervisor)");
    step.add(Severity::kInfo, "no-supervisor", "vigild runs without its supervisor: WorkerMemoryLimit is not enforced",
             "start vigild without --no-supervisor (the service unit does)");
  }
  step.lines.push_back(process_line("vigild-worker", *worker));
  processes.push_back(process_json(*worker));
  step.details["processes"] = processes;
  report.facts["cpu_seconds"] = cpu;
  report.facts["memory"] = {{"working_set_bytes", rss}, {"private_bytes", private_bytes}, {"peak_bytes", peak}};

  if (context.store) {
    settings::Reader reader(context.store->config());
    int64_t limit = reader.integer("WorkerMemoryLimit");
    step.details["worker_memory_limit_bytes"] = limit;
    if (limit > 0 && worker->rss_bytes > limit * 8 / 10) {
      step.add(Severity::kWarning, "worker-memory-high",
               fmt::format("the worker uses {} of its WorkerMemoryLimit {}: past it the supervisor restarts it",
                           memory_size_text(worker->rss_bytes), memory_size_text(limit)),
               "raise the bound (vigilctl config set WorkerMemoryLimit=1G, then restart vigild) or find the module "
               "that grows (vigilctl status)");
    }
  }
  return step;
}

}  // namespace vigil::health
