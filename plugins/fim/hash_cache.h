// The hashes of the last (or interrupted) baseline, kept in the plugin's
// state so the next scan rehashes only files whose size, mtime, ctime or
// inode changed: an interrupted baseline resumes instead of restarting.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "baseline.h"

namespace vigil::fim {

class HashCache {
 public:
  // Text made by `add`/`serialise`; anything malformed or of another algorithm is ignored.
  static HashCache parse(std::string_view text, const std::string& algorithm);

  // Fills the hash of each regular file whose metadata match a cached entry; returns how many.
  size_t fill(std::vector<FileRecord>& records) const;
  size_t size() const { return entries_.size(); }

  // One line per hashed file, after a header naming the algorithm.
  static std::string header(const std::string& algorithm);
  static std::string line(const FileRecord& record);  // "" for paths that cannot be kept (tab or newline)

 private:
  struct Entry {
    uint64_t size = 0, inode = 0;
    int64_t mtime_ns = 0, ctime_ns = 0;
    std::string hash;
  };
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace vigil::fim
