// One update check after TUF's client workflow: fix the time, follow the root
// chain from the pinned root, then timestamp, snapshot and targets, each
// verified before it is stored. The store and the transport are the caller's
// (the agent keeps metadata in its state store and fetches it from the
// platform; tests use a repository in memory).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "vigil/result/result.h"
#include "vigil/tuf/metadata.h"
#include "vigil/tuf/trusted_set.h"

namespace vigil::tuf {

// Where trusted metadata persists between checks: the newest of each role, as
// the bytes received.
class TrustedStore {
 public:
  virtual ~TrustedStore() = default;
  // Nothing stored is an empty optional; a read that fails is an error (it
  // fails the check: a lost timestamp would lower the rollback floor).
  virtual Result<std::optional<std::string>> load(Role role) = 0;
  // A check fails when a verified document cannot be saved: trusting what is
  // not persisted would re-open a rollback after a restart.
  virtual Status save(Role role, int64_t version, int64_t expires, const std::string& bytes) = 0;
  virtual Status erase(Role role) = 0;
};

// Fetches a role's document of `version` (timestamp: always the newest, no
// version), at most `max_bytes`. A version that does not exist is kNotFound.
class Fetcher {
 public:
  virtual ~Fetcher() = default;
  virtual Result<std::string> fetch(Role role, std::optional<int64_t> version, size_t max_bytes) = 0;
};

// Seconds since the epoch; read once per check.
using Clock = std::function<int64_t()>;

struct UpdaterLimits {
  int max_root_rotations = 32;
};

class Updater {
 public:
  Updater(TrustedStore& store, Fetcher& fetcher, Clock clock, UpdaterLimits limits = {})
      : store_(store), fetcher_(fetcher), clock_(std::move(clock)), limits_(limits) {}

  // One update check. Any failure leaves the store as last persisted:
  // kInvalidArgument = metadata refused, kUnavailable = could not fetch,
  // kIo = could not persist; last_refusal() says which kind.
  Status refresh();

  // The metadata trusted by the last successful refresh.
  const TrustedSet* trusted() const { return trusted_ ? &*trusted_ : nullptr; }
  RefusalKind last_refusal() const { return last_refusal_; }

  // A target of the trusted targets by path, after a successful refresh.
  std::optional<TargetFile> find_target(const std::string& path) const;

 private:
  Status load_root_chain(TrustedSet& set);
  Status load_timestamp(TrustedSet& set);
  Status load_snapshot(TrustedSet& set);
  Status load_targets(TrustedSet& set);
  Status save(Role role, const Common& trusted, const std::string& bytes);
  Result<std::optional<std::string>> load(Role role);
  Status fail(RefusalKind kind, Status status);

  TrustedStore& store_;
  Fetcher& fetcher_;
  Clock clock_;
  UpdaterLimits limits_;
  std::optional<TrustedSet> trusted_;
  RefusalKind last_refusal_ = RefusalKind::kNone;
};

// Checks a downloaded target file against its entry in targets: its length
// and every listed hash (at least one known; an unknown algorithm refuses).
// The text names what differs: "sha256 0a1b… of the download, targets says 9f8e…".
Status verify_target_file(const std::filesystem::path& file, const TargetFile& target);

}  // namespace vigil::tuf
