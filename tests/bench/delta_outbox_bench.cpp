// Deltas and the outbox, in process:
//  - delta of two 100,000-row snapshots (1% changed, 0.5% added, 0.5% removed),
//    against a reference that only hashes every row of both once;
//  - outbox append (commit_snapshot with a delta) and acknowledge throughput,
//    against a reference of plain SQLite inserts of the same payload.
#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <functional>

#include "delta/delta.h"
#include "store/state_store.h"
#include "test_support.h"

namespace {

using vigil::SnapshotRow;

std::vector<SnapshotRow> make_rows(size_t count, size_t generation) {
  std::vector<SnapshotRow> rows;
  rows.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    if (generation == 1 && i % 200 == 7) continue;  // removed
    std::string version = (generation == 1 && i % 100 == 3) ? "2.0-" + std::to_string(i) : "1.0-" + std::to_string(i);
    rows.push_back({"packages", R"({"name":"package-)" + std::to_string(i) + R"("})",
                    R"({"arch":"amd64","version":")" + version + R"("})"});
  }
  if (generation == 1) {
    for (size_t i = 0; i < count / 200; ++i) {
      rows.push_back({"packages", R"({"name":"new-)" + std::to_string(i) + R"("})", R"({"version":"1"})"});
    }
  }
  vigil::sort_rows(rows);
  return rows;
}

void BM_ReferenceHashBothSnapshots(benchmark::State& state) {
  auto before = make_rows(100000, 0);
  auto after = make_rows(100000, 1);
  std::hash<std::string> hash;
  for (auto _ : state) {
    size_t sum = 0;
    for (const auto& row : before) sum += hash(row.key) ^ hash(row.values);
    for (const auto& row : after) sum += hash(row.key) ^ hash(row.values);
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * 200000);
}
BENCHMARK(BM_ReferenceHashBothSnapshots)->Unit(benchmark::kMillisecond);

void BM_Delta100kRows(benchmark::State& state) {
  auto before = make_rows(100000, 0);
  auto after = make_rows(100000, 1);
  size_t changes = 0;
  for (auto _ : state) {
    vigil::Delta delta = vigil::compute_delta(before, after);
    changes = delta.size();
    benchmark::DoNotOptimize(delta);
  }
  state.counters["changes"] = static_cast<double>(changes);
  state.SetItemsProcessed(state.iterations() * 200000);
}
BENCHMARK(BM_Delta100kRows)->Unit(benchmark::kMillisecond);

void BM_DeltaToJson100kRows(benchmark::State& state) {
  vigil::Delta delta = vigil::compute_delta(make_rows(100000, 0), make_rows(100000, 1));
  for (auto _ : state) benchmark::DoNotOptimize(vigil::delta_to_json(delta).dump());
}
BENCHMARK(BM_DeltaToJson100kRows)->Unit(benchmark::kMillisecond);

constexpr size_t kPayloadBytes = 2048;

void BM_ReferenceSqliteInsert(benchmark::State& state) {
  vigil::test::TempDir dir;
  sqlite3* db = nullptr;
  sqlite3_open((dir.path() / "ref.db").c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO t (v) VALUES (?)", -1, &insert, nullptr);
  std::string payload(kPayloadBytes, 'x');
  for (auto _ : state) {
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    sqlite3_bind_blob(insert, 1, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
    sqlite3_step(insert);
    sqlite3_reset(insert);
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  sqlite3_finalize(insert);
  sqlite3_close(db);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReferenceSqliteInsert);

// One scan's commit: a small snapshot whose delta goes to the outbox.
void BM_OutboxAppend(benchmark::State& state) {
  vigil::test::TempDir dir;
  auto store = std::move(vigil::StateStore::open(dir.path() / "config.db").value());
  std::string payload(kPayloadBytes, 'x');
  int64_t scan = 0;
  for (auto _ : state) {
    std::vector<SnapshotRow> rows = {{"t", std::to_string(++scan), "{}"}};
    auto committed = store->commit_snapshot({0, "m" + std::to_string(scan % 8), "m", 0, 0, 0, {}}, rows,
                                            [&](const std::vector<SnapshotRow>&, int64_t) { return payload; });
    if (!committed.ok()) state.SkipWithError(committed.error().c_str());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OutboxAppend);

void BM_OutboxAcknowledge(benchmark::State& state) {
  vigil::test::TempDir dir;
  auto store = std::move(vigil::StateStore::open(dir.path() / "config.db").value());
  std::string payload(kPayloadBytes, 'x');
  int64_t scan = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<SnapshotRow> rows = {{"t", std::to_string(++scan), "{}"}};
    auto committed = store->commit_snapshot({0, "m", "m", 0, 0, 0, {}}, rows,
                                            [&](const std::vector<SnapshotRow>&, int64_t) { return payload; });
    state.ResumeTiming();
    if (!store->acknowledge(*committed.value().sequence).value()) state.SkipWithError("not acknowledged");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OutboxAcknowledge);

}  // namespace
