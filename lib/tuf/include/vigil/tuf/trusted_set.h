// The metadata this agent trusts during one update check, and the rules that
// let a newly received document join it (The Update Framework's client
// workflow; docs/design/self-patch.md lists each rule and its refusal text).
//
// The time is fixed when the set is made: every expiry check of one update
// check uses the same instant. Each update_* refuses with kInvalidArgument and
// a text "<role> v<N> refused: <reason>", and records the refusal's kind.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vigil/result/result.h"
#include "vigil/tuf/metadata.h"

namespace vigil::tuf {

// Why metadata was refused, for status and history.
enum class RefusalKind { kNone, kSignature, kRollback, kFreeze, kMixAndMatch, kFormat, kUnavailable, kPersist };
const char* refusal_kind_name(RefusalKind kind);

class TrustedSet {
 public:
  // The pinned root must parse and be signed by a threshold of its own root
  // keys; its expiry does not matter yet.
  static Result<TrustedSet> create(std::string_view pinned_root, int64_t now_fixed);

  // Root N+1: signed by a threshold of root N's root keys and of its own, its
  // version exactly N+1. Its expiry is checked by check_root_current, once the
  // chain has been followed to its end.
  Status update_root(std::string_view bytes);
  Status check_root_current();

  // `equal_version` is set when the platform sent the trusted timestamp's
  // version again: not an error, and nothing changes.
  Status update_timestamp(std::string_view bytes, bool* equal_version = nullptr);
  // `from_local_store` skips the hash check against timestamp: a stored copy
  // was checked when it arrived. An old stored copy still becomes the baseline
  // for rollback checks before it is refused as not current.
  Status update_snapshot(std::string_view bytes, bool from_local_store = false);
  Status update_targets(std::string_view bytes);

  const Signed<Root>& root() const { return root_; }
  const std::optional<Signed<Timestamp>>& timestamp() const { return timestamp_; }
  const std::optional<Signed<Snapshot>>& snapshot() const { return snapshot_; }
  const std::optional<Signed<Targets>>& targets() const { return targets_; }
  int64_t now() const { return now_; }
  RefusalKind last_refusal() const { return last_refusal_; }

 private:
  TrustedSet(Signed<Root> root, int64_t now) : root_(std::move(root)), now_(now) {}

  Error refuse(RefusalKind kind, Role role, std::optional<int64_t> version, const std::string& reason);
  Status check_current_timestamp();
  Status check_current_snapshot();

  Signed<Root> root_;
  std::optional<Signed<Timestamp>> timestamp_;
  std::optional<Signed<Snapshot>> snapshot_;
  std::optional<Signed<Targets>> targets_;
  int64_t now_;
  RefusalKind last_refusal_ = RefusalKind::kNone;
};

}  // namespace vigil::tuf
