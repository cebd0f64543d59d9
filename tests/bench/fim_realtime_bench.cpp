// FIM real time, measured on real files through each kernel source
// (fanotify when this process may use it, inotify always):
// - Latency: an existing file is rewritten (open, write, close) and the time
//   until its event is committed to a real SQLite outbox (EventBatcher +
//   StateStore, as in vigild) is taken; one change every 20 ms. Counters
//   p50_ms / p99_ms, sink_p99_ms (until the monitor hands the event over),
//   new_file_p99_ms (a new file: it waits for the coalescing window), and
//   x_kernel: p99 against the kernel's own delivery (write → the raw
//   inotify event read) measured in the same run.
// - Sustained rate: one thread overwrites 1,000 files in place (open, pwrite,
//   close: two kernel changes each) as fast as it can for 2 s, against the
//   same writes with nothing watching (x_unwatched);
//   counters changes_per_s (the changes the writer made: a write and a
//   close each), kernel_reports_per_s (what the kernel queued for them,
//   after its own merging), events (what the monitor reported after
//   coalescing), lost (files whose final content the monitor's baseline does
//   not hold; must be 0) and overflows.
// - Unrelated write storm: a forked process overwrites 100,000 small files
//   in place, three times over, beside the watched tree (same filesystem), once with nothing
//   watching and once per source, in six rounds, each in another order, so
//   a slow disk moment hits every source alike. Counters per source: the agent's CPU
//   during the storm as % of one core (cpu_pct), the writer's CPU time and
//   wall time against the run with nothing watching (writer_cpu_x,
//   writer_wall_x); medians over the rounds. Two kernel-only references show
//   why fanotify marks directories: a filesystem mark (fs_mark) and one with
//   an ignore mark on each of the storm's 101 directories (fs_mark_ignore,
//   the best case for FAN_MARK_IGNORE: an agent cannot know in advance where
//   unrelated writes will land), each with a thread that only reads and
//   discards; and the floor any watch on the filesystem costs its writers
//   (one_mark: one fanotify inode mark on the watched directory, nothing
//   else).
// - Memory per watched file, at 100,000 and 300,000 files: the heap the
//   monitor holds once started (malloc's arena and mmapped chunks) and the
//   process's RSS growth, each divided by the files; reference: the same
//   records in a std::map by path (how the monitor held them before
//   RecordTree), measured in the same run (x_map).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "baseline.h"
#include "delta/delta_encoder.h"
#include "log/log_manager.h"
#include "monitor.h"
#include "sched/event_batcher.h"
#include "store/state_store.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using vigil::fim::Event;
using vigil::fim::Manifest;
using vigil::fim::Monitor;

double ms(Clock::duration duration) {
  return std::chrono::duration<double, std::milli>(duration).count();
}

double percentile(std::vector<double> values, double fraction) {
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(fraction * static_cast<double>(values.size())))];
}

void rewrite(const fs::path& file, const std::string& text) {
  int fd = ::open(file.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) std::abort();
  ::close(fd);
}

// Overwrites the first bytes in place (no truncation: ext4 makes O_TRUNC cost
// ~0.3 ms here, which would measure the disk, not the monitor).
void overwrite(const fs::path& file, uint64_t value) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ::pwrite(fd, &value, sizeof(value), 0) != sizeof(value)) std::abort();
  ::close(fd);
}

bool fanotify_usable(std::string& why) {
  return vigil::fim::make_fanotify_watcher("/", why) != nullptr;
}

// The agent's outbox path: events into a real SQLite outbox on an io thread.
struct Outbox {
  vigil::test::TempDir dir;
  std::unique_ptr<vigil::StateStore> store = std::move(vigil::StateStore::open(dir.path() / "config.db").value());
  vigil::LogManager logs{dir.path() / "log", 3, vigil::LogDestination::kFile, false};
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work = boost::asio::make_work_guard(io);
  std::mutex mutex;
  std::condition_variable written;
  uint64_t entries = 0;
  vigil::EventBatcher batcher{io, store->outbox(), logs, [this] {
                                std::lock_guard lock(mutex);
                                ++entries;
                                written.notify_all();
                              }};
  std::thread thread{[this] { io.run(); }};

