#include "baseline.h"

#include <acl/libacl.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <openssl/evp.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>

#include "vigil/crypto/digest.h"

namespace vigil::fim {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const YAML::Node& node, const std::string& what) {
  throw ManifestError("fim manifest:" + std::to_string(node.Mark().is_null() ? 0 : node.Mark().line + 1) + ": " + what);
}

std::string scalar(const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) fail(node, what + " must be a single value");
  return node.Scalar();
}

std::vector<std::string> strings(const YAML::Node& node, const std::string& what) {
  if (node.IsScalar()) return {node.Scalar()};
  if (!node.IsSequence()) fail(node, what + " must be a list");
  std::vector<std::string> out;
  for (const auto& item : node) out.push_back(scalar(item, what));
  return out;
}

const EVP_MD* digest_of(const std::string& algorithm) {
  if (algorithm == "sha256") return EVP_sha256();
  if (algorithm == "sha512") return EVP_sha512();
  if (algorithm == "blake2b512") return EVP_blake2b512();
  return nullptr;
}

bool excluded(const WatchedPath& watch, const std::string& path, const std::string& name) {
  for (const auto& pattern : watch.exclude) {
    const std::string& subject = pattern.front() == '/' ? path : name;
    if (::fnmatch(pattern.c_str(), subject.c_str(), FNM_PATHNAME) == 0) return true;
  }
  return false;
}

bool included(const WatchedPath& watch, const std::string& name) {
  if (watch.include.empty()) return true;
  return std::any_of(watch.include.begin(), watch.include.end(),
                     [&](const std::string& pattern) { return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0; });
}

FileRecord record_of(const std::string& path, const struct stat& info) {
  FileRecord record;
  record.path = path;
  record.type = S_ISREG(info.st_mode)   ? "file"
                : S_ISDIR(info.st_mode) ? "directory"
                : S_ISLNK(info.st_mode) ? "symlink"
                                        : "other";
  record.size = static_cast<uint64_t>(info.st_size);
  record.mode = info.st_mode & 07777;
  record.uid = info.st_uid;
  record.gid = info.st_gid;
  record.mtime_ns = int64_t{info.st_mtim.tv_sec} * 1000000000 + info.st_mtim.tv_nsec;
  record.ctime_ns = int64_t{info.st_ctim.tv_sec} * 1000000000 + info.st_ctim.tv_nsec;
  record.inode = info.st_ino;
  record.links = info.st_nlink;
  return record;
}

// Values may be binary and large (security.ima): a short digest stands for each.
std::string short_digest(const std::string& value) {
  return crypto::sha256_hex(value).substr(0, 16);
}

std::string xattrs_of(const fs::path& real, bool follow) {
  auto list = follow ? ::listxattr : ::llistxattr;
  auto get = follow ? ::getxattr : ::lgetxattr;
  std::string names;
  for (int attempt = 0; attempt < 3; ++attempt) {  // the list may grow between the two calls
    ssize_t size = list(real.c_str(), nullptr, 0);
    if (size <= 0) return "";  // none, or a filesystem without them (ENOTSUP): nothing to watch
    names.assign(static_cast<size_t>(size), '\0');
    size = list(real.c_str(), names.data(), names.size());
    if (size >= 0) {
      names.resize(static_cast<size_t>(size));
      break;
    }
    if (errno != ERANGE) return "";
    names.clear();
  }
  std::vector<std::string> parts;
  for (size_t at = 0; at < names.size();) {
    std::string name(names.c_str() + at);
    at += name.size() + 1;
    if (name.empty() || name.rfind("system.posix_acl_", 0) == 0) continue;  // ACLs: the `acl` attribute
    std::string value;
    ssize_t size = get(real.c_str(), name.c_str(), nullptr, 0);
    if (size > 0) {
      value.resize(static_cast<size_t>(size));
      size = get(real.c_str(), name.c_str(), value.data(), value.size());
    }
    parts.push_back(name + "=" + (size < 0 ? "?" : short_digest(value.substr(0, static_cast<size_t>(size)))));
  }
  std::sort(parts.begin(), parts.end());
  std::string joined;
  for (const auto& part : parts) joined += (joined.empty() ? "" : ",") + part;
  return joined;
}

