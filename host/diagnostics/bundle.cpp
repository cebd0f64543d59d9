#include "diagnostics/bundle.h"

#include <sys/utsname.h>

#include <algorithm>
#include <ctime>
#include <deque>
#include <fstream>
#include <sstream>

#include "control_socket/control_client.h"
#include "diagnostics/archive_writer.h"
#include "diagnostics/redactor.h"
#include "health/health_check.h"
#include "health/read_only_store.h"
#include "settings/catalog.h"
#include "version.h"

namespace vigil::diagnostics {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Lines of a log that say something went wrong (spdlog's level names, as
// log_manager writes them: "<time> <level> [<logger>] <message>").
constexpr size_t kRecentErrorLines = 200;

std::string read_tail(const fs::path& file, size_t max_bytes) {
  std::ifstream in(file, std::ios::binary);
  in.seekg(0, std::ios::end);
  auto size = static_cast<size_t>(std::max<std::streamoff>(in.tellg(), 0));
  size_t skip = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(skip));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (skip > 0) text = "[… the first " + std::to_string(skip) + " bytes left out …]\n" + text;
  return text;
}

bool is_problem_line(const std::string& line) {
  std::istringstream words(line);
  std::string time, level;
  words >> time >> level;
  return level == "error" || level == "critical" || level == "warning";
}

std::string system_text() {
  std::ostringstream out;
  out << "vigilctl " << kVigilVersion << "\n";
  struct utsname name {};
  if (::uname(&name) == 0) {
    out << "kernel: " << name.sysname << " " << name.release << " " << name.version << " " << name.machine << "\n";
  }
  std::ifstream release("/etc/os-release");
  for (std::string line; std::getline(release, line);) {
    if (line.starts_with("PRETTY_NAME=")) out << "os: " << line.substr(12) << "\n";
  }
  out << "collected: " << std::time(nullptr) << " (unix seconds)\n";
  return out.str();
}

// The configuration table, secret values replaced outright (not only by the redactor's search).
json config_json(ConfigTable& config) {
  json out = json::object();
  auto catalog = settings::Catalog::load(config);
  auto all = config.all();
  if (!all.ok()) return {{"error", all.error()}};
  for (const auto& [key, value] : all.value()) {
    bool secret = !catalog.ok();
    if (catalog.ok()) {
      auto resolved = catalog.value().resolve(key);
      secret = !resolved.ok() || (resolved.value().setting && resolved.value().setting->secret);
    }
    out[key] = secret ? std::string(kRedacted) : value;
  }
  return out;
}

json ask(const Paths& paths, const char* command, std::chrono::milliseconds timeout) {
  auto answer = call_daemon(paths.control_socket(), {{"command", command}}, timeout);
  if (!answer.ok()) return {{"error", answer.error()}};
  return answer.value();
}

class Collector {
 public:
  Collector(ArchiveWriter& archive, const Redactor& redactor, std::string top)
      : archive_(archive), redactor_(redactor), top_(std::move(top)) {}
  Status add(const std::string& name, const std::string& content) {
    summary.members.push_back(name);
    return archive_.add(top_ + "/" + name, redactor_.redact(content));
  }
  BundleSummary summary;

 private:
  ArchiveWriter& archive_;
  const Redactor& redactor_;
  std::string top_;
};

Status add_logs(Collector& collector, const fs::path& log_dir, size_t max_bytes) {
  std::vector<fs::path> files;
  std::error_code error;
  for (fs::recursive_directory_iterator it(log_dir, fs::directory_options::skip_permission_denied, error), end;
       !error && it != end; it.increment(error)) {
    std::error_code ignored;
    if (it->is_regular_file(ignored)) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  std::string recent;
  for (const fs::path& file : files) {
    std::string text = read_tail(file, max_bytes);
    if (Status added = collector.add("logs/" + fs::relative(file, log_dir).string(), text); !added.ok()) return added;
    if (file.extension() != ".log") continue;  // current logs only: rotated ones repeat old news
    std::deque<std::string> problems;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      if (!is_problem_line(line)) continue;
      problems.push_back(line);
      if (problems.size() > kRecentErrorLines) problems.pop_front();
    }
    if (problems.empty()) continue;
    recent += "== " + file.filename().string() + " (last " + std::to_string(problems.size()) + ")\n";
    for (const std::string& line : problems) recent += line + "\n";
  }
  return collector.add("recent-errors.txt", recent.empty() ? "no warnings or errors in the current logs\n" : recent);
}

}  // namespace

