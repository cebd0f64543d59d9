// Internal to store/: runs a store operation and turns SQLite failures into
// Error values naming the store; makes one write durable.
#pragma once

#include "vigil/result/result.h"
#include "vigil/sqlite/sqlite.h"

namespace vigil {

template <class Fn>
auto guarded(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const sqlite::SqliteError& error) {
    return Error{std::string("state store: ") + error.what()};
  }
}

// synchronous=FULL for its lifetime, NORMAL again after: for the writes that
// must survive a power cut (trusted update metadata, plugin slots), while the
// rest of the store keeps the cheaper NORMAL. Taken under the store's mutex.
class DurableWrites {
 public:
  explicit DurableWrites(sqlite::Database& db) : db_(db) { db_.exec("PRAGMA synchronous=FULL"); }
  ~DurableWrites() { db_.exec("PRAGMA synchronous=NORMAL"); }
  DurableWrites(const DurableWrites&) = delete;
  DurableWrites& operator=(const DurableWrites&) = delete;

 private:
  sqlite::Database& db_;
};

}  // namespace vigil
