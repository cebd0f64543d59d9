// The outbox in the state store: entries waiting for delivery (a snapshot's
// delta chunks, snapshots.h, or a batch of events), their acknowledgement,
// the bound on its size and the entries set aside because the receiver
// refused them. A part of StateStore (state_store.h): store.outbox().
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/result/result.h"

namespace vigil {

namespace sqlite {
class Database;
}

struct OutboxEntry {
  int64_t sequence = 0;  // per agent, strictly increasing, never reused
  std::string module;
  std::string kind;         // "delta" or "events"
  int64_t snapshot_id = 0;  // the pending snapshot this delta leads to
  int64_t created_at = 0;
  std::string payload;     // a serialised DeltaChunk or EventBatch (proto/)
  bool last_chunk = true;  // a delta's last chunk completes its snapshot
  int64_t attempts = 0;    // failed deliveries so far
};

struct SetAsideEntry {
  int64_t sequence = 0;
  std::string module;
  std::string kind;
  int64_t bytes = 0;
  int64_t attempts = 0;
  int64_t set_aside_at = 0;
  std::string reason;
};

struct OutboxStats {
  int64_t depth = 0;
  int64_t bytes = 0;
  int64_t dropped = 0;    // entries dropped to respect the bound, ever
  int64_t set_aside = 0;  // entries the receiver refused for good, ever
  int64_t last_sequence = 0;
};

struct AppendResult {
  int64_t sequence = 0;  // the entry appended
  int64_t dropped = 0;   // entries dropped by this append to respect the bound
};

class Outbox {
 public:
  Outbox(std::mutex& mutex, sqlite::Database& db) : mutex_(mutex), db_(db) {}
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Appends an entry with no snapshot behind it (a batch of real-time events).
  // Enforces the outbox bound.
  Result<AppendResult> append(std::string_view module, std::string_view kind, std::string_view payload);

  // Each module's entries are delivered in sequence order; modules are
  // independent of each other. acknowledge() of a delta's last chunk makes
  // its snapshot the module's acknowledged base; acknowledging an unknown
  // sequence is a no-op returning false (uploads are idempotent).
  Result<std::optional<OutboxEntry>> oldest();
  Result<std::optional<OutboxEntry>> oldest(std::string_view module);
  // Modules with entries in the outbox, by name.
  Result<std::vector<std::string>> modules();
  Result<bool> acknowledge(int64_t sequence);
  // Counts a failed delivery of `sequence`; returns its attempts so far.
  Result<int64_t> record_upload_attempt(int64_t sequence);
  // Moves an entry the receiver refuses for good out of the outbox, with its
  // reason. For a delta chunk, the rest of its snapshot's chunks and the
  // pending snapshot go too: the module's next delta, taken against the
  // acknowledged base, carries those changes again. Returns the entries moved.
  Result<int64_t> set_aside(int64_t sequence, std::string_view reason);
  Result<std::vector<SetAsideEntry>> set_aside_entries(int64_t limit);
  Result<bool> has_pending_delta(std::string_view module);
  Result<OutboxStats> stats();
  void set_limits(int64_t max_entries, int64_t max_bytes);

 private:
  // Snapshots::commit writes its delta's entries in its own transaction,
  // holding the mutex, through these.
  friend class Snapshots;
  int64_t insert_entry(std::string_view module, std::string_view kind, int64_t snapshot_id, bool last_chunk,
                       std::string_view payload);
  int64_t enforce_bound(int64_t keep_snapshot);
  void remove_entry(int64_t sequence);

  std::mutex& mutex_;
  sqlite::Database& db_;
  // Unbounded until the agent sets the bounds of its settings (OutboxMaxEntries, OutboxMaxBytes).
  int64_t max_entries_ = INT64_MAX;
  int64_t max_bytes_ = INT64_MAX;
};

}  // namespace vigil
