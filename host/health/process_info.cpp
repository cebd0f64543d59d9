#include "health/process_info.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <vector>

namespace vigil::health {

std::optional<ProcessInfo> read_process(pid_t pid) {
  std::string base = "/proc/" + std::to_string(pid);
  std::ifstream stat(base + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return std::nullopt;
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
  size_t open = line.find('(');
  size_t close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return std::nullopt;
  ProcessInfo info;
  info.pid = pid;
  info.name = line.substr(open + 1, close - open - 1);
  std::istringstream rest(line.substr(close + 2));
  std::vector<std::string> fields;
  for (std::string field; rest >> field;) fields.push_back(field);
  // fields[0] is field 3 (state) of proc(5): ppid is 4, utime 14, stime 15.
  if (fields.size() < 13) return std::nullopt;
  info.parent = static_cast<pid_t>(std::stol(fields[1]));
  double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  info.cpu_seconds = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
  std::ifstream status(base + "/status");
  while (std::getline(status, line)) {
    std::istringstream words(line);
    std::string key;
    int64_t value = 0;
    words >> key >> value;
    if (key == "VmRSS:") info.rss_bytes = value * 1024;
    if (key == "RssAnon:") info.private_bytes = value * 1024;
    if (key == "VmHWM:") info.peak_bytes = value * 1024;
    if (key == "Threads:") info.threads = value;
  }
  return info;
}

}  // namespace vigil::health
