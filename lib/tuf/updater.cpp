#include "vigil/tuf/updater.h"

#include <algorithm>
#include <system_error>

#include "vigil/crypto/digest.h"

namespace vigil::tuf {

namespace {

bool same_keys(const Root& before, const Root& after, Role role) {
  auto old_keys = before.roles.find(role_name(role));
  auto new_keys = after.roles.find(role_name(role));
  if (old_keys == before.roles.end() || new_keys == after.roles.end()) return false;
  return old_keys->second.threshold == new_keys->second.threshold &&
         old_keys->second.key_ids == new_keys->second.key_ids;
}

Status unreachable(const Error& error) {
  return Error{"update check: platform unreachable: " + error.message, ErrorCode::kUnavailable};
}

// A missing file is a failed check too, not an empty result.
Result<std::string> fetch_required(Fetcher& fetcher, Role role, std::optional<int64_t> version, size_t limit) {
  Result<std::string> bytes = fetcher.fetch(role, version, limit);
  if (!bytes) {
    std::string what = std::string(role_name(role)) + (version ? " v" + std::to_string(*version) : "");
    if (bytes.code() == ErrorCode::kNotFound) {
      return Error{"update check: the platform has no " + what, ErrorCode::kUnavailable};
    }
    return unreachable(bytes.failure()).failure();
  }
  if (bytes->size() > limit) {
    return Error{std::string(role_name(role)) + " refused: more than " + std::to_string(limit) + " bytes",
                 ErrorCode::kInvalidArgument};
  }
  return bytes;
}

}  // namespace

Status Updater::fail(RefusalKind kind, Status status) {
  last_refusal_ = kind;
  return status;
}

Status Updater::save(Role role, const Common& trusted, const std::string& bytes) {
  if (Status saved = store_.save(role, trusted.version, trusted.expires, bytes); !saved) {
    return fail(RefusalKind::kPersist,
                Error{"update check: " + std::string(role_name(role)) + " v" + std::to_string(trusted.version) +
                          " verified but not saved: " + saved.error(),
                      ErrorCode::kIo});
  }
  return Status::Ok();
}

Result<std::optional<std::string>> Updater::load(Role role) {
  Result<std::optional<std::string>> stored = store_.load(role);
  if (!stored) {
    last_refusal_ = RefusalKind::kPersist;
    return Error{"update check: cannot read the trusted " + std::string(role_name(role)) + ": " + stored.error(),
                 ErrorCode::kIo};
  }
  return stored;
}

Status Updater::refresh() {
  trusted_.reset();
  last_refusal_ = RefusalKind::kNone;
  const int64_t now_fixed = clock_();  // the one reading of the clock in this check
  Result<std::optional<std::string>> loaded = load(Role::kRoot);
  if (!loaded) return loaded.failure();
  std::optional<std::string> pinned = *loaded;
  if (!pinned) {
    return fail(RefusalKind::kFormat, Error{"update check: no pinned root (provision again)", ErrorCode::kNotFound});
  }
  Result<TrustedSet> set = TrustedSet::create(*pinned, now_fixed);
  if (!set) return fail(RefusalKind::kFormat, Error{"update check: " + set.error(), ErrorCode::kInvalidArgument});
  for (auto step :
       {&Updater::load_root_chain, &Updater::load_timestamp, &Updater::load_snapshot, &Updater::load_targets}) {
    if (Status loaded = (this->*step)(*set); !loaded) {
      if (last_refusal_ == RefusalKind::kNone) last_refusal_ = set->last_refusal();
      return loaded;
    }
  }
  trusted_ = std::move(*set);
  return Status::Ok();
}

Status Updater::load_root_chain(TrustedSet& set) {
  const Root before = set.root().body;
  for (int rotation = 0; rotation < limits_.max_root_rotations; ++rotation) {
    int64_t next = set.root().body.version + 1;
    Result<std::string> bytes = fetcher_.fetch(Role::kRoot, next, max_bytes(Role::kRoot));
    if (!bytes && bytes.code() == ErrorCode::kNotFound) break;  // the end of the chain
    if (!bytes) return fail(RefusalKind::kUnavailable, unreachable(bytes.failure()));
    if (Status updated = set.update_root(*bytes); !updated) return updated;
    if (Status saved = save(Role::kRoot, set.root().body, *bytes); !saved) return saved;
  }
  if (Status current = set.check_root_current(); !current) return current;
  // Fast-forward recovery: new timestamp or snapshot keys void the stored
  // copies, whose versions the new keys' owner may have restarted.
  const Root& after = set.root().body;
  if (!same_keys(before, after, Role::kTimestamp) || !same_keys(before, after, Role::kSnapshot)) {
    for (Role role : {Role::kTimestamp, Role::kSnapshot}) {
      if (Status erased = store_.erase(role); !erased) {
        return fail(RefusalKind::kPersist,
                    Error{"update check: cannot forget the old " + std::string(role_name(role)) + ": " + erased.error(),
                          ErrorCode::kIo});
      }
    }
  }
  return Status::Ok();
}

Status Updater::load_timestamp(TrustedSet& set) {
  // A stored copy that still verifies is the baseline for rollback checks;
  // one that does not is ignored.
  Result<std::optional<std::string>> stored = load(Role::kTimestamp);
  if (!stored) return stored.failure();
  if (*stored) set.update_timestamp(**stored).ok();
  Result<std::string> bytes = fetch_required(fetcher_, Role::kTimestamp, std::nullopt, max_bytes(Role::kTimestamp));
  if (!bytes)
    return fail(bytes.code() == ErrorCode::kUnavailable ? RefusalKind::kUnavailable : RefusalKind::kFormat,
                bytes.failure());
  bool equal_version = false;
  if (Status updated = set.update_timestamp(*bytes, &equal_version); !updated) return updated;
  if (equal_version) return Status::Ok();  // nothing new: the trusted copy stays, unchanged
  return save(Role::kTimestamp, set.timestamp()->body, *bytes);
}

Status Updater::load_snapshot(TrustedSet& set) {
  Result<std::optional<std::string>> stored = load(Role::kSnapshot);
  if (!stored) return stored.failure();
  if (*stored && set.update_snapshot(**stored, /*from_local_store=*/true)) return Status::Ok();
  const MetaFile& named = set.timestamp()->body.snapshot;
  // Bounded by the role's limit only: a length other than the one timestamp
  // gives is then refused as a mix-and-match, naming both.
  size_t limit = max_bytes(Role::kSnapshot);
  Result<std::string> bytes = fetch_required(fetcher_, Role::kSnapshot, named.version, limit);
  if (!bytes)
    return fail(bytes.code() == ErrorCode::kUnavailable ? RefusalKind::kUnavailable : RefusalKind::kFormat,
                bytes.failure());
  if (Status updated = set.update_snapshot(*bytes); !updated) return updated;
  return save(Role::kSnapshot, set.snapshot()->body, *bytes);
}

Status Updater::load_targets(TrustedSet& set) {
  Result<std::optional<std::string>> stored = load(Role::kTargets);
  if (!stored) return stored.failure();
  if (*stored && set.update_targets(**stored)) return Status::Ok();
  auto listed = set.snapshot()->body.meta.find("targets.json");
  if (listed == set.snapshot()->body.meta.end()) return set.update_targets("");  // names the missing entry
  size_t limit = max_bytes(Role::kTargets);
  Result<std::string> bytes = fetch_required(fetcher_, Role::kTargets, listed->second.version, limit);
  if (!bytes)
    return fail(bytes.code() == ErrorCode::kUnavailable ? RefusalKind::kUnavailable : RefusalKind::kFormat,
                bytes.failure());
  if (Status updated = set.update_targets(*bytes); !updated) return updated;
  return save(Role::kTargets, set.targets()->body, *bytes);
}

std::optional<TargetFile> Updater::find_target(const std::string& path) const {
  if (!trusted_ || !trusted_->targets()) return std::nullopt;
  const auto& targets = trusted_->targets()->body.targets;
  auto found = targets.find(path);
  if (found == targets.end()) return std::nullopt;
  return found->second;
}

Status verify_target_file(const std::filesystem::path& file, const TargetFile& target) {
  std::error_code error;
  auto size = std::filesystem::file_size(file, error);
  if (error) return Error{file.string() + ": " + error.message(), ErrorCode::kIo};
  if (static_cast<int64_t>(size) != target.length) {
    return Error{"length " + std::to_string(size) + " of the download, targets says " + std::to_string(target.length),
                 ErrorCode::kInvalidArgument};
  }
  bool known = false;
  for (const auto& [algorithm, expected] : target.hashes) {
    if (algorithm != "sha256" && algorithm != "sha512") {
      return Error{"hash algorithm '" + algorithm + "' unknown", ErrorCode::kInvalidArgument};
    }
    known = true;
    Result<std::string> actual = crypto::hash_file(file, algorithm, crypto::Symlinks::kRefuse);
    if (!actual) return Error{file.string() + ": " + actual.error(), ErrorCode::kIo};
    if (*actual != expected) {
      return Error{algorithm + " " + *actual + " of the download, targets says " + expected,
                   ErrorCode::kInvalidArgument};
    }
  }
  if (!known) return Error{"targets lists no hash for it", ErrorCode::kInvalidArgument};
  return Status::Ok();
}

}  // namespace vigil::tuf
