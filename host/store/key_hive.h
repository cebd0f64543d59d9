// The key hive in the state store: values under paths like
// "ScanOnDemand/Inventory", which vigilctl keys and the scheduler read and
// write. A part of StateStore (state_store.h): store.hive().
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

// Key hive layout: ScanOnDemand/<KeyName>/{CpuLimit,ScanOnDemand,ScanOnStartup}.
inline constexpr const char* kHiveRoot = "ScanOnDemand";

struct HiveValue {
  std::string path;
  std::string name;
  std::string value;
};

class KeyHive {
 public:
  KeyHive(std::mutex& mutex, sqlite::Database& db) : mutex_(mutex), db_(db) {}
  KeyHive(const KeyHive&) = delete;
  KeyHive& operator=(const KeyHive&) = delete;

  Result<std::optional<std::string>> get(std::string_view path, std::string_view name);
  Status set(std::string_view path, std::string_view name, std::string_view value);
  // Sets the value only when it does not exist yet; true when it was created.
  Result<bool> create(std::string_view path, std::string_view name, std::string_view value);
  // Every value whose path starts with `path_prefix`, ordered by path and name.
  Result<std::vector<HiveValue>> list(std::string_view path_prefix);
  // Deletes every value of `path`; returns how many.
  Result<int64_t> remove(std::string_view path);

 private:
  std::mutex& mutex_;
  sqlite::Database& db_;
};

}  // namespace vigil
