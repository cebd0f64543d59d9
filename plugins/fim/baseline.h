// File Integrity Monitoring, the baseline: the files a manifest watches
// (vigil/fim_manifest/manifest.h says which) and what they are now (metadata and content hash). Walking never follows
// symlinks (a symlink is recorded as one, with its target) unless asked, and
// hashing runs on several threads with large reads through OpenSSL EVP.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/fim_manifest/manifest.h"

namespace vigil::fim {

struct FileRecord {
  std::string path;  // as on the inspected system
  std::string type;  // file | directory | symlink | other
  uint64_t size = 0;
  uint32_t mode = 0, uid = 0, gid = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;
  uint64_t inode = 0, links = 0;
  std::string target;  // symlinks
  std::string xattrs;  // extended attributes but ACLs: "name=<16 hex of the value's SHA-256>,..." sorted
  std::string acl;     // an ACL beyond the mode bits, as text ("u::rw-,u:1000:r--,...", "default:..." for directories)
  std::string hash;    // regular files, hex
  std::string error;   // why it could not be read (the record stays: reported, not fatal)
  const WatchedPath* watch = nullptr;
};

// Calls `visit` for every file, directory and symlink the manifest covers
// under `root` (no hash yet), as the walk finds them: nothing is held. Where
// watched trees overlap, a path comes once for each watch that reaches it;
// the first is the one to keep.
void walk(const Manifest& manifest, const std::filesystem::path& root, const std::function<void(FileRecord&&)>& visit);

// Every record of `walk`, one per path, sorted by path (tests and benchmarks;
// a scan streams through `walk`).
std::vector<FileRecord> collect(const Manifest& manifest, const std::filesystem::path& root);

// Hashes the regular files of `records` that have no hash yet, on `threads`
// threads; `checkpoint` is called between files from the calling thread (it
// may throw to stop); `on_hashed` after each file, one at a time, from any of them.
void hash_files(std::vector<FileRecord>& records, const std::filesystem::path& root, const std::string& algorithm,
                unsigned threads, const std::function<void(size_t done, size_t total)>& checkpoint,
                const std::function<void(const FileRecord&)>& on_hashed = nullptr);

// `path`'s record now (no hash), or nullopt when it does not exist.
std::optional<FileRecord> observe(const WatchedPath& watch, const std::filesystem::path& root, const std::string& path);

// True when the file's content may differ from `known` (any of size, mtime, ctime, inode differ).
bool content_may_differ(const FileRecord& known, const FileRecord& now);

// One file's digest (hex) with `algorithm`; throws std::runtime_error naming the file.
std::string hash_file(const std::filesystem::path& file, const std::string& algorithm);

}  // namespace vigil::fim
