// The hashes of the last (or interrupted) baseline, kept in the plugin's
// state so the next scan rehashes only files whose size, mtime, ctime or
// inode changed: an interrupted baseline resumes instead of restarting.
// The state holds it in chunks of about a megabyte (HashCacheWriter), and the
// cache in memory is one sorted array over one text pool, about 110 bytes a
// file, so a baseline of millions of files is never one huge string.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "baseline.h"

namespace vigil::fim {

class HashCache {
 public:
  explicit HashCache(std::string algorithm) : algorithm_(std::move(algorithm)) {}

  // One text made by `header` + `line`s. A text of another algorithm, and any
  // malformed or torn line, is skipped: the cache only ever saves work.
  static HashCache parse(std::string_view text, const std::string& algorithm);
  // Adds the entries of one such text; returns how many.
  size_t add(std::string_view text);

  // Sets the hash of a regular file whose metadata match a cached entry; true when it did.
  bool fill(FileRecord& record) const;
  size_t fill(std::vector<FileRecord>& records) const;
  size_t size() const { return entries_.size(); }

  static std::string header(const std::string& algorithm);
  static std::string line(const FileRecord& record);  // "" for paths that cannot be kept (tab or newline)

 private:
  struct Entry {
    uint64_t size = 0, inode = 0;
    int64_t mtime_ns = 0, ctime_ns = 0;
    uint32_t text_at = 0;  // in text_: the path, then the hash
    uint16_t path_size = 0, hash_size = 0;
  };
  std::string_view path_of(const Entry& entry) const { return {text_.data() + entry.text_at, entry.path_size}; }

  std::string algorithm_;
  std::vector<Entry> entries_;  // sorted by path
  std::string text_;
};

// Writes a baseline's hashes into the plugin's state as it is made: keys
// `<prefix>0`, `<prefix>1`, ... of about `chunk_bytes` each, the one being
// filled rewritten every few seconds so an interrupted scan keeps its work.
class HashCacheWriter {
 public:
  using Store = std::function<void(const std::string& key, const std::string& value)>;
  HashCacheWriter(std::string algorithm, std::string prefix, Store store, size_t chunk_bytes = size_t{1} << 20);

  void add(const FileRecord& record);
  // Saves the chunk being filled when it was last saved more than `every` ago.
  void save_if_due(std::chrono::steady_clock::duration every = std::chrono::seconds(5));
  // Saves the last chunk; returns how many chunks this baseline has (later keys are stale).
  size_t finish();

 private:
  void save();

  std::string header_, prefix_;
  Store store_;
  size_t chunk_bytes_;
  size_t chunk_ = 0;
  std::string text_;
  bool unsaved_ = false;
  std::chrono::steady_clock::time_point saved_ = std::chrono::steady_clock::now();
};

}  // namespace vigil::fim
