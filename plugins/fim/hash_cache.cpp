#include "hash_cache.h"

#include <algorithm>
#include <charconv>
#include <limits>

namespace vigil::fim {
namespace {

constexpr std::string_view kMagic = "vigil-fim-hashes 1 ";

template <class Number>
bool number(std::string_view field, Number& out) {
  auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), out);
  return error == std::errc() && end == field.data() + field.size();
}

}  // namespace

std::string HashCache::header(const std::string& algorithm) {
  return std::string(kMagic) + algorithm + "\n";
}

std::string HashCache::line(const FileRecord& record) {
  if (record.hash.empty() || record.path.find_first_of("\t\n") != std::string::npos) return "";
  return record.path + '\t' + std::to_string(record.size) + '\t' + std::to_string(record.mtime_ns) + '\t' +
         std::to_string(record.ctime_ns) + '\t' + std::to_string(record.inode) + '\t' + record.hash + '\n';
}

HashCache HashCache::parse(std::string_view text, const std::string& algorithm) {
  HashCache cache(algorithm);
  cache.add(text);
  return cache;
}

size_t HashCache::add(std::string_view text) {
  std::string expected = header(algorithm_);
  if (text.substr(0, text.find('\n') + 1) != expected) return 0;
  text.remove_prefix(expected.size());
  size_t first_new = entries_.size();
  while (!text.empty()) {
    size_t end = text.find('\n');
    if (end == std::string_view::npos) break;  // a torn last line
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end + 1);
    std::string_view fields[6];
    size_t count = 0;
    for (; count < 6 && !line.empty(); ++count) {
      size_t tab = count == 5 ? std::string_view::npos : line.find('\t');
      fields[count] = line.substr(0, tab);
      line = tab == std::string_view::npos ? std::string_view() : line.substr(tab + 1);
    }
    Entry entry;
    constexpr size_t kLongest = std::numeric_limits<uint16_t>::max();
    if (count != 6 || !number(fields[1], entry.size) || !number(fields[2], entry.mtime_ns) ||
        !number(fields[3], entry.ctime_ns) || !number(fields[4], entry.inode) || fields[5].empty() ||
        fields[0].size() > kLongest || fields[5].size() > kLongest) {
      continue;
    }
    if (text_.size() + fields[0].size() + fields[5].size() > std::numeric_limits<uint32_t>::max()) break;
    entry.text_at = static_cast<uint32_t>(text_.size());
    entry.path_size = static_cast<uint16_t>(fields[0].size());
    entry.hash_size = static_cast<uint16_t>(fields[5].size());
    text_.append(fields[0]).append(fields[5]);
    entries_.push_back(entry);
  }
  // Kept sorted by path (stable: of two entries for one path, the one added first comes first).
  auto by_path = [this](const Entry& a, const Entry& b) { return path_of(a) < path_of(b); };
  std::stable_sort(entries_.begin() + static_cast<std::ptrdiff_t>(first_new), entries_.end(), by_path);
  std::inplace_merge(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(first_new), entries_.end(),
                     by_path);
  return entries_.size() - first_new;
}

bool HashCache::fill(FileRecord& record) const {
  if (record.type != "file" || !record.hash.empty() || !record.error.empty()) return false;
  auto at = std::lower_bound(entries_.begin(), entries_.end(), record.path,
                             [this](const Entry& entry, const std::string& path) { return path_of(entry) < path; });
  // A scan that was interrupted may have left two entries for a path: any that matches will do.
  for (; at != entries_.end() && path_of(*at) == record.path; ++at) {
    if (at->size == record.size && at->mtime_ns == record.mtime_ns && at->ctime_ns == record.ctime_ns &&
        at->inode == record.inode) {
      record.hash.assign(text_, at->text_at + at->path_size, at->hash_size);
      return true;
    }
  }
  return false;
}

size_t HashCache::fill(std::vector<FileRecord>& records) const {
  size_t filled = 0;
  for (auto& record : records) filled += fill(record) ? 1 : 0;
  return filled;
}

HashCacheWriter::HashCacheWriter(std::string algorithm, std::string prefix, Store store, size_t chunk_bytes)
    : header_(HashCache::header(algorithm)),
      prefix_(std::move(prefix)),
      store_(std::move(store)),
      chunk_bytes_(chunk_bytes),
      text_(header_) {}

void HashCacheWriter::add(const FileRecord& record) {
  std::string line = HashCache::line(record);
  if (line.empty()) return;
  if (text_.size() + line.size() > chunk_bytes_ && text_.size() > header_.size()) {
    save();
    ++chunk_;
    text_ = header_;
  }
  text_ += line;
  unsaved_ = true;
}

void HashCacheWriter::save_if_due(std::chrono::steady_clock::duration every) {
  if (unsaved_ && std::chrono::steady_clock::now() - saved_ > every) save();
}

size_t HashCacheWriter::finish() {
  if (unsaved_ || chunk_ == 0) save();
  return chunk_ + 1;
}

void HashCacheWriter::save() {
  store_(prefix_ + std::to_string(chunk_), text_);
  unsaved_ = false;
  saved_ = std::chrono::steady_clock::now();
}

}  // namespace vigil::fim