std::string acl_text(const fs::path& real, acl_type_t type) {
  acl_t acl = ::acl_get_file(real.c_str(), type);
  if (acl == nullptr) return "";
  std::string text;
  if (type == ACL_TYPE_ACCESS || ::acl_entries(acl) > 0) {
    char* written = ::acl_to_any_text(acl, nullptr, ',', TEXT_ABBREVIATE | TEXT_NUMERIC_IDS);
    if (written != nullptr) text = written;
    ::acl_free(written);
  }
  ::acl_free(acl);
  return text;
}

// Only an ACL beyond what the mode bits say: the minimal one is the mode.
std::string acl_of(const fs::path& real, bool is_directory, bool follow) {
  if ((follow ? ::acl_extended_file : ::acl_extended_file_nofollow)(real.c_str()) != 1) return "";
  std::string text = acl_text(real, ACL_TYPE_ACCESS);
  if (is_directory) {
    std::string inherited = acl_text(real, ACL_TYPE_DEFAULT);
    if (!inherited.empty()) text += (text.empty() ? "default:" : " default:") + inherited;
  }
  return text;
}

}  // namespace

int level_below(const std::string& top, const std::string& path) {
  if (path == top) return 0;
  size_t start = top == "/" ? 1 : top.size() + 1;
  if (path.size() < start || path.compare(0, top.size(), top) != 0 || (top != "/" && path[top.size()] != '/'))
    return -1;
  return static_cast<int>(std::count(path.begin() + static_cast<std::ptrdiff_t>(start), path.end(), '/')) + 1;
}

fs::path on_disk(const fs::path& root, const std::string& path) {
  return root.empty() || root == "/" ? fs::path(path) : root / fs::path(path).relative_path();
}

const WatchedPath* covering(const Manifest& manifest, const std::string& path, bool is_directory) {
  for (const auto& watch : manifest.paths) {
    int level = level_below(watch.path, path);
    if (level < 0 || level > watch.depth) continue;
    if (level == 0) return &watch;
    bool skip = false;
    // Every level below the top is checked against the excludes, as the walk does.
    for (size_t slash = watch.path == "/" ? 0 : watch.path.size(); slash != std::string::npos && !skip;) {
      size_t next = path.find('/', slash + 1);
      std::string ancestor = path.substr(0, next);
      skip = excluded(watch, ancestor, ancestor.substr(slash + 1));
      slash = next;
    }
    if (skip) continue;
    if (!is_directory && !included(watch, path.substr(path.rfind('/') + 1))) continue;
    return &watch;
  }
  return nullptr;
}

bool walks_into(const WatchedPath& watch, const std::string& directory) {
  int level = level_below(watch.path, directory);
  return level >= 0 && level < watch.depth;
}

bool watches(const WatchedPath& watch, std::string_view attribute) {
  return std::find(watch.attributes.begin(), watch.attributes.end(), attribute) != watch.attributes.end();
}

std::optional<FileRecord> observe(const WatchedPath& watch, const fs::path& root, const std::string& path) {
  fs::path real = on_disk(root, path);
  struct stat info {};
  if ((watch.follow_symlinks ? ::stat : ::lstat)(real.c_str(), &info) != 0) return std::nullopt;
  FileRecord record = record_of(path, info);
  record.watch = &watch;
  if (record.type == "symlink") {
    std::error_code ignored;
    record.target = fs::read_symlink(real, ignored).string();
  }
  if (watches(watch, "xattrs")) record.xattrs = xattrs_of(real, watch.follow_symlinks);
  if (watches(watch, "acl") && record.type != "symlink")
    record.acl = acl_of(real, record.type == "directory", watch.follow_symlinks);
  return record;
}

bool content_may_differ(const FileRecord& known, const FileRecord& now) {
  return known.size != now.size || known.mtime_ns != now.mtime_ns || known.ctime_ns != now.ctime_ns ||
         known.inode != now.inode || known.type != now.type;
}

