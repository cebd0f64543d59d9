// Self-protection in the worker (docs/self-protection.md): the setting, the
// lock a platform key opens, stop signals with their sender, ptrace access.
// The file guard itself runs in the supervisor (file_guard.h), which stays
// root and outlives workers; this side tells it what to guard.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <boost/asio/read.hpp>
#include <fstream>

#include "agent/agent.h"
#include "agent/supervisor.h"
#include "link/protection_key.h"

namespace vigil {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

// How long a valid key opens the lock: enough for a stop, an uninstall or a package upgrade.
constexpr std::chrono::minutes kUnlockTime{10};
constexpr size_t kRefusedStopsKept = 5;

int g_stop_signal_fd = -1;  // write end of the agent's stop-signal pipe

void on_stop_signal(int signal, siginfo_t* info, void*) {
  struct {
    int signal;
    pid_t sender;
  } event{signal, info->si_pid};
  [[maybe_unused]] ssize_t written = ::write(g_stop_signal_fd, &event, sizeof(event));
}

std::string process_name(pid_t pid) {
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name.empty() ? "gone" : name;
}

// What keeps debuggers out, in words.
std::string ptrace_text(bool on) {
  std::ifstream yama("/proc/sys/kernel/yama/ptrace_scope");
  int scope = -1;
  yama >> scope;
  std::string text = on ? "blocked for every user but root (the process is not dumpable)" : "as the system allows";
  if (scope == 3) return "blocked for everyone, root included (Yama ptrace_scope 3)";
  if (scope >= 0) text += "; Yama ptrace_scope " + std::to_string(scope);
  return text;
}

int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

void Agent::install_stop_signals() {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) return;
  g_stop_signal_fd = pipe_fds[1];
  stop_signals_.assign(pipe_fds[0]);
  struct sigaction action {};
  action.sa_sigaction = on_stop_signal;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);
}

void Agent::read_stop_signal() {
  asio::async_read(stop_signals_, asio::buffer(&stop_signal_, sizeof(stop_signal_)),
                   [this](boost::system::error_code error, size_t) {
                     if (error) return;
                     bool from_supervisor = options_.supervisor_fd >= 0 && stop_signal_.sender == ::getppid();
                     if (protection_locked() && !from_supervisor) {
                       std::string refused = fmt::format("signal {} from pid {} ({})", stop_signal_.signal,
                                                         stop_signal_.sender, process_name(stop_signal_.sender));
                       logs_->daemon()->warn("{} refused: self-protection is on (vigilctl stop --sp-key KEY)", refused);
                       refused_stops_.push_back(refused);
                       if (refused_stops_.size() > kRefusedStopsKept) refused_stops_.erase(refused_stops_.begin());
                       read_stop_signal();
                       return;
                     }
                     logs_->daemon()->info("signal {} received, stopping", stop_signal_.signal);
                     shutdown();
                   });
}

void Agent::apply_self_protection() {
  static const int dumpable_at_start = ::prctl(PR_GET_DUMPABLE);
  bool on = link::self_protection_on(*store_);
  if (on == protected_ && started_at_ != 0) return;  // started_at_ is set once the first call is done
  protected_ = on;
  if (on) {
    std::error_code error;
    for (const PluginRecord& record : registry_->records()) {
      // Slot files change by the agent's own hand (self-patch) and are checked at every load.
      if (record.loaded && !record.file.string().starts_with(options_.paths.data_dir.string())) {
        report_to_supervisor(std::string(kProtectFileReport) + record.file.string());
      }
    }
    report_to_supervisor(std::string(kProtectFileReport) +
                         std::filesystem::read_symlink("/proc/self/exe", error).string());
    if (std::filesystem::path key = options_.paths.config_dir / "secret.key"; std::filesystem::exists(key, error)) {
      report_to_supervisor(std::string(kProtectFileReport) + key.string());
    }
  }
  report_to_supervisor(std::string(on ? kProtectionOnReport : kProtectionOffReport));
  ::prctl(PR_SET_DUMPABLE, on ? 0 : dumpable_at_start);
  logs_->daemon()->info("self-protection is {}; ptrace: {}", on ? "on" : "off", ptrace_text(on));
}

bool Agent::protection_locked() const {
  return protected_ && std::chrono::steady_clock::now() >= unlocked_until_;
}

Status Agent::unlock_protection(const json& request) {
  if (!protection_locked()) return {};
  if (!request.contains("sp_key") || !request.at("sp_key").is_string()) {
    return Error{
        "self-protection is on: this needs --sp-key KEY, a key for this agent from its platform "
        "(vigil-platform admin protection-key --agent ID)"};
  }
  Status checked = link::check_protection_key(*store_, request.at("sp_key").get<std::string>(), unix_seconds());
  if (!checked) {
    logs_->daemon()->warn("{}", checked.error());
    return checked;
  }
  unlocked_until_ = std::chrono::steady_clock::now() + kUnlockTime;
  report_to_supervisor(std::string(kUnlockReport) +
                       std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kUnlockTime).count()));
  logs_->daemon()->warn(
      "self-protection unlocked for {} minutes with a platform key: stops, uninstall and changes "
      "to the agent's files are allowed",
      kUnlockTime.count());
  return {};
}

void Agent::on_protection_unlock(const json& request, const ControlServer::Reply& reply) {
  if (Status unlocked = unlock_protection(request); !unlocked) {
    reply({{"ok", false}, {"error", unlocked.error()}});
    return;
  }
  reply({{"ok", true}, {"protection", protection_report()}});
}

json Agent::protection_report() const {
  json report = {{"on", protected_}, {"locked", protection_locked()}, {"ptrace", ptrace_text(protected_)}};
  if (protected_ && !protection_locked()) {
    report["unlocked_for_seconds"] =
        std::chrono::duration_cast<std::chrono::seconds>(unlocked_until_ - std::chrono::steady_clock::now()).count();
  }
  if (!refused_stops_.empty()) report["refused_stops"] = refused_stops_;
  return report;
}

}  // namespace vigil
