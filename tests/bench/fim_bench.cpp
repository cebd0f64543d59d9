// The FIM baseline on a generated tree (default ~20,000 files, ~1 GiB; set
// VIGIL_FIM_BENCH_MB to change the size), read from the page cache:
// - large files only, on 1 and 2 threads, against the machine's SHA-256
//   limit measured in the same run (`openssl speed -evp sha256` at 1 MiB
//   blocks × cores): counter x_sha256_limit;
// - the whole tree, against AIDE (`aide --init` with sha256, the same
//   metadata, ACLs and xattrs, one worker per core; from Debian, installed by
//   `scripts/bootstrap bench`) on the same tree: counter x_aide.
#include <benchmark/benchmark.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <random>
#include <regex>
#include <thread>

#include "baseline.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Tree {
  vigil::test::TempDir dir;
  uint64_t total_bytes = 0, large_bytes = 0;
  size_t files = 0;
  double sha256_limit = 0;  // bytes/s, all cores
  double aide_seconds = 0;

  Tree() {
    const char* wanted = std::getenv("VIGIL_FIM_BENCH_MB");
    uint64_t megabytes = wanted != nullptr ? std::stoull(wanted) : 1024;
    std::mt19937_64 random(42);
    std::vector<char> block(1 << 20);
    for (auto& byte : block) byte = static_cast<char>(random());
    auto write = [&](const fs::path& path, uint64_t size) {
      fs::create_directories(path.parent_path());
      std::ofstream out(path, std::ios::binary);
      for (uint64_t left = size; left > 0;) {
        uint64_t chunk = std::min<uint64_t>(left, block.size());
        out.write(block.data() + (left % 4096),
                  static_cast<std::streamsize>(std::min<uint64_t>(chunk, block.size() - 4096)));
        left -= std::min<uint64_t>(chunk, block.size() - 4096);
      }
      total_bytes += size;
      ++files;
    };
    // 90% of the bytes in 100 large files, the rest in 19,900 small ones.
    uint64_t large = megabytes * (1 << 20) * 9 / 10 / 100;
    for (int i = 0; i < 100; ++i) write(dir.path() / "tree/large" / std::to_string(i), large);
    large_bytes = total_bytes;
    uint64_t small = std::max<uint64_t>(1, megabytes * (1 << 20) / 10 / 19900);
    for (int i = 0; i < 19900; ++i)
      write(dir.path() / "tree/small" / std::to_string(i % 100) / std::to_string(i), small);

    auto speed =
        vigil::test::run({"/usr/bin/openssl", "speed", "-seconds", "1", "-bytes", "1048576", "-evp", "sha256"});
    std::smatch found;
    if (std::regex_search(speed.out, found, std::regex("sha256\\s+([0-9.]+)k"))) {
      sha256_limit = std::stod(found[1]) * 1000 * std::thread::hardware_concurrency();
    }
    if (fs::exists("/usr/bin/aide")) {
      auto config = dir.path() / "aide.conf";
      // As many workers as we use threads: the same hardware for both.
      std::ofstream(config) << "database_out=file:" << (dir.path() / "aide.db").string() << "\n"
                            << "num_workers=100%\n"
                            << "FIM = p+i+n+u+g+s+m+c+acl+xattrs+sha256\n"
                            << (dir.path() / "tree").string() << " FIM\n";
      auto started = Clock::now();
      auto aide = vigil::test::run({"/usr/bin/aide", "--init", "--config=" + config.string()});
      aide_seconds = std::chrono::duration<double>(Clock::now() - started).count();
      if (aide.exit_code != 0) {
        std::cerr << "aide --init failed (exit " << aide.exit_code << "), no x_aide: " << aide.err << "\n";
        aide_seconds = 0;
      }
    }
  }
};

Tree& tree() {
  static Tree instance;
  return instance;
}

void run(benchmark::State& state, const std::string& path, bool large_only) {
  auto manifest = vigil::fim::parse_manifest("hash: sha256\npaths:\n  - {path: " + path + "}\n");
  uint64_t bytes = large_only ? tree().large_bytes : tree().total_bytes;
  size_t files = 0;
  auto started = Clock::now();
  int64_t runs = 0;
  for (auto _ : state) {
    auto records = vigil::fim::collect(manifest, tree().dir.path());
    vigil::fim::hash_files(records, tree().dir.path(), "sha256", static_cast<unsigned>(state.range(0)), {});
    files = records.size();
    ++runs;
  }
  double seconds = std::chrono::duration<double>(Clock::now() - started).count() / static_cast<double>(runs);
  state.counters["MB_s"] = static_cast<double>(bytes) / seconds / 1e6;
  state.counters["files_s"] = static_cast<double>(files) / seconds;
  if (tree().sha256_limit > 0)
    state.counters["x_sha256_limit"] = static_cast<double>(bytes) / seconds / tree().sha256_limit;
  if (!large_only && tree().aide_seconds > 0) state.counters["x_aide"] = tree().aide_seconds / seconds;
}

void BM_LargeFiles(benchmark::State& state) {
  run(state, "/tree/large", true);
}
void BM_WholeTree(benchmark::State& state) {
  run(state, "/tree", false);
}

BENCHMARK(BM_LargeFiles)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_WholeTree)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
