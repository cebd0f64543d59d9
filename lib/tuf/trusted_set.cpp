#include "vigil/tuf/trusted_set.h"

namespace vigil::tuf {

namespace {

// "signed by 1 of the 2 keys root v4 requires" reads better than a bare count.
std::string signed_by(int64_t valid, int64_t threshold, const std::string& whose) {
  return "signed by " + std::to_string(valid) + " of " + std::to_string(threshold) + " " + whose;
}

template <class T>
int64_t valid_signatures(const Root& root, Role role, const Signed<T>& document) {
  auto keys = root.roles.find(role_name(role));
  if (keys == root.roles.end()) return 0;
  return count_valid_signatures(root, keys->second, document.signatures, document.canonical_signed);
}

int64_t threshold_of(const Root& root, Role role) {
  auto keys = root.roles.find(role_name(role));
  return keys == root.roles.end() ? 1 : keys->second.threshold;
}

}  // namespace

const char* refusal_kind_name(RefusalKind kind) {
  switch (kind) {
    case RefusalKind::kNone: return "none";
    case RefusalKind::kSignature: return "signature";
    case RefusalKind::kRollback: return "rollback";
    case RefusalKind::kFreeze: return "freeze";
    case RefusalKind::kMixAndMatch: return "mix-and-match";
    case RefusalKind::kFormat: return "format";
    case RefusalKind::kUnavailable: return "unavailable";
    case RefusalKind::kPersist: return "persist";
  }
  return "?";
}

Result<TrustedSet> TrustedSet::create(std::string_view pinned_root, int64_t now_fixed) {
  Result<Signed<Root>> root = parse_root(pinned_root);
  if (!root) return Error{"pinned root is invalid: " + root.error(), ErrorCode::kInvalidArgument};
  int64_t valid = valid_signatures(root->body, Role::kRoot, *root);
  int64_t threshold = threshold_of(root->body, Role::kRoot);
  if (valid < threshold) {
    return Error{"pinned root v" + std::to_string(root->body.version) +
                     " is invalid: " + signed_by(valid, threshold, "the keys it names itself"),
                 ErrorCode::kInvalidArgument};
  }
  return TrustedSet(std::move(*root), now_fixed);
}

Error TrustedSet::refuse(RefusalKind kind, Role role, std::optional<int64_t> version, const std::string& reason) {
  last_refusal_ = kind;
  std::string text = role_name(role);
  if (version) text += " v" + std::to_string(*version);
  return Error{text + " refused: " + reason, ErrorCode::kInvalidArgument};
}

Status TrustedSet::update_root(std::string_view bytes) {
  if (timestamp_) return Error{"root cannot change after timestamp was loaded", ErrorCode::kFailed};
  Result<Signed<Root>> next = parse_root(bytes);
  if (!next) return refuse(RefusalKind::kFormat, Role::kRoot, claimed_version(bytes), next.error());
  int64_t version = next->body.version;
  int64_t by_trusted = valid_signatures(root_.body, Role::kRoot, *next);
  int64_t trusted_threshold = threshold_of(root_.body, Role::kRoot);
  if (by_trusted < trusted_threshold) {
    return refuse(
        RefusalKind::kSignature, Role::kRoot, version,
        signed_by(by_trusted, trusted_threshold, "the keys root v" + std::to_string(root_.body.version) + " requires"));
  }
  if (version != root_.body.version + 1) {
    return refuse(RefusalKind::kRollback, Role::kRoot, version,
                  "the platform sent version " + std::to_string(version) + " for v" +
                      std::to_string(root_.body.version + 1) + " (rollback or mix-up)");
  }
  int64_t by_itself = valid_signatures(next->body, Role::kRoot, *next);
  int64_t own_threshold = threshold_of(next->body, Role::kRoot);
  if (by_itself < own_threshold) {
    return refuse(RefusalKind::kSignature, Role::kRoot, version,
                  signed_by(by_itself, own_threshold, "the keys it names itself"));
  }
  root_ = std::move(*next);
  return Status::Ok();
}

Status TrustedSet::check_root_current() {
  if (root_.body.expires <= now_) {
    return refuse(RefusalKind::kFreeze, Role::kRoot, root_.body.version,
                  "expired " + format_time(root_.body.expires) + ": possible freeze attack, no update applied");
  }
  return Status::Ok();
}

Status TrustedSet::update_timestamp(std::string_view bytes, bool* equal_version) {
  if (equal_version) *equal_version = false;
  if (snapshot_) return Error{"timestamp cannot change after snapshot was loaded", ErrorCode::kFailed};
  if (Status current = check_root_current(); !current) return current;
  Result<Signed<Timestamp>> next = parse_timestamp(bytes);
  if (!next) return refuse(RefusalKind::kFormat, Role::kTimestamp, claimed_version(bytes), next.error());
  int64_t version = next->body.version;
  int64_t valid = valid_signatures(root_.body, Role::kTimestamp, *next);
  int64_t threshold = threshold_of(root_.body, Role::kTimestamp);
  if (valid < threshold) {
    return refuse(RefusalKind::kSignature, Role::kTimestamp, version, signed_by(valid, threshold, "required keys"));
  }
  if (timestamp_) {
    int64_t trusted = timestamp_->body.version;
    if (version < trusted) {
      return refuse(RefusalKind::kRollback, Role::kTimestamp, version,
                    "older than trusted v" + std::to_string(trusted) + " (rollback attack)");
    }
    if (version == trusted) {
      if (equal_version) *equal_version = true;
      return Status::Ok();
    }
    int64_t named = next->body.snapshot.version, trusted_named = timestamp_->body.snapshot.version;
    if (named < trusted_named) {
      return refuse(RefusalKind::kRollback, Role::kTimestamp, version,
                    "names snapshot v" + std::to_string(named) + ", trusted timestamp named v" +
                        std::to_string(trusted_named) + " (rollback attack)");
    }
  }
  // Trusted before the expiry check, so that even an expired timestamp guards
  // against rollback of what comes next.
  timestamp_ = std::move(*next);
  return check_current_timestamp();
}

Status TrustedSet::check_current_timestamp() {
  if (timestamp_->body.expires <= now_) {
    return refuse(RefusalKind::kFreeze, Role::kTimestamp, timestamp_->body.version,
                  "expired " + format_time(timestamp_->body.expires) + " (freeze attack)");
  }
  return Status::Ok();
}

Status TrustedSet::update_snapshot(std::string_view bytes, bool from_local_store) {
  if (!timestamp_) return Error{"snapshot cannot be loaded before timestamp", ErrorCode::kFailed};
  if (targets_) return Error{"snapshot cannot change after targets was loaded", ErrorCode::kFailed};
  if (Status current = check_current_timestamp(); !current) return current;
  const MetaFile& expected = timestamp_->body.snapshot;
  std::string timestamp_name = "timestamp v" + std::to_string(timestamp_->body.version);
  if (!from_local_store) {
    // On the raw bytes, before anything is parsed or verified.
    if (Status matches = check_length_and_hashes(bytes, expected.length, expected.hashes); !matches) {
      return refuse(RefusalKind::kMixAndMatch, Role::kSnapshot, claimed_version(bytes),
                    matches.error() + " in " + timestamp_name + " (mix-and-match)");
    }
  }
  Result<Signed<Snapshot>> next = parse_snapshot(bytes);
  if (!next) return refuse(RefusalKind::kFormat, Role::kSnapshot, claimed_version(bytes), next.error());
  int64_t version = next->body.version;
  int64_t valid = valid_signatures(root_.body, Role::kSnapshot, *next);
  int64_t threshold = threshold_of(root_.body, Role::kSnapshot);
  if (valid < threshold) {
    return refuse(RefusalKind::kSignature, Role::kSnapshot, version, signed_by(valid, threshold, "required keys"));
  }
  if (snapshot_) {
    // Against the trusted snapshot, even an expired one: no file may go away or go back.
    for (const auto& [name, trusted] : snapshot_->body.meta) {
      auto listed = next->body.meta.find(name);
      if (listed == next->body.meta.end()) {
        return refuse(RefusalKind::kRollback, Role::kSnapshot, version, "no longer lists " + name);
      }
      if (listed->second.version < trusted.version) {
        return refuse(RefusalKind::kRollback, Role::kSnapshot, version,
                      "lists " + name + " v" + std::to_string(listed->second.version) + ", trusted snapshot v" +
                          std::to_string(snapshot_->body.version) + " listed v" + std::to_string(trusted.version) +
                          " (rollback attack)");
      }
    }
  }
  snapshot_ = std::move(*next);
  return check_current_snapshot();
}

Status TrustedSet::check_current_snapshot() {
  int64_t version = snapshot_->body.version;
  if (snapshot_->body.expires <= now_) {
    return refuse(RefusalKind::kFreeze, Role::kSnapshot, version,
                  "expired " + format_time(snapshot_->body.expires) + " (freeze attack)");
  }
  int64_t named = timestamp_->body.snapshot.version;
  if (version != named) {
    return refuse(RefusalKind::kMixAndMatch, Role::kSnapshot, version,
                  "timestamp v" + std::to_string(timestamp_->body.version) + " names v" + std::to_string(named));
  }
  return Status::Ok();
}

Status TrustedSet::update_targets(std::string_view bytes) {
  if (!snapshot_) return Error{"targets cannot be loaded before snapshot", ErrorCode::kFailed};
  if (Status current = check_current_snapshot(); !current) return current;
  auto listed = snapshot_->body.meta.find("targets.json");
  if (listed == snapshot_->body.meta.end()) {
    return refuse(RefusalKind::kFormat, Role::kTargets, std::nullopt,
                  "snapshot v" + std::to_string(snapshot_->body.version) + " does not list targets.json");
  }
  const MetaFile& expected = listed->second;
  std::string snapshot_name = "snapshot v" + std::to_string(snapshot_->body.version);
  if (Status matches = check_length_and_hashes(bytes, expected.length, expected.hashes); !matches) {
    return refuse(RefusalKind::kMixAndMatch, Role::kTargets, claimed_version(bytes),
                  matches.error() + " in " + snapshot_name + " (mix-and-match)");
  }
  Result<Signed<Targets>> next = parse_targets(bytes);
  if (!next) return refuse(RefusalKind::kFormat, Role::kTargets, claimed_version(bytes), next.error());
  int64_t version = next->body.version;
  int64_t valid = valid_signatures(root_.body, Role::kTargets, *next);
  int64_t threshold = threshold_of(root_.body, Role::kTargets);
  if (valid < threshold) {
    return refuse(RefusalKind::kSignature, Role::kTargets, version, signed_by(valid, threshold, "required keys"));
  }
  if (version != expected.version) {
    return refuse(RefusalKind::kMixAndMatch, Role::kTargets, version,
                  snapshot_name + " names v" + std::to_string(expected.version));
  }
  if (next->body.expires <= now_) {
    return refuse(RefusalKind::kFreeze, Role::kTargets, version,
                  "expired " + format_time(next->body.expires) + " (freeze attack)");
  }
  targets_ = std::move(*next);
  return Status::Ok();
}

}  // namespace vigil::tuf