  ~Outbox() {
    work.reset();
    io.stop();
    thread.join();
  }
  void add(const Event& event) {
    batcher.add("fim", vigil::encode_event("fs", 0, {{"action", event.action}, {"path", event.path}}));
  }
};

struct Setup {
  vigil::test::TempDir dir;
  std::shared_ptr<Manifest> manifest;
  std::vector<vigil::fim::FileRecord> records;

  Setup(int directories, int files_per_directory) {
    for (int d = 0; d < directories; ++d) {
      fs::create_directories(dir.path() / "watched" / std::to_string(d));
      for (int f = 0; f < files_per_directory; ++f) {
        std::ofstream(dir.path() / "watched" / std::to_string(d) / std::to_string(f)) << "x";
      }
    }
    manifest = std::make_shared<Manifest>(vigil::fim::parse_manifest("paths: [{path: /watched}]"));
    records = vigil::fim::collect(*manifest, dir.path());
    vigil::fim::hash_files(records, dir.path(), "sha256", 2, nullptr);
  }
};

// write → raw inotify event, the kernel's part of any latency.
std::vector<double> kernel_latencies(const fs::path& file, int samples) {
  int fd = ::inotify_init1(IN_CLOEXEC);
  ::inotify_add_watch(fd, file.parent_path().c_str(), IN_CLOSE_WRITE);
  std::vector<double> out;
  char buffer[4096];
  for (int i = 0; i < samples; ++i) {
    rewrite(file, std::to_string(i));
    auto written = Clock::now();
    if (::read(fd, buffer, sizeof(buffer)) <= 0) break;
    out.push_back(ms(Clock::now() - written));
  }
  ::close(fd);
  return out;
}

void EventLatencyToOutbox(benchmark::State& state, bool fanotify) {
  std::string why;
  if (fanotify && !fanotify_usable(why)) {
    state.SkipWithError(("fanotify cannot run here: " + why).c_str());
    return;
  }
  Setup setup(10, 10);
  Outbox outbox;
  vigil::fim::MonitorOptions options;
  options.fanotify = fanotify;
  std::atomic<Clock::rep> handed_over{0};
  Monitor monitor(
      setup.manifest, setup.dir.path(), setup.records,
      [&](const Event& event) {
        handed_over = Clock::now().time_since_epoch().count();
        outbox.add(event);
      },
      options);
  monitor.start();
  // One change, then the time until its event is in the outbox (and until the monitor handed it over).
  auto measure = [&](const std::function<void()>& change, std::vector<double>& latencies,
                     std::vector<double>& sink_latencies) {
    uint64_t before;
    {
      std::lock_guard lock(outbox.mutex);
      before = outbox.entries;
    }
    change();
    auto written = Clock::now();
    std::unique_lock lock(outbox.mutex);
    if (!outbox.written.wait_for(lock, std::chrono::seconds(5), [&] { return outbox.entries > before; })) return false;
    latencies.push_back(ms(Clock::now() - written));
    sink_latencies.push_back(ms(Clock::duration(handed_over.load()) - written.time_since_epoch()));
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return true;
  };
  std::vector<double> latencies, sink_latencies, new_file_latencies, new_file_sink;
  for (auto _ : state) {
    for (int i = 0; i < 200; ++i) {
      auto file = setup.dir.path() / "watched" / std::to_string(i % 10) / std::to_string(i % 7);
      auto added = setup.dir.path() / "watched" / std::to_string(i % 10) / ("new" + std::to_string(i));
      if (!measure([&] { rewrite(file, std::to_string(i)); }, latencies, sink_latencies) ||
          !measure([&] { std::ofstream(added) << i; }, new_file_latencies, new_file_sink)) {
        state.SkipWithError("an event never reached the outbox");
        return;
      }
    }
  }
  auto kernel = kernel_latencies(setup.dir.path() / "watched/0/0", 200);
  state.counters["p50_ms"] = percentile(latencies, 0.50);
  state.counters["p99_ms"] = percentile(latencies, 0.99);
  state.counters["max_ms"] = percentile(latencies, 1.0);
  state.counters["sink_p99_ms"] = percentile(sink_latencies, 0.99);
  std::vector<double> outbox_part;
  for (size_t i = 0; i < latencies.size(); ++i) outbox_part.push_back(latencies[i] - sink_latencies[i]);
  state.counters["outbox_p99_ms"] = percentile(outbox_part, 0.99);
  state.counters["new_file_p99_ms"] = percentile(new_file_latencies, 0.99);
  state.counters["kernel_p99_ms"] = percentile(kernel, 0.99);
  state.counters["x_kernel"] = percentile(latencies, 0.99) / std::max(percentile(kernel, 0.99), 1e-6);
}