Manifest parse_manifest(std::string_view text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));  // one document: yaml-cpp's LoadAll is not safe on bad input
  } catch (const YAML::Exception& error) {
    throw ManifestError("fim manifest:" + std::to_string(error.mark.line + 1) + ": not valid YAML: " + error.msg);
  }
  try {
    Manifest manifest;
    if (!root.IsMap()) fail(root, "the manifest is a map with hash and paths");
    for (const auto& field : root) {
      std::string key = scalar(field.first, "a field name");
      const YAML::Node value = field.second;
      if (key == "hash") {
        manifest.algorithm = scalar(value, key);
        if (digest_of(manifest.algorithm) == nullptr) fail(value, "hash must be sha256, sha512 or blake2b512");
      } else if (key == "paths") {
        if (!value.IsSequence() || value.size() == 0) fail(value, "paths must be a non-empty list");
        for (const auto& item : value) {
          if (!item.IsMap()) fail(item, "each path is a map (path, depth, include, exclude, attributes, severity)");
          WatchedPath watch;
          for (const auto& entry : item) {
            std::string name = scalar(entry.first, "a field name");
            const YAML::Node setting = entry.second;
            if (name == "path") {
              watch.path = scalar(setting, name);
              if (watch.path.empty() || watch.path.front() != '/') fail(setting, "path must be absolute");
              while (watch.path.size() > 1 && watch.path.back() == '/') watch.path.pop_back();
            } else if (name == "depth") {
              try {
                watch.depth = std::stoi(scalar(setting, name));
              } catch (const std::exception&) {
                fail(setting, "depth must be a number");
              }
              if (watch.depth < 0 || watch.depth > 64) fail(setting, "depth must be 0-64");
            } else if (name == "include") {
              watch.include = strings(setting, name);
            } else if (name == "exclude") {
              watch.exclude = strings(setting, name);
              for (const auto& pattern : watch.exclude) {
                if (pattern.empty()) fail(setting, "an exclude pattern is empty");
              }
            } else if (name == "attributes") {
              static const std::set<std::string> kKnown = {"hash",  "size",  "mode",  "owner",  "group",
                                                           "mtime", "ctime", "inode", "xattrs", "acl"};
              watch.attributes = strings(setting, name);
              for (const auto& attribute : watch.attributes) {
                if (kKnown.count(attribute) == 0) fail(setting, "unknown attribute '" + attribute + "'");
              }
            } else if (name == "severity") {
              watch.severity = scalar(setting, name);
              if (watch.severity != "low" && watch.severity != "medium" && watch.severity != "high" &&
                  watch.severity != "critical") {
                fail(setting, "severity must be low, medium, high or critical");
              }
            } else if (name == "follow_symlinks") {
              std::string flag = scalar(setting, name);
              if (flag != "true" && flag != "false") fail(setting, "follow_symlinks must be true or false");
              watch.follow_symlinks = flag == "true";
            } else {
              fail(entry.first, "unknown field '" + name + "' in a path");
            }
          }
          if (watch.path.empty()) fail(item, "a watched path needs 'path'");
          manifest.paths.push_back(std::move(watch));
        }
      } else {
        fail(field.first, "unknown field '" + key + "' (hash, paths)");
      }
    }
    if (manifest.paths.empty()) fail(root, "the manifest watches no path");
    return manifest;
  } catch (const YAML::Exception& error) {
    throw ManifestError("fim manifest:" + std::to_string(error.mark.line + 1) + ": " + error.msg);
  }
}