std::string bundle_name() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &utc);
  return std::string("vigil-diagnostics-") + stamp;
}

Result<BundleSummary> write_bundle(const Paths& paths, const fs::path& output, const BundleOptions& options) {
  std::unique_ptr<health::ReadOnlyStore> store;
  if (fs::exists(paths.state_db())) {
    auto opened = health::ReadOnlyStore::open(paths.state_db());
    if (!opened.ok()) return Error{opened.error()};
    store = std::move(opened.value());
  }
  Redactor redactor = store ? Redactor::of_agent(store->config(), paths) : Redactor();
  auto archive = ArchiveWriter::create(output);
  if (!archive.ok()) return Error{archive.error()};
  std::string top = output.filename().string();
  for (const char* suffix : {".tar.gz", ".tgz"}) {
    if (top.ends_with(suffix)) top.resize(top.size() - std::string(suffix).size());
  }
  Collector collector(*archive.value(), redactor, top);

  json status = ask(paths, "status", options.timeout);
  collector.summary.daemon_running = !status.contains("error");
  json plugins = ask(paths, "plugins", options.timeout);
  if (plugins.contains("error")) {
    // vigild is down: the plugin files there are, which is what it would load.
    json files = json::array();
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(paths.plugin_dir, error)) files.push_back(entry.path().string());
    plugins = {{"daemon", plugins["error"]}, {"plugin_files", files}};
  }
  health::HealthOptions health_options{options.timeout, options.program_dir};
  json report = health::report_json(health::run_health_check(paths, health_options));

  std::vector<std::pair<std::string, std::string>> members = {
      {"system.txt", system_text()},
      {"status.json", status.dump(2) + "\n"},
      {"plugins.json", plugins.dump(2) + "\n"},
      {"health.json", report.dump(2) + "\n"},
      {"config.json", (store ? config_json(store->config()) : json::object()).dump(2) + "\n"},
  };
  for (const auto& [name, content] : members) {
    if (Status added = collector.add(name, content); !added.ok()) return Error{added.error()};
  }
  // The configuration directory, but never the secret key (it opens every sealed credential).
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(paths.config_dir, error)) {
    std::error_code ignored;
    if (!entry.is_regular_file(ignored) || entry.path().filename() == "secret.key") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (Status added = collector.add("config/" + entry.path().filename().string(), text); !added.ok()) {
      return Error{added.error()};
    }
  }
  fs::path log_dir = health::report_directory(paths).parent_path();
  if (Status logs = add_logs(collector, log_dir, options.max_log_bytes); !logs.ok()) return Error{logs.error()};
  std::string index = "Vigil diagnostics, vigilctl " + std::string(kVigilVersion) + "\n\nmembers:\n";
  for (const std::string& member : collector.summary.members) index += "  " + member + "\n";
  index += "\nredacted: " + std::to_string(redactor.secrets()) +
           " secret values of the configuration (in every member), the user information of URLs, "
           "Authorization headers and PEM private keys; left out: config/secret.key and the state store itself\n";
  if (Status added = collector.add("README.txt", index); !added.ok()) return Error{added.error()};
  if (Status closed = archive.value()->close(); !closed.ok()) return Error{closed.error()};
  collector.summary.secrets = redactor.secrets();
  return collector.summary;
}

}  // namespace vigil::diagnostics
