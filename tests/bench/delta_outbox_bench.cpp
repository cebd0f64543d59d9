// Deltas and the outbox, in process, on a 100,000-row snapshot against its
// acknowledged base (1% changed, 0.5% added, 0.5% removed):
//  - the commit (merge walk over the two stored snapshots, chunk encoding,
//    outbox writes), against a reference that only reads both snapshots'
//    rows back from the store;
//  - JSON vs protobuf bytes of the same delta (counters json_bytes,
//    protobuf_bytes and their ratio);
//  - outbox append and acknowledge throughput, against plain SQLite inserts.
#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include "delta/delta_encoder.h"
#include "delta/payload_json.h"
#include "store/outbox.h"
#include "store/snapshot_writer.h"
#include "store/snapshots.h"
#include "store/state_store.h"
#include "test_support.h"

namespace {

using vigil::SnapshotRow;
using vigil::StateStore;

constexpr size_t kRows = 100000;

SnapshotRow make_row(size_t i, size_t generation) {
  std::string version = (generation == 1 && i % 100 == 3) ? "2.0-" + std::to_string(i) : "1.0-" + std::to_string(i);
  return {"packages", R"({"name":"package-)" + std::to_string(i) + R"("})",
          R"({"arch":"amd64","version":")" + version + R"("})"};
}

// Writes generation `generation` of the snapshot as a scan would; returns its staging id.
int64_t stage(StateStore& store, size_t generation) {
  vigil::SnapshotWriter writer(store.snapshots(), store.snapshots().begin("inv", 0).value());
  for (size_t i = 0; i < kRows; ++i) {
    if (generation == 1 && i % 200 == 7) continue;  // removed
    (void)writer.add(make_row(i, generation));
  }
  if (generation == 1) {
    for (size_t i = 0; i < kRows / 200; ++i) {
      (void)writer.add({"packages", R"({"name":"new-)" + std::to_string(i) + R"("})", R"({"version":"1"})"});
    }
  }
  (void)writer.flush();
  return writer.snapshot_id();
}

// Collects the chunks a commit writes, to count their bytes.
class CountingEncoder : public vigil::DeltaEncoder {
 public:
  explicit CountingEncoder(vigil::ChunkEncoder& inner) : inner_(inner) {}
  std::optional<std::string> add(const vigil::RowDifference& change) override { return count(inner_.add(change)); }
  std::optional<std::string> finish() override { return count(inner_.finish()); }
  size_t bytes = 0;
  size_t chunks = 0;