void SustainedRate(benchmark::State& state, bool fanotify) {
  std::string why;
  if (fanotify && !fanotify_usable(why)) {
    state.SkipWithError(("fanotify cannot run here: " + why).c_str());
    return;
  }
  Setup setup(10, 100);
  std::atomic<uint64_t> events{0};
  vigil::fim::MonitorOptions options;
  options.fanotify = fanotify;
  Monitor monitor(
      setup.manifest, setup.dir.path(), setup.records, [&](const Event&) { ++events; }, options);
  // Rewrites the files round-robin for 2 s; returns writes per second.
  std::vector<fs::path> files;
  for (int i = 0; i < 1000; ++i)
    files.push_back(setup.dir.path() / "watched" / std::to_string(i % 10) / std::to_string(i / 10));
  auto hammer = [&](uint64_t& writes) {
    auto start = Clock::now();
    while (Clock::now() - start < std::chrono::seconds(2)) {
      for (int i = 0; i < 100; ++i, ++writes) overwrite(files[writes % files.size()], writes);
    }
    return static_cast<double>(writes) / std::chrono::duration<double>(Clock::now() - start).count();
  };
  uint64_t unwatched_writes = 0;
  double unwatched_rate = hammer(unwatched_writes);  // reference: the same writes, nothing watching
  uint64_t writes = 0;
  double rate = 0, seconds = 2;
  for (auto _ : state) {
    monitor.start();
    rate = hammer(writes);
  }
  // Settled: every file's last content must be what the monitor holds.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto stats = monitor.stats();
  size_t lost = 0;
  for (const auto& record : monitor.snapshot()) {
    if (record.type == "file" &&
        record.hash != vigil::fim::hash_file(setup.dir.path() / record.path.substr(1), "sha256")) {
      ++lost;
    }
  }
  state.counters["writes_per_s"] = rate;
  state.counters["x_unwatched"] = rate / unwatched_rate;
  state.counters["changes_per_s"] = 2 * rate;
  state.counters["kernel_reports_per_s"] = static_cast<double>(stats.kernel_changes) / seconds;
  state.counters["events"] = static_cast<double>(events.load());
  state.counters["overflows"] = static_cast<double>(stats.overflows);
  state.counters["lost"] = static_cast<double>(lost);
}

// What a forked writer cost itself and this process while it overwrote every file three times.
struct StormCost {
  double wall_s = 0, writer_cpu_s = 0, agent_cpu_s = 0;
};

