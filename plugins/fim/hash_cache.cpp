#include "hash_cache.h"

#include <charconv>

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
  HashCache cache;
  if (text.substr(0, text.find('\n') + 1) != header(algorithm)) return cache;
  text.remove_prefix(text.find('\n') + 1);
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
    if (count != 6 || !number(fields[1], entry.size) || !number(fields[2], entry.mtime_ns) ||
        !number(fields[3], entry.ctime_ns) || !number(fields[4], entry.inode) || fields[5].empty()) {
      continue;
    }
    entry.hash = std::string(fields[5]);
    cache.entries_[std::string(fields[0])] = std::move(entry);
  }
  return cache;
}

size_t HashCache::fill(std::vector<FileRecord>& records) const {
  size_t filled = 0;
  for (auto& record : records) {
    if (record.type != "file" || !record.hash.empty() || !record.error.empty()) continue;
    auto found = entries_.find(record.path);
    if (found == entries_.end()) continue;
    const Entry& entry = found->second;
    if (entry.size == record.size && entry.mtime_ns == record.mtime_ns && entry.ctime_ns == record.ctime_ns &&
        entry.inode == record.inode) {
      record.hash = entry.hash;
      ++filled;
    }
  }
  return filled;
}

}  // namespace vigil::fim
