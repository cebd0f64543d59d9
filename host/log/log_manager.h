// The agent's logs: vigild.log plus one rotating log per module, or syslog when
// LogDestType=syslog or journal. Levels follow LogLevel (0 fatal ... 5 trace) and can be
// changed at run time. Loggers are not registered globally, so several
// managers (tests) can coexist.
#pragma once

#include <spdlog/logger.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "vigil/result/result.h"

namespace vigil {

enum class LogDestination { kFile, kSyslog, kJournal };

// Parses LogLevel ("0".."5") and LogDestType ("file", "syslog" or "journal").
Result<int> parse_log_level(std::string_view text);
Result<LogDestination> parse_log_destination(std::string_view text);
spdlog::level::level_enum to_spdlog_level(int log_level);

class LogManager {
 public:
  static constexpr int kDefaultLevel = 3;
  static constexpr size_t kMaxFileBytes = size_t{10} << 20;
  static constexpr size_t kMaxFiles = 5;

  // `also_stderr` copies daemon messages to stderr (foreground runs).
  LogManager(std::filesystem::path log_dir, int level, LogDestination destination, bool also_stderr);

  std::shared_ptr<spdlog::logger> daemon() const { return daemon_; }
  // The module's logger, created on first use.
  std::shared_ptr<spdlog::logger> module(const std::string& name);
  void set_level(int level);
  int level() const;
  // A standing condition (a configuration value ignored at every read) is
  // warned of once per distinct message, not at every read; the status and
  // the platform show it for as long as it lasts.
  void warn_once(const std::string& message);

 private:
  std::shared_ptr<spdlog::logger> make_logger(const std::string& name, bool with_stderr);

  std::filesystem::path log_dir_;
  LogDestination destination_;
  bool also_stderr_;
  mutable std::mutex mutex_;
  int level_;
  std::shared_ptr<spdlog::logger> daemon_;
  std::map<std::string, std::shared_ptr<spdlog::logger>> modules_;
  std::set<std::string> warned_once_;
};

}  // namespace vigil