void walk(const Manifest& manifest, const fs::path& root, const std::function<void(FileRecord&&)>& visit) {
  std::string prefix = root.empty() || root == "/" ? "" : root.string();
  for (const auto& watch : manifest.paths) {
    auto add = [&](const std::string& path, bool is_top) -> std::optional<FileRecord> {
      if (auto record = observe(watch, root, path)) return record;
      if (!is_top && errno == ENOENT) return std::nullopt;  // gone while walking
      FileRecord missing;
      missing.path = path;
      missing.type = "missing";
      missing.error = std::generic_category().message(errno);
      missing.watch = &watch;
      return missing;
    };
    fs::path top = on_disk(root, watch.path);
    auto first = add(watch.path, true);
    if (!first) continue;
    bool descend = first->type == "directory" && watch.depth > 0;
    visit(std::move(*first));
    if (!descend) continue;
    std::error_code error;
    auto options =
        watch.follow_symlinks ? fs::directory_options::follow_directory_symlink : fs::directory_options::none;
    fs::recursive_directory_iterator walker(top, options, error);
    for (; !error && walker != fs::recursive_directory_iterator(); walker.increment(error)) {
      std::string path = walker->path().string().substr(prefix.size());
      std::string name = walker->path().filename().string();
      bool is_directory = walker->is_directory(error) && !walker->is_symlink(error);
      error.clear();
      if (excluded(watch, path, name)) {
        if (is_directory) walker.disable_recursion_pending();
        continue;
      }
      if (walker.depth() + 1 >= watch.depth) walker.disable_recursion_pending();
      if (!is_directory && !included(watch, name)) continue;
      auto record = add(path, false);
      if (!record) continue;
      if (is_directory && ::access(walker->path().c_str(), R_OK | X_OK) != 0) {
        // Not readable: reported on its record, and the walk goes on elsewhere.
        record->error = "permission denied: its contents are not watched";
        walker.disable_recursion_pending();
      }
      visit(std::move(*record));
    }
  }
}

std::vector<FileRecord> collect(const Manifest& manifest, const fs::path& root) {
  std::vector<FileRecord> records;
  std::set<std::string> seen;  // watched paths may overlap: one record per path
  walk(manifest, root, [&](FileRecord&& record) {
    if (seen.insert(record.path).second) records.push_back(std::move(record));
  });
  std::sort(records.begin(), records.end(), [](const FileRecord& a, const FileRecord& b) { return a.path < b.path; });
  return records;
}

std::string hash_file(const fs::path& file, const std::string& algorithm) {
  auto hash = crypto::hash_file(file, algorithm, crypto::Symlinks::kRefuse);
  if (!hash.ok()) throw std::runtime_error(hash.error());
  return hash.value();
}

void hash_files(std::vector<FileRecord>& records, const fs::path& root, const std::string& algorithm, unsigned threads,
                const std::function<void(size_t done, size_t total)>& checkpoint,
                const std::function<void(const FileRecord&)>& on_hashed) {
  std::vector<FileRecord*> work;
  for (auto& record : records) {
    bool wanted = record.watch == nullptr || watches(*record.watch, "hash");
    if (record.type == "file" && record.error.empty() && record.hash.empty() && wanted) work.push_back(&record);
  }
  // Largest first, so the long hashes start early and the threads finish together.
  std::sort(work.begin(), work.end(), [](const FileRecord* a, const FileRecord* b) { return a->size > b->size; });
  std::atomic<size_t> next{0}, done{0};
  std::atomic<bool> stop{false};
  std::mutex reporting;
  // Takes the next file; false when none is left (or the scan stops).
  auto hash_next = [&] {
    size_t index = next++;
    if (stop || index >= work.size()) return false;
    FileRecord& record = *work[index];
    try {
      record.hash = hash_file(on_disk(root, record.path), algorithm);
    } catch (const std::runtime_error& problem) {
      record.error = problem.what();
    }
    if (on_hashed && record.error.empty()) {
      std::lock_guard lock(reporting);
      on_hashed(record);
    }
    ++done;
    return true;
  };
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < std::max(1u, threads); ++i) {
    pool.emplace_back([&] {
      while (hash_next()) {
      }
    });
  }
  try {
    // The calling thread hashes too, and checks in between.
    while (hash_next()) {
      if (checkpoint) checkpoint(done, work.size());
    }
  } catch (...) {
    stop = true;
    for (auto& thread : pool) thread.join();
    throw;
  }
  for (auto& thread : pool) thread.join();
  if (checkpoint) checkpoint(done, work.size());
}

}  // namespace vigil::fim
