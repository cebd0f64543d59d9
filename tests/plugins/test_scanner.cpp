// A scan plugin driven by its manifest, for host tests. One command per line:
//   row TABLE KEY VALUE   emit a row (key column "id", value column "value")
//   fail MESSAGE          fail the scan through vigil::Error
//   throw MESSAGE         throw std::runtime_error (the SDK must contain it)
//   spin                  call checkpoint until the host cancels
//   sleep MS              take MS milliseconds (checkpointing), to hold a scan open
//   burn MS               use MS milliseconds of CPU time (checkpointing), for CPU limits
//   state KEY VALUE [BYTES] store plugin state (VALUE padded with 'x' to BYTES) and emit it back as a row
//   config KEY            emit the configuration value (or "<unset>")
//   badrow                emit a row with an invalid table name
//   exec PROGRAM ARGS...  run a command through the host; row "exec" with its exit code and output
//   crash                 die (SIGABRT), as a buggy plugin would
//   hold MIB              allocate and touch MIB MiB, held until the scan ends (memory bounds)
//   event TABLE KEY VALUE emit a real-time event (columns "id" and "value")
//   version               emit a row "version"/"plugin" with the plugin's version
//   progress DONE TOTAL   report DONE of TOTAL work units done
// Configuration: testscan.ScanOnStart=1 asks the host to scan at every start (ABI 1.3);
// testscan.CrashOnUnload=1 makes it die when unloaded, as a buggy destructor would;
// testscan.RefuseInit=1 makes init throw vigil::Error with VIGIL_E_NOT_FOUND.
// Built with TEST_PLUGIN_VERSION for a version bump, with TEST_GNU_UNIQUE to
// define a GNU unique symbol on purpose (a plugin glibc cannot unload), and
// with TEST_DEFECT_INIT / _SCAN_FAIL / _SCAN_CRASH / _SCAN_HANG as a bad new
// version whose init fails, or whose every scan fails, crashes the agent, or
// never ends (no checkpoint, so it cannot be cancelled); with TEST_SLOW_INIT
// as a good version whose init takes 3 s.
#include <vigil/plugin.hpp>

#include <time.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include <chrono>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#ifndef TEST_MODULE_NAME
#define TEST_MODULE_NAME "testscan"
#endif
#ifndef TEST_PLUGIN_VERSION
#define TEST_PLUGIN_VERSION "0.1.0"
#endif

#ifdef TEST_GNU_UNIQUE
// Inline static data of a template, with default visibility: GCC makes it
// STB_GNU_UNIQUE, and glibc then keeps the library mapped for good.
template <class T>
struct __attribute__((visibility("default"))) PinnedCounter {
  static inline int count = 0;
};
#endif

namespace {

class TestScanner : public vigil::Plugin {
 public:
  ~TestScanner() override {
    if (crash_on_unload_) std::abort();
  }
  void init(vigil::Host& host) override {
#ifdef TEST_DEFECT_INIT
    throw vigil::Error("this version cannot start", VIGIL_E_INTERNAL);
#endif
#ifdef TEST_SLOW_INIT
    std::this_thread::sleep_for(std::chrono::seconds(3));  // a window to kill the agent mid-swap
#endif
    if (host.config("RefuseInit") == "1") throw vigil::Error("told to refuse", VIGIL_E_NOT_FOUND);
    crash_on_unload_ = host.config("CrashOnUnload") == "1";
    host_ = &host;
#ifdef TEST_GNU_UNIQUE
    ++PinnedCounter<int>::count;
#endif
    host.set_default_cpu_limit(40);
    host.set_on_demand_key("TestScan");
    if (host.config("ScanOnStart") == "1") host.set_scan_on_start(true);
    host.on_manifest("testscan", [this](vigil::Scan& scan, std::string_view manifest) { run(scan, manifest); });
  }