double cpu_seconds(const rusage& usage) {
  auto seconds = [](const timeval& time) { return static_cast<double>(time.tv_sec) + time.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

StormCost storm(const std::vector<std::string>& files) {
  rusage agent_before{}, agent_after{}, writer{};
  ::getrusage(RUSAGE_SELF, &agent_before);
  auto start = Clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {  // only async-signal-safe calls from here
    for (size_t i = 0; i < 3 * files.size(); ++i) {
      int fd = ::open(files[i % files.size()].c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || ::pwrite(fd, &i, sizeof(i), 0) != sizeof(i)) ::_exit(1);
      ::close(fd);
    }
    ::_exit(0);
  }
  int status = 0;
  if (pid < 0 || ::wait4(pid, &status, 0, &writer) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return {};
  }
  StormCost cost;
  cost.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // what the agent still had queued
  ::getrusage(RUSAGE_SELF, &agent_after);
  cost.writer_cpu_s = cpu_seconds(writer);
  cost.agent_cpu_s = cpu_seconds(agent_after) - cpu_seconds(agent_before);
  return cost;
}

// Kernel-only references: a fanotify filesystem mark and a thread that reads and discards.
// `whole` false: one inode mark on `on` alone, the kernel's floor for any watch on a filesystem.
class RawMark {
 public:
  RawMark(const fs::path& on, bool whole, const std::vector<fs::path>& ignored) {
    fd_ = ::fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME, O_RDONLY);
    uint64_t mask =
        FAN_CREATE | FAN_DELETE | FAN_MODIFY | FAN_ATTRIB | FAN_CLOSE_WRITE | FAN_RENAME | FAN_DELETE_SELF | FAN_ONDIR;
    if (fd_ < 0 ||
        ::fanotify_mark(fd_, FAN_MARK_ADD | (whole ? FAN_MARK_FILESYSTEM : 0u), mask, AT_FDCWD, on.c_str()) != 0) {
      throw std::runtime_error("a fanotify mark cannot be placed here");
    }
    for (const auto& directory : ignored) {
      if (::fanotify_mark(fd_, FAN_MARK_ADD | FAN_MARK_IGNORE_SURV, mask | FAN_EVENT_ON_CHILD, AT_FDCWD,
                          directory.c_str()) != 0) {
        throw std::runtime_error("FAN_MARK_IGNORE is not supported here (Linux 6.0+)");
      }
    }
    reader_ = std::thread([this] {
      alignas(struct fanotify_event_metadata) static char buffer[256 * 1024];
      while (!stopping_) {
        pollfd ready{fd_, POLLIN, 0};
        ::poll(&ready, 1, 50);
        while (::read(fd_, buffer, sizeof(buffer)) > 0) {
        }
      }
    });
  }
  ~RawMark() {
    stopping_ = true;
    if (reader_.joinable()) reader_.join();
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  int fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread reader_;
};

void UnrelatedWriteStorm(benchmark::State& state) {
  std::string why;
  bool root_sources = fanotify_usable(why);
  Setup setup(10, 10);
  auto storm_dir = setup.dir.path() / "storm";
  std::vector<std::string> files;
  std::vector<fs::path> storm_directories = {storm_dir};
  for (int d = 0; d < 100; ++d) {
    storm_directories.push_back(storm_dir / std::to_string(d));
    fs::create_directories(storm_directories.back());
    for (int f = 0; f < 1000; ++f) {
      files.push_back((storm_dir / std::to_string(d) / std::to_string(f)).string());
      std::ofstream(files.back()) << "x";
    }
  }
  std::vector<std::string> sources = {"none", "inotify"};
  if (root_sources) sources.insert(sources.end(), {"fanotify", "one_mark", "fs_mark", "fs_mark_ignore"});
  std::map<std::string, std::vector<StormCost>> costs;
  for (auto _ : state) {
    for (size_t round = 0; round < 6; ++round) {
      // Each round starts with the next source: the disk's writeback of the
      // last storm then slows a different one each time.
      std::rotate(sources.begin(), sources.begin() + 1, sources.end());
      for (const auto& source : sources) {
        if (source == "none") {
          costs[source].push_back(storm(files));
          continue;
        }
        std::unique_ptr<Monitor> monitor;
        std::unique_ptr<RawMark> mark;
        if (source == "inotify" || source == "fanotify") {
          vigil::fim::MonitorOptions options;
          options.fanotify = source == "fanotify";
          monitor = std::make_unique<Monitor>(
              setup.manifest, setup.dir.path(), setup.records, [](const Event&) {}, options);
          monitor->start();
          while (!monitor->checked()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        } else {
          mark = std::make_unique<RawMark>(setup.dir.path() / "watched", source != "one_mark",
                                           source == "fs_mark_ignore" ? storm_directories : std::vector<fs::path>{});
        }
        costs[source].push_back(storm(files));
      }
    }
  }
  auto median = [](std::vector<double> values) { return percentile(std::move(values), 0.5); };
  const auto& unwatched = costs["none"];
  std::vector<double> reference_wall;
  for (const auto& run : unwatched) reference_wall.push_back(run.wall_s);
  state.counters["storm_s"] = median(reference_wall);
  for (const auto& [source, runs] : costs) {
    if (source == "none") continue;
    std::vector<double> cpu_pct, writer_cpu_x, writer_wall_x;
    for (size_t i = 0; i < runs.size(); ++i) {
      cpu_pct.push_back(100 * runs[i].agent_cpu_s / runs[i].wall_s);
      writer_cpu_x.push_back(runs[i].writer_cpu_s / unwatched[i].writer_cpu_s);
      writer_wall_x.push_back(runs[i].wall_s / unwatched[i].wall_s);
    }
    state.counters[source + "_cpu_pct"] = median(cpu_pct);
    state.counters[source + "_writer_cpu_x"] = median(writer_cpu_x);
    state.counters[source + "_writer_wall_x"] = median(writer_wall_x);
  }
  if (!root_sources) state.SetLabel("fanotify skipped: " + why);
}

size_t rss_bytes() {
  long pages = 0, resident = 0;
  std::ifstream("/proc/self/statm") >> pages >> resident;
  return static_cast<size_t>(resident) * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

// In use: small chunks in malloc's arenas and the large ones it mmaps (big vectors).
size_t heap_bytes() {
  ::malloc_trim(0);
  auto info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

// The trees are made once per size and shared by both sources (300,000 files take a while).
const Setup& tree_of(int files) {
  static std::map<int, std::unique_ptr<Setup>> trees;
  auto& tree = trees[files];
  if (!tree) tree = std::make_unique<Setup>(files / 100, 100);
  return *tree;
}

void MemoryPerWatchedFile(benchmark::State& state, bool fanotify) {
  std::string why;
  if (fanotify && !fanotify_usable(why)) {
    state.SkipWithError(("fanotify cannot run here: " + why).c_str());
    return;
  }
  const Setup& setup = tree_of(static_cast<int>(state.range(0)));
  auto files = static_cast<double>(setup.records.size());
  for (auto _ : state) {
    size_t heap_before = heap_bytes();
    double map_bytes = 0;
    {
      std::map<std::string, vigil::fim::FileRecord> by_path;
      for (const auto& record : setup.records) by_path.emplace(record.path, record);
      map_bytes = static_cast<double>(heap_bytes() - heap_before);
    }
    heap_before = heap_bytes();
    size_t rss_before = rss_bytes();
    vigil::fim::MonitorOptions options;
    options.fanotify = fanotify;
    std::unique_ptr<Monitor> monitor;
    {
      auto records = setup.records;  // what a scan hands over, gone once the monitor's tree holds it
      monitor = std::make_unique<Monitor>(
          setup.manifest, setup.dir.path(), records, [](const Event&) {}, options);
    }
    monitor->start();
    auto heap = static_cast<double>(heap_bytes() - heap_before);
    state.counters["files"] = files;
    state.counters["watches"] = static_cast<double>(monitor->stats().watches);
    state.counters["heap_MiB"] = heap / (1 << 20);
    state.counters["heap_bytes_per_file"] = heap / files;
    state.counters["rss_bytes_per_file"] = static_cast<double>(rss_bytes() - rss_before) / files;
    state.counters["map_bytes_per_file"] = map_bytes / files;
    state.counters["x_map"] = heap / map_bytes;
  }
}

BENCHMARK_CAPTURE(EventLatencyToOutbox, inotify, false)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(EventLatencyToOutbox, fanotify, true)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(SustainedRate, inotify, false)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(SustainedRate, fanotify, true)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(UnrelatedWriteStorm)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(MemoryPerWatchedFile, inotify, false)
    ->Arg(100000)
    ->Arg(300000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(MemoryPerWatchedFile, fanotify, true)
    ->Arg(100000)
    ->Arg(300000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
