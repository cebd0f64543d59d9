// The directories a watcher placed a kernel watch or mark on, by the kernel's
// id for it (an inotify watch descriptor, a fanotify file handle) and by path.
// Watches follow a directory's inode, so a directory renamed inside the
// watched trees keeps them and only the path names change.
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace vigil::fim {

inline bool is_at_or_below(const std::string& path, const std::string& directory) {
  return path == directory || (path.size() > directory.size() && path.compare(0, directory.size(), directory) == 0 &&
                               (directory == "/" || path[directory.size()] == '/'));
}

template <typename Id>
class WatchedDirectories {
 public:
  size_t size() const { return by_path_.size(); }

  // nullptr when the kernel reports an id we no longer know (forgotten meanwhile).
  const std::string* path_of(const Id& id) const {
    auto known = by_id_.find(id);
    return known == by_id_.end() ? nullptr : &known->second;
  }

  void add(const Id& id, const std::string& path) {
    auto known = by_id_.find(id);
    if (known != by_id_.end()) by_path_.erase(known->second);  // same inode, new name
    by_id_[id] = path;
    by_path_[path] = id;
  }

  // Forgets `directory` and everything below it; returns their ids.
  std::vector<Id> take_tree(const std::string& directory) {
    std::vector<Id> taken;
    for (auto it = by_path_.lower_bound(directory); it != by_path_.end() && is_at_or_below(it->first, directory);) {
      by_id_.erase(it->second);
      taken.push_back(std::move(it->second));
      it = by_path_.erase(it);
    }
    return taken;
  }

  // Forgets one id (the kernel dropped it); returns its path.
  std::string take(const Id& id) {
    auto known = by_id_.find(id);
    if (known == by_id_.end()) return "";
    std::string path = std::move(known->second);
    by_id_.erase(known);
    by_path_.erase(path);
    return path;
  }

  // A watched directory moved from `from` to `to`: its ids (and those of
  // everything below) now stand for the new names.
  void rename_tree(const std::string& from, const std::string& to) {
    take_tree(to);  // a directory renamed over an empty one replaced it
    std::vector<std::pair<std::string, Id>> moved;
    for (auto it = by_path_.lower_bound(from); it != by_path_.end() && is_at_or_below(it->first, from);) {
      moved.emplace_back(to + it->first.substr(from.size()), std::move(it->second));
      it = by_path_.erase(it);
    }
    for (auto& [path, id] : moved) {
      by_id_[id] = path;
      by_path_[path] = std::move(id);
    }
  }

 private:
  std::unordered_map<Id, std::string> by_id_;
  std::map<std::string, Id> by_path_;
};

}  // namespace vigil::fim