 private:
  void run(vigil::Scan& scan, std::string_view manifest) {
#ifdef TEST_DEFECT_SCAN_FAIL
    throw vigil::Error("this version cannot scan", VIGIL_E_INTERNAL);
#endif
#ifdef TEST_DEFECT_SCAN_CRASH
    std::abort();
#endif
#ifdef TEST_DEFECT_SCAN_HANG
    for (;;) std::this_thread::sleep_for(std::chrono::milliseconds(50));
#endif
    std::istringstream lines{std::string(manifest)};
    std::vector<std::vector<char>> held;
    for (std::string line; std::getline(lines, line);) {
      std::istringstream words(line);
      std::string command;
      words >> command;
      if (command == "row") {
        std::string table, key, value;
        words >> table >> key;
        std::getline(words >> std::ws, value);
        scan.emit(table, {{"id", key}}, {{"value", value}});
      } else if (command == "rows") {
        // rows TABLE COUNT BYTES [TAG EVERY]: COUNT rows with BYTES-long values; every EVERY-th
        // row's value starts with TAG (the others with "same"), so a second scan can change a share.
        std::string table, tag = "same";
        size_t count = 0, bytes = 0, every = 1;
        words >> table >> count >> bytes >> tag >> every;
        char key[24];
        for (size_t i = 0; i < count; ++i) {
          std::snprintf(key, sizeof(key), "%012zu", i);
          std::string value = (every != 0 && i % every == 0) ? tag : "same";
          value.resize(std::max(bytes, value.size()), 'x');
          scan.emit(table, {{"id", key}}, {{"value", value}});
          if (i % 1024 == 0) scan.checkpoint();
        }
      } else if (command == "progress") {
        uint64_t done = 0, total = 0;
        words >> done >> total;
        scan.progress(done, total);
      } else if (command == "fail") {
        std::string message;
        std::getline(words >> std::ws, message);
        throw vigil::Error(message, VIGIL_E_INVALID_ARG);
      } else if (command == "throw") {
        std::string message;
        std::getline(words >> std::ws, message);
        throw std::runtime_error(message);
      } else if (command == "spin") {
        for (;;) scan.checkpoint();
      } else if (command == "sleep") {
        int milliseconds = 0;
        words >> milliseconds;
        auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(milliseconds);
        while (std::chrono::steady_clock::now() < until) {
          scan.checkpoint();
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      } else if (command == "burn") {
        int milliseconds = 0;
        words >> milliseconds;
        burn(scan, std::chrono::milliseconds(milliseconds));
      } else if (command == "state") {
        std::string key, value;
        size_t bytes = 0;
        words >> key >> value >> bytes;
        value.resize(std::max(bytes, value.size()), 'x');
        std::string previous = host_->state(key).value_or("<unset>");
        host_->set_state(key, value);
        scan.emit("state", {{"id", key}}, {{"value", value}, {"previous", previous}});
      } else if (command == "config") {
        std::string key;
        words >> key;
        scan.emit("config", {{"id", key}}, {{"value", host_->config(key).value_or("<unset>")}});
      } else if (command == "exec") {
        std::vector<std::string> argv;
        for (std::string word; words >> word;) argv.push_back(word);
        auto result = scan.run(argv);
        scan.emit("exec", {{"id", argv.empty() ? "" : argv[0]}},
                  {{"exit_code", std::to_string(result.exit_code)}, {"output", result.output}});
      } else if (command == "event") {
        std::string table, key, value;
        words >> table >> key >> value;
        host_->emit_event(table, {{"id", key}, {"value", value}});
      } else if (command == "condition") {
        // condition CODE info|warning|critical|clear DESCRIPTION... (the fix is fixed)
        std::string code, severity, description;
        words >> code >> severity;
        std::getline(words >> std::ws, description);
        int32_t level = severity == "info"       ? VIGIL_CONDITION_INFO
                        : severity == "warning"  ? VIGIL_CONDITION_WARNING
                        : severity == "critical" ? VIGIL_CONDITION_CRITICAL
                                                 : VIGIL_CONDITION_CLEAR;
        host_->condition(code, level, description, "do what the test says");
      } else if (command == "hold") {
        size_t mebibytes = 0;
        words >> mebibytes;
        for (size_t i = 0; i < mebibytes; ++i) held.emplace_back(size_t{1} << 20, 'x');
      } else if (command == "crash") {
        std::abort();  // SIGABRT: a crash the sanitizers let through without a report of their own
      } else if (command == "version") {
        scan.emit("version", {{"id", "plugin"}}, {{"value", TEST_PLUGIN_VERSION}});
      } else if (command == "badrow") {
        scan.emit("bad table!", {{"id", "1"}}, {});
      }
      scan.checkpoint();
    }
  }

  // Spins on the CPU until the thread has used `budget` of CPU time.
  static void burn(vigil::Scan& scan, std::chrono::milliseconds budget) {
    auto cpu_now = [] {
      timespec now{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
      return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
    };
    auto until = cpu_now() + budget;
    volatile uint64_t sink = 0;
    while (cpu_now() < until) {
      for (int i = 0; i < 20000; ++i) sink = sink + static_cast<uint64_t>(i);
      scan.checkpoint();
    }
  }

  vigil::Host* host_ = nullptr;
  bool crash_on_unload_ = false;
};

}  // namespace

VIGIL_PLUGIN(TestScanner, TEST_MODULE_NAME, "Test Scanner", TEST_PLUGIN_VERSION, VIGIL_MODULE_SCAN)
