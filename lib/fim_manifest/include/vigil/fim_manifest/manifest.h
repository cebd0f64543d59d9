// The FIM module's manifest (docs/file-integrity-monitoring.md) and its rules
// for which paths it covers: shared by the FIM plugin and by the host's
// canary, which must pick a file the module watches.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::fim {

class ManifestError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct WatchedPath {
  std::string path;                  // absolute, on the inspected system
  int depth = 64;                    // levels below `path` that are walked
  std::vector<std::string> include;  // globs on the file name; empty = every file
  std::vector<std::string> exclude;  // globs on the name, or on the full path when they start with '/'
  std::vector<std::string> attributes = {"hash",  "size",  "mode",  "owner",  "group",
                                         "mtime", "ctime", "inode", "xattrs", "acl"};
  std::string severity = "medium";
  bool follow_symlinks = false;
};

struct Manifest {
  std::string algorithm = "sha256";  // sha256 | sha512 | blake2b512
  std::vector<WatchedPath> paths;
};

// YAML (docs/file-integrity-monitoring.md); throws ManifestError "fim manifest:LINE: what".
Manifest parse_manifest(std::string_view text);

// The watch that covers `path` (first in manifest order), with the walk's
// rules: depth, excludes on every level, includes on non-directories. null: none.
const WatchedPath* covering(const Manifest& manifest, const std::string& path, bool is_directory);
// Levels of `path` below `top` (0: itself), or -1 when it is not inside.
int level_below(const std::string& top, const std::string& path);
// True when the walk enters `directory` of `watch` (its entries are covered).
bool walks_into(const WatchedPath& watch, const std::string& directory);

// True when `watch` watches `attribute` (hash, size, mode, ... xattrs, acl).
bool watches(const WatchedPath& watch, std::string_view attribute);

// True when an exclude pattern of `watch` matches `name` (or `path`, for a
// pattern that starts with '/').
bool excluded(const WatchedPath& watch, const std::string& path, const std::string& name);
// True when `watch` has no include pattern or one matches `name`.
bool included(const WatchedPath& watch, const std::string& name);

// Where `path` of the inspected system is on this machine.
std::filesystem::path on_disk(const std::filesystem::path& root, const std::string& path);

}  // namespace vigil::fim
