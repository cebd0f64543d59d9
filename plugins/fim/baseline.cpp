#include "baseline.h"

#include <acl/libacl.h>
#include <fcntl.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

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
