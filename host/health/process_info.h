// What /proc says of one process: for the processes step, the JSON report's
// CPU time and memory, and the metrics.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace vigil::health {

struct ProcessInfo {
  pid_t pid = 0;
  pid_t parent = 0;
  std::string name;  // comm
  double cpu_seconds = 0;
  int64_t rss_bytes = 0;      // working set (VmRSS)
  int64_t private_bytes = 0;  // anonymous resident memory (RssAnon)
  int64_t peak_bytes = 0;     // VmHWM
  int64_t threads = 0;
};

// nullopt when the process is gone or /proc cannot be read.
std::optional<ProcessInfo> read_process(pid_t pid);

}  // namespace vigil::health
