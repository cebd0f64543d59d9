// spdlog set-up for the daemon and module logs.
#include "log/log_manager.h"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/sinks/systemd_sink.h>
#include <syslog.h>

#include <vector>

namespace vigil {

Result<int> parse_log_level(std::string_view text) {
  if (text.size() == 1 && text[0] >= '0' && text[0] <= '5') return text[0] - '0';
  return Error{"LogLevel must be an integer from 0 (fatal) to 5 (trace), got '" + std::string(text) + "'"};
}

Result<LogDestination> parse_log_destination(std::string_view text) {
  if (text == "file") return LogDestination::kFile;
  if (text == "syslog") return LogDestination::kSyslog;
  if (text == "journal") return LogDestination::kJournal;
  return Error{"LogDestType must be 'file', 'syslog' or 'journal', got '" + std::string(text) + "'"};
}

spdlog::level::level_enum to_spdlog_level(int log_level) {
  switch (log_level) {
    case 0: return spdlog::level::critical;
    case 1: return spdlog::level::err;
    case 2: return spdlog::level::warn;
    case 3: return spdlog::level::info;
    case 4: return spdlog::level::debug;
    default: return spdlog::level::trace;
  }
}

LogManager::LogManager(std::filesystem::path log_dir, int level, LogDestination destination, bool also_stderr)
    : log_dir_(std::move(log_dir)), destination_(destination), also_stderr_(also_stderr), level_(level) {
  if (destination_ == LogDestination::kFile) std::filesystem::create_directories(log_dir_);
  daemon_ = make_logger("vigild", also_stderr_);
}

std::shared_ptr<spdlog::logger> LogManager::make_logger(const std::string& name, bool with_stderr) {
  std::vector<spdlog::sink_ptr> sinks;
  if (destination_ == LogDestination::kSyslog) {
    sinks.push_back(std::make_shared<spdlog::sinks::syslog_sink_mt>("vigil-" + name, LOG_PID, LOG_DAEMON, true));
  } else if (destination_ == LogDestination::kJournal) {
    // The journal records time, level and process itself: the message alone (journalctl -t vigil-fim).
    sinks.push_back(std::make_shared<spdlog::sinks::systemd_sink_mt>("vigil-" + name));
  } else {
    sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>((log_dir_ / (name + ".log")).string(),
                                                                           kMaxFileBytes, kMaxFiles));
  }
  if (with_stderr) sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
  auto logger = std::make_shared<spdlog::logger>(name, sinks.begin(), sinks.end());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %-5l [%n] %v");
  logger->set_level(to_spdlog_level(level_));
  logger->flush_on(spdlog::level::info);
  return logger;
}

std::shared_ptr<spdlog::logger> LogManager::module(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto found = modules_.find(name);
  if (found != modules_.end()) return found->second;
  auto logger = make_logger(name, false);
  modules_.emplace(name, logger);
  return logger;
}

void LogManager::set_level(int level) {
  std::lock_guard lock(mutex_);
  level_ = level;
  daemon_->set_level(to_spdlog_level(level));
  for (auto& [name, logger] : modules_) logger->set_level(to_spdlog_level(level));
}

int LogManager::level() const {
  std::lock_guard lock(mutex_);
  return level_;
}

void LogManager::warn_once(const std::string& message) {
  {
    std::lock_guard lock(mutex_);
    constexpr size_t kRemembered = 1000;  // bounded: a changing value cannot grow it for ever
    if (warned_once_.size() >= kRemembered) warned_once_.clear();
    if (!warned_once_.insert(message).second) return;
  }
  daemon_->warn("{}", message);
}

}  // namespace vigil
