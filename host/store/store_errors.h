// Internal to store/: runs a store operation and turns SQLite failures into
// Error values naming the store.
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

}  // namespace vigil
