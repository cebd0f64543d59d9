#include "metrics/exposition.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <vector>

#include "base/error_text.h"

namespace vigil::metrics {
namespace {

using nlohmann::json;

// One metric family: its HELP and TYPE once, then its samples.
class Family {
 public:
  Family(std::string name, std::string type, std::string help)
      : name_(std::move(name)), type_(std::move(type)), help_(std::move(help)) {}
  Family& add(double value, const std::vector<std::pair<std::string, std::string>>& labels = {}) {
    std::string text;
    for (const auto& [label, label_value] : labels) {
      text += (text.empty() ? "" : ",") + label + "=\"" + escape(label_value) + "\"";
    }
    samples_ += name_ + (text.empty() ? "" : "{" + text + "}") + " " + fmt::format("{}", value) + "\n";
    return *this;
  }
  void write(std::string& out) const {
    if (samples_.empty()) return;  // a family without samples says nothing
    out += "# HELP " + name_ + " " + help_ + "\n# TYPE " + name_ + " " + type_ + "\n" + samples_;
  }

 private:
  static std::string escape(const std::string& value) {
    std::string out;
    for (char c : value) {
      if (c == '\\' || c == '"') out += '\\';
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out += c;
    }
    return out;
  }
  std::string name_, type_, help_;
  std::string samples_;
};

double number(const json& value, const char* key) {
  return value.contains(key) && value[key].is_number() ? value[key].get<double>() : 0;
}

}  // namespace

WorkerSample sample_self() {
  WorkerSample sample;
  struct rusage usage {};
  if (::getrusage(RUSAGE_SELF, &usage) == 0) {
    sample.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  }
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  if (statm >> size >> resident) sample.resident_bytes = resident * ::sysconf(_SC_PAGESIZE);
  return sample;
}

std::string render(const json& status, const std::map<std::string, int64_t>& crashes, const WorkerSample& worker,
                   int64_t now) {
  Family info("vigil_build_info", "gauge", "The agent's version; always 1.");
  info.add(1, {{"version", status.value("daemon", json::object()).value("version", std::string())}});
  Family scans("vigil_scans_total", "counter", "Scans run since the worker started, by module and result.");
  Family scan_seconds("vigil_scan_duration_seconds_total", "counter",
                      "Time spent scanning since the worker started, by module.");
  Family last_seconds("vigil_last_scan_duration_seconds", "gauge", "How long the module's last scan took.");
  Family last_rows("vigil_last_scan_rows", "gauge", "Rows of the module's last completed scan.");
  Family last_delta("vigil_last_scan_delta_rows", "gauge",
                    "Rows the module's last completed scan added, removed or changed.");
  json scan_counts = status.value("scans", json::object());  // named: items() of a temporary would dangle
  for (const auto& [module, counts] : scan_counts.items()) {
    for (const char* result : {"completed", "failed", "cancelled"}) {
      scans.add(number(counts, result), {{"module", module}, {"result", result}});
    }
    scan_seconds.add(number(counts, "seconds_total"), {{"module", module}});
    last_seconds.add(number(counts, "last_seconds"), {{"module", module}});
    last_rows.add(number(counts, "last_rows"), {{"module", module}});
    for (const char* change : {"added", "removed", "changed"}) {
      last_delta.add(number(counts.value("last_delta", json::object()), change),
                     {{"module", module}, {"change", change}});
    }
  }
  Family events("vigil_events_total", "counter",
                "Real-time events since the worker started, by module and fate (received from the plugin, written "
                "to the outbox, lost: their batch could not be written).");
  json event_counts = status.value("events", json::object());
  for (const auto& [module, counts] : event_counts.items()) {
    for (const char* fate : {"received", "written", "lost"}) {
      events.add(number(counts, fate), {{"module", module}, {"fate", fate}});
    }
  }
  Family quarantined("vigil_plugin_quarantined", "gauge", "1 while the module is quarantined after crashes.");
  Family crashed("vigil_plugin_crashes_total", "counter",
                 "Crashes of the worker charged to the module (3 quarantine it; a release forgets them).");
  for (const auto& module : status.value("modules", json::array())) {
    std::string name = module.value("module", "");
    quarantined.add(module.value("state", "") == "quarantined" ? 1 : 0, {{"module", name}});
    auto found = crashes.find(name);
    crashed.add(found == crashes.end() ? 0 : static_cast<double>(found->second), {{"module", name}});
  }
  const json& outbox = status.contains("outbox") ? status["outbox"] : json::object();
  Family depth("vigil_outbox_entries", "gauge", "Entries waiting in the outbox for upload.");
  Family bytes("vigil_outbox_bytes", "gauge", "Bytes of the entries waiting in the outbox.");
  Family dropped("vigil_outbox_dropped_total", "counter", "Outbox entries dropped to keep its bound.");
  Family set_aside("vigil_outbox_set_aside_total", "counter", "Outbox entries the receiver refused for good.");
  depth.add(number(outbox, "depth"));
  bytes.add(number(outbox, "bytes"));
  dropped.add(number(outbox, "dropped"));
  set_aside.add(number(outbox, "set_aside"));
  Family uploads("vigil_uploads_total", "counter", "Uploads delivered since the worker started.");
  Family failures("vigil_upload_failures_total", "counter",
                  "Uploads that failed since the worker started, by reason (transient: retried; refused: by the "
                  "receiver).");
  const json& upload_counts = outbox.contains("uploads") ? outbox["uploads"] : json::object();
  uploads.add(number(upload_counts, "delivered"));
  failures.add(number(upload_counts, "retried"), {{"reason", "transient"}});
  failures.add(number(upload_counts, "refused"), {{"reason", "refused"}});
  Family checkin_age("vigil_checkin_age_seconds", "gauge", "Time since the last check-in with the platform.");
  Family checkin_interval("vigil_checkin_interval_seconds", "gauge", "The check-in interval in force.");
  const json& platform = status.contains("platform") ? status["platform"] : json::object();
  if (platform.value("configured", false)) {
    if (platform.contains("last_checkin"))
      checkin_age.add(static_cast<double>(now - platform["last_checkin"].get<int64_t>()));
    checkin_interval.add(number(platform, "checkin_interval"));
  }
  Family rss("vigil_worker_resident_memory_bytes", "gauge", "Resident memory of the worker.");
  Family cpu("vigil_worker_cpu_seconds_total", "counter", "CPU time (user and system) of the worker.");
  rss.add(static_cast<double>(worker.resident_bytes));
  cpu.add(worker.cpu_seconds);

  std::string out;
  for (const Family* family :
       {&info, &scans, &scan_seconds, &last_seconds, &last_rows, &last_delta, &events, &crashed, &quarantined, &depth,
        &bytes, &dropped, &set_aside, &uploads, &failures, &checkin_age, &checkin_interval, &rss, &cpu}) {
    family->write(out);
  }
  return out;
}

Status write_textfile(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::path temporary = file;
  temporary += ".tmp." + std::to_string(::getpid());
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return Error{"cannot write " + temporary.string() + ": " + error_text(errno)};
  ::fchmod(fd, 0644);  // whatever the umask: node_exporter runs as another user
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string why = error_text(errno);
      ::close(fd);
      ::unlink(temporary.c_str());
      return Error{"cannot write " + temporary.string() + ": " + why};
    }
    written += static_cast<size_t>(n);
  }
  ::close(fd);
  if (::rename(temporary.c_str(), file.c_str()) != 0) {
    std::string why = error_text(errno);
    ::unlink(temporary.c_str());
    return Error{"cannot rename " + temporary.string() + " to " + file.string() + ": " + why};
  }
  return Status::Ok();
}

}  // namespace vigil::metrics
