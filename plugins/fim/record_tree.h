// The real-time monitor's baseline in memory, kept small because it holds
// every watched file: a tree of path components (each name stored once, with
// its directory as an index), fixed-width fields, the hash as raw bytes, and
// the texts most files lack (symlink target, xattrs, ACL, error) interned as
// one shared entry. Records go in and out as FileRecord.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "baseline.h"

namespace vigil::fim {

class RecordTree {
 public:
  // Records' `watch` must point into `manifest` (or be null); its algorithm sets the hash size.
  explicit RecordTree(const Manifest& manifest);

  size_t size() const { return records_; }
  bool contains(std::string_view path) const;
  std::optional<FileRecord> find(std::string_view path) const;
  // Adds or replaces the record of `record.path` (absolute).
  void set(const FileRecord& record);
  // Removes the record of `path` alone (those below it stay).
  void erase(std::string_view path);
  // Removes the record of `path` and every record below it and returns them,
  // parents before their entries (`path` first). Empty when `path` has no record.
  std::vector<FileRecord> extract(std::string_view path);
  // Calls `visitor` (which must not change the tree) for the record of `tree`
  // and each one below it, parents before their entries.
  void visit(std::string_view tree,
             const std::function<void(const std::string& path, std::string_view type, const WatchedPath* watch)>&
                 visitor) const;
  // Every record, sorted by path.
  std::vector<FileRecord> records() const;

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  enum Type : uint16_t { kNoRecord, kFile, kDirectory, kSymlink, kOther, kMissing, kFree };
  struct Node {
    uint64_t size = 0, inode = 0, links = 0;
    int64_t mtime_ns = 0, ctime_ns = 0;
    uint32_t parent = kNone;
    uint32_t name = 0;          // offset in names_
    uint32_t children = kNone;  // index in lists_
    uint32_t extra = 0;         // interned texts, 0: none
    uint32_t uid = 0, gid = 0;
    uint32_t watch = kNone;  // index in the manifest's paths
    uint16_t name_size = 0;
    uint16_t mode : 12 = 0;  // st_mode & 07777
    uint16_t type : 3 = kNoRecord;
    uint16_t hashed : 1 = 0;  // the raw hash in hashes_ is set
  };
  static_assert(sizeof(Node) == 72);
  struct Interned {
    uint32_t id = 0, uses = 0;
  };

  std::string_view name_of(uint32_t id) const;
  // Where `name` is, or would go, in `ids` (sorted by name).
  size_t position(const std::vector<uint32_t>& ids, std::string_view name) const;
  uint32_t child(uint32_t parent, std::string_view name) const;
  template <typename Next>
  static uint32_t descend(std::string_view path, Next next);
  uint32_t lookup(std::string_view path) const;  // kNone: no node
  uint32_t make(std::string_view path);          // adds the nodes missing on the way
  uint32_t add_node(uint32_t parent, std::string_view name);
  void unlink(uint32_t id);
  void drop_list(Node& node);
  void free_node(uint32_t id);
  void clear_record(Node& node);
  void prune(uint32_t id);
  void compact_names();
  uint32_t intern(std::string text);
  void release(uint32_t id);
  const WatchedPath* watch_of(const Node& node) const;
  void add_hash_slot();  // for the node just added
  uint8_t* hash_of(uint32_t id) const;
  FileRecord record_of(uint32_t id, std::string path) const;
  // Calls visit(id, its path) for `top` (at `path`) and each node below it, parents first.
  void walk(uint32_t top, std::string path,
            const std::function<void(uint32_t id, const std::string& path)>& visit) const;

  const Manifest& manifest_;
  size_t hash_size_;  // bytes of the algorithm's digest
  // Nodes and hashes grow in blocks, never moved: a vector's reallocation
  // would hold the old and the new copy at once, doubling the peak.
  static constexpr size_t kHashesPerBlock = 4096;
  std::deque<Node> nodes_;  // [0]: "/"
  std::vector<uint32_t> free_nodes_;
  std::vector<std::unique_ptr<uint8_t[]>> hash_blocks_;  // hash_size_ bytes per node
  std::string names_;
  size_t unused_name_bytes_ = 0;              // of names_, left by removed nodes
  std::vector<std::vector<uint32_t>> lists_;  // a node's children, sorted by name
  std::vector<uint32_t> free_lists_;
  std::unordered_map<std::string, Interned> texts_;
  std::vector<const std::string*> text_of_;  // id - 1 → key in texts_ (nodes stay put)
  std::vector<uint32_t> free_texts_;
  size_t records_ = 0;
};

}  // namespace vigil::fim