 private:
  std::optional<std::string> count(std::optional<std::string> payload) {
    if (payload) {
      bytes += payload->size();
      ++chunks;
    }
    return payload;
  }
  vigil::ChunkEncoder& inner_;
};

struct Stores {
  vigil::test::TempDir dir;
  std::unique_ptr<StateStore> store = std::move(StateStore::open(dir.path() / "config.db").value());
  int64_t base = 0;
  Stores() {
    base = stage(*store, 0);
    vigil::ChunkEncoder encoder({"inv", base, "interval", "", 0, 0, kRows}, vigil::ChunkEncoder::kDefaultChunkBytes);
    auto first = store->snapshots().commit({base, "inv", "inv", 0, 0, kRows, {}}, encoder).value();
    for (int64_t sequence = 1; sequence <= *first.sequence; ++sequence) (void)store->outbox().acknowledge(sequence);
  }
};

void BM_ReferenceReadBothSnapshots(benchmark::State& state) {
  Stores stores;
  int64_t next = stage(*stores.store, 1);
  for (auto _ : state) {
    size_t read = stores.store->snapshots().rows(stores.base, std::nullopt).value().size();
    read += stores.store->snapshots().rows(next, std::nullopt).value().size();
    benchmark::DoNotOptimize(read);
  }
  state.SetItemsProcessed(state.iterations() * 2 * kRows);
}
BENCHMARK(BM_ReferenceReadBothSnapshots)->Unit(benchmark::kMillisecond);

void BM_CommitDelta100kRows(benchmark::State& state) {
  Stores stores;
  size_t bytes = 0, chunks = 0;
  int64_t changes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    int64_t next = stage(*stores.store, 1);
    state.ResumeTiming();
    vigil::ChunkEncoder chunker({"inv", next, "interval", "", 0, 0, kRows}, vigil::ChunkEncoder::kDefaultChunkBytes);
    CountingEncoder encoder(chunker);
    auto committed = stores.store->snapshots().commit({next, "inv", "inv", 0, 0, kRows, {}}, encoder);
    if (!committed.ok()) return state.SkipWithError(committed.error().c_str());
    changes = committed.value().added + committed.value().removed + committed.value().changed;
    bytes = encoder.bytes;
    chunks = encoder.chunks;
    state.PauseTiming();
    // Back to the base for the next round: the pending snapshot and its chunks go.
    for (int64_t aside = 0; aside < static_cast<int64_t>(chunks);) {
      auto entry = stores.store->outbox().oldest().value();
      aside += stores.store->outbox().set_aside(entry->sequence, "bench").value();
    }
    state.ResumeTiming();
  }
  state.counters["changes"] = static_cast<double>(changes);
  state.counters["chunks"] = static_cast<double>(chunks);
  state.counters["protobuf_bytes"] = static_cast<double>(bytes);
  state.SetItemsProcessed(state.iterations() * 2 * kRows);
}
BENCHMARK(BM_CommitDelta100kRows)->Unit(benchmark::kMillisecond);

// The same 100k-row first delta (every row added) as protobuf chunks and as the JSON it was before.
void BM_JsonVsProtobufBytes(benchmark::State& state) {
  size_t protobuf = 0, json = 0;
  for (auto _ : state) {
    vigil::ChunkEncoder encoder({"inv", 1, "interval", "", 0, 0, kRows}, vigil::ChunkEncoder::kDefaultChunkBytes);
    protobuf = json = 0;
    auto account = [&](const std::optional<std::string>& payload) {
      if (!payload) return;
      protobuf += payload->size();
      json += vigil::payload_json({1, "inv", "delta", 1, 0, *payload}).value()["delta"].dump().size();
    };
    for (size_t i = 0; i < kRows; ++i) {
      SnapshotRow row = make_row(i, 0);
      account(encoder.add({vigil::ChangeKind::kAdded, row}));
    }
    account(encoder.finish());
  }
  state.counters["protobuf_bytes"] = static_cast<double>(protobuf);
  state.counters["json_bytes"] = static_cast<double>(json);
  state.counters["json_over_protobuf"] = static_cast<double>(json) / static_cast<double>(protobuf);
}
BENCHMARK(BM_JsonVsProtobufBytes)->Unit(benchmark::kMillisecond)->Iterations(1);

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

void BM_OutboxAppend(benchmark::State& state) {
  vigil::test::TempDir dir;
  auto store = std::move(StateStore::open(dir.path() / "config.db").value());
  std::string payload(kPayloadBytes, 'x');
  int64_t batch = 0;
  for (auto _ : state) {
    auto appended = store->outbox().append("m" + std::to_string(++batch % 8), "events", payload);
    if (!appended.ok()) state.SkipWithError(appended.error().c_str());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OutboxAppend);

void BM_OutboxAcknowledge(benchmark::State& state) {
  vigil::test::TempDir dir;
  auto store = std::move(StateStore::open(dir.path() / "config.db").value());
  std::string payload(kPayloadBytes, 'x');
  for (auto _ : state) {
    state.PauseTiming();
    auto appended = store->outbox().append("m", "events", payload);
    state.ResumeTiming();
    if (!store->outbox().acknowledge(appended.value().sequence).value()) state.SkipWithError("not acknowledged");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OutboxAcknowledge);

}  // namespace
