// The update metadata this agent trusts (TUF roles root, timestamp, snapshot,
// targets; docs/design/self-patch.md): the newest verified document of each,
// as the bytes received. A part of StateStore (state_store.h):
// store.update_metadata().
//
// Each save is written with synchronous=FULL: a trusted version lost in a
// power cut would let an older one be accepted again (a rollback).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "vigil/result/result.h"

namespace vigil {

namespace sqlite {
class Database;
}

struct StoredMetadata {
  std::string role;
  int64_t version = 0;
  int64_t expires = 0;  // seconds since the epoch
};

class UpdateMetadata {
 public:
  UpdateMetadata(std::mutex& mutex, sqlite::Database& db) : mutex_(mutex), db_(db) {}
  UpdateMetadata(const UpdateMetadata&) = delete;
  UpdateMetadata& operator=(const UpdateMetadata&) = delete;

  Result<std::optional<std::string>> load(const std::string& role);
  Status save(const std::string& role, int64_t version, int64_t expires, const std::string& bytes);
  Status erase(const std::string& role);
  // Forgets every role (a new platform's root is pinned in its place).
  Status clear();
  // Role, version and expiry of each stored document, by role name.
  Result<std::vector<StoredMetadata>> summary();

 private:
  std::mutex& mutex_;
  sqlite::Database& db_;
};

}  // namespace vigil
