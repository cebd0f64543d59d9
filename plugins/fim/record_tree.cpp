#include "record_tree.h"

#include "vigil/text/hex.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <stdexcept>

namespace vigil::fim {
namespace {

constexpr std::string_view kTypes[] = {"", "file", "directory", "symlink", "other", "missing"};

uint16_t type_code(const std::string& type) {
  for (size_t code = 1; code < std::size(kTypes); ++code) {
    if (kTypes[code] == type) return static_cast<uint16_t>(code);
  }
  throw std::invalid_argument("a file record of unknown type '" + type + "'");
}

// The names grow by an eighth, not by doubling: little spare room at
// hundreds of thousands of files.
template <typename Container>
void make_room(Container& container, size_t more) {
  if (container.size() + more > container.capacity()) container.reserve(container.size() + more + container.size() / 8);
}

// Length first, so a field may hold any byte.
void put(std::string& out, std::string_view field) {
  auto size = static_cast<uint32_t>(field.size());
  out.append(reinterpret_cast<const char*>(&size), sizeof(size));
  out.append(field);
}

std::string_view take(std::string_view& in) {
  uint32_t size = 0;
  std::memcpy(&size, in.data(), sizeof(size));
  std::string_view field = in.substr(sizeof(size), size);
  in.remove_prefix(sizeof(size) + size);
  return field;
}

}  // namespace

RecordTree::RecordTree(const Manifest& manifest) : manifest_(manifest) {
  const EVP_MD* digest = EVP_get_digestbyname(manifest.algorithm.c_str());
  hash_size_ = digest != nullptr ? static_cast<size_t>(EVP_MD_get_size(digest)) : 0;
  nodes_.emplace_back();
  add_hash_slot();
}

void RecordTree::add_hash_slot() {
  if (nodes_.size() > hash_blocks_.size() * kHashesPerBlock) {
    hash_blocks_.push_back(std::make_unique<uint8_t[]>(kHashesPerBlock * hash_size_));
  }
}

uint8_t* RecordTree::hash_of(uint32_t id) const {
  return hash_blocks_[id / kHashesPerBlock].get() + (id % kHashesPerBlock) * hash_size_;
}

std::string_view RecordTree::name_of(uint32_t id) const {
  return {names_.data() + nodes_[id].name, nodes_[id].name_size};
}

size_t RecordTree::position(const std::vector<uint32_t>& ids, std::string_view name) const {
  auto at = std::lower_bound(ids.begin(), ids.end(), name,
                             [this](uint32_t id, std::string_view wanted) { return name_of(id) < wanted; });
  return static_cast<size_t>(at - ids.begin());
}

uint32_t RecordTree::child(uint32_t parent, std::string_view name) const {
  if (nodes_[parent].children == kNone) return kNone;
  const auto& ids = lists_[nodes_[parent].children];
  size_t at = position(ids, name);
  return at < ids.size() && name_of(ids[at]) == name ? ids[at] : kNone;
}

// "/" is the root; each '/' after the first starts a name ("/a//b/": a, "", b, "").
template <typename Next>
uint32_t RecordTree::descend(std::string_view path, Next next) {
  if (path.size() == 1) return 0;
  uint32_t id = 0;
  for (std::string_view rest = path.substr(1);;) {
    size_t slash = rest.find('/');
    id = next(id, rest.substr(0, slash));
    if (id == kNone || slash == std::string_view::npos) return id;
    rest.remove_prefix(slash + 1);
  }
}

uint32_t RecordTree::lookup(std::string_view path) const {
  if (path.empty() || path.front() != '/') return kNone;
  return descend(path, [this](uint32_t id, std::string_view name) { return child(id, name); });
}

uint32_t RecordTree::make(std::string_view path) {
  if (path.empty() || path.front() != '/') throw std::invalid_argument("not an absolute path: " + std::string(path));
  return descend(path, [this](uint32_t id, std::string_view name) {
    uint32_t found = child(id, name);
    return found != kNone ? found : add_node(id, name);
  });
}

uint32_t RecordTree::add_node(uint32_t parent, std::string_view name) {
  if (name.size() > UINT16_MAX || names_.size() + name.size() >= kNone) {
    throw std::length_error("the real-time baseline cannot hold a name this long");
  }
  uint32_t id = 0;
  if (!free_nodes_.empty()) {
    id = free_nodes_.back();
    free_nodes_.pop_back();
  } else {
    id = static_cast<uint32_t>(nodes_.size());
    nodes_.emplace_back();
    add_hash_slot();
  }
  make_room(names_, name.size());
  nodes_[id] = Node{};
  nodes_[id].parent = parent;
  nodes_[id].name = static_cast<uint32_t>(names_.size());
  nodes_[id].name_size = static_cast<uint16_t>(name.size());
  names_.append(name);
  if (nodes_[parent].children == kNone) {
    if (free_lists_.empty()) {
      nodes_[parent].children = static_cast<uint32_t>(lists_.size());
      lists_.emplace_back();
    } else {
      nodes_[parent].children = free_lists_.back();
      free_lists_.pop_back();
    }
  }
  auto& ids = lists_[nodes_[parent].children];
  ids.insert(ids.begin() + static_cast<std::ptrdiff_t>(position(ids, name)), id);
  return id;
}

// Takes `id` out of its parent's children.
void RecordTree::unlink(uint32_t id) {
  Node& parent = nodes_[nodes_[id].parent];
  auto& ids = lists_[parent.children];
  ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(position(ids, name_of(id))));
  if (ids.empty()) drop_list(parent);
}

void RecordTree::drop_list(Node& node) {
  std::vector<uint32_t>().swap(lists_[node.children]);  // its memory too
  free_lists_.push_back(node.children);
  node.children = kNone;
}

void RecordTree::free_node(uint32_t id) {
  unused_name_bytes_ += nodes_[id].name_size;
  nodes_[id].type = kFree;
  free_nodes_.push_back(id);
}

void RecordTree::clear_record(Node& node) {
  if (node.type != kNoRecord) --records_;
  release(node.extra);
  node.extra = 0;
  node.type = kNoRecord;
  node.hashed = 0;
}

// Frees `id` and the nodes above it that are left holding neither a record nor children.
void RecordTree::prune(uint32_t id) {
  while (id != 0 && nodes_[id].type == kNoRecord && nodes_[id].children == kNone) {
    uint32_t parent = nodes_[id].parent;
    unlink(id);
    free_node(id);
    id = parent;
  }
  if (unused_name_bytes_ > 65536 && unused_name_bytes_ * 2 > names_.size()) compact_names();
}

void RecordTree::compact_names() {
  std::string packed;
  packed.reserve(names_.size() - unused_name_bytes_);
  for (auto& node : nodes_) {
    if (node.type == kFree) continue;
    std::string_view name(names_.data() + node.name, node.name_size);
    node.name = static_cast<uint32_t>(packed.size());
    packed.append(name);
  }
  names_ = std::move(packed);
  unused_name_bytes_ = 0;
}

uint32_t RecordTree::intern(std::string text) {
  if (text.empty()) return 0;
  auto [it, fresh] = texts_.try_emplace(std::move(text));
  if (fresh) {
    if (free_texts_.empty()) {
      text_of_.push_back(&it->first);
      it->second.id = static_cast<uint32_t>(text_of_.size());
    } else {
      it->second.id = free_texts_.back();
      free_texts_.pop_back();
      text_of_[it->second.id - 1] = &it->first;
    }
  }
  ++it->second.uses;
  return it->second.id;
}

void RecordTree::release(uint32_t id) {
  if (id == 0) return;
  auto it = texts_.find(*text_of_[id - 1]);
  if (--it->second.uses > 0) return;
  text_of_[id - 1] = nullptr;
  free_texts_.push_back(id);
  texts_.erase(it);
}

const WatchedPath* RecordTree::watch_of(const Node& node) const {
  return node.watch == kNone ? nullptr : &manifest_.paths[node.watch];
}

FileRecord RecordTree::record_of(uint32_t id, std::string path) const {
  const Node& node = nodes_[id];
  FileRecord record;
  record.path = std::move(path);
  record.type = kTypes[node.type];
  record.size = node.size;
  record.mode = node.mode;
  record.uid = node.uid;
  record.gid = node.gid;
  record.mtime_ns = node.mtime_ns;
  record.ctime_ns = node.ctime_ns;
  record.inode = node.inode;
  record.links = node.links;
  record.watch = watch_of(node);
  if (node.hashed) {
    record.hash = vigil::to_hex(hash_of(id), hash_size_);
  }
  if (node.extra != 0) {
    std::string_view text = *text_of_[node.extra - 1];
    record.target = take(text);
    record.xattrs = take(text);
    record.acl = take(text);
    record.error = take(text);
    if (!node.hashed) record.hash = take(text);
  }
  return record;
}

void RecordTree::walk(uint32_t top, std::string path,
                      const std::function<void(uint32_t id, const std::string& path)>& visit) const {
  // Each entry: a node and the length of its parent's path (npos: `top`, whose path is given).
  std::vector<std::pair<uint32_t, size_t>> stack{{top, std::string::npos}};
  while (!stack.empty()) {
    auto [id, base] = stack.back();
    stack.pop_back();
    if (base != std::string::npos) {
      path.resize(base);
      path += '/';
      path += name_of(id);
    }
    visit(id, path);
    if (nodes_[id].children == kNone) continue;
    const auto& ids = lists_[nodes_[id].children];
    size_t below = id == 0 ? 0 : path.size();
    for (auto it = ids.rbegin(); it != ids.rend(); ++it) stack.emplace_back(*it, below);
  }
}

bool RecordTree::contains(std::string_view path) const {
  uint32_t id = lookup(path);
  return id != kNone && nodes_[id].type != kNoRecord;
}

std::optional<FileRecord> RecordTree::find(std::string_view path) const {
  uint32_t id = lookup(path);
  if (id == kNone || nodes_[id].type == kNoRecord) return std::nullopt;
  return record_of(id, std::string(path));
}

void RecordTree::set(const FileRecord& record) {
  uint16_t type = type_code(record.type);
  uint32_t watch = kNone;
  if (record.watch != nullptr) {
    const auto& paths = manifest_.paths;
    std::less<const WatchedPath*> before;
    if (before(record.watch, paths.data()) || !before(record.watch, paths.data() + paths.size())) {
      throw std::invalid_argument("the record of " + record.path + " points to a watch of another manifest");
    }
    watch = static_cast<uint32_t>(record.watch - paths.data());
  }
  uint8_t raw[EVP_MAX_MD_SIZE];
  bool hashed = vigil::from_hex(record.hash, raw, hash_size_);
  std::string extra;  // a hash that is not the algorithm's hex is kept as text
  if (!record.target.empty() || !record.xattrs.empty() || !record.acl.empty() || !record.error.empty() ||
      (!hashed && !record.hash.empty())) {
    put(extra, record.target);
    put(extra, record.xattrs);
    put(extra, record.acl);
    put(extra, record.error);
    put(extra, hashed ? "" : record.hash);
  }
  uint32_t id = make(record.path);
  uint32_t text = intern(std::move(extra));
  Node& node = nodes_[id];
  clear_record(node);
  ++records_;
  node.type = type;
  node.size = record.size;
  node.mode = record.mode & 07777;
  node.uid = record.uid;
  node.gid = record.gid;
  node.mtime_ns = record.mtime_ns;
  node.ctime_ns = record.ctime_ns;
  node.inode = record.inode;
  node.links = record.links;
  node.watch = watch;
  node.extra = text;
  node.hashed = hashed;
  if (hashed) std::memcpy(hash_of(id), raw, hash_size_);
}

void RecordTree::erase(std::string_view path) {
  uint32_t id = lookup(path);
  if (id == kNone || nodes_[id].type == kNoRecord) return;
  clear_record(nodes_[id]);
  prune(id);
}

std::vector<FileRecord> RecordTree::extract(std::string_view path) {
  uint32_t top = lookup(path);
  if (top == kNone || nodes_[top].type == kNoRecord) return {};
  std::vector<FileRecord> out;
  walk(top, std::string(path), [&](uint32_t id, const std::string& at) {
    if (nodes_[id].type != kNoRecord) out.push_back(record_of(id, at));
  });
  std::vector<uint32_t> stack{top};
  while (!stack.empty()) {
    uint32_t id = stack.back();
    stack.pop_back();
    Node& node = nodes_[id];
    clear_record(node);
    if (node.children != kNone) {
      const auto& ids = lists_[node.children];
      stack.insert(stack.end(), ids.begin(), ids.end());
      drop_list(node);
    }
    if (id != top) free_node(id);
  }
  prune(top);
  return out;
}

void RecordTree::visit(std::string_view tree, const std::function<void(const std::string& path, std::string_view type,
                                                                       const WatchedPath* watch)>& visitor) const {
  uint32_t top = lookup(tree);
  if (top == kNone) return;
  walk(top, std::string(tree), [&](uint32_t id, const std::string& path) {
    if (nodes_[id].type != kNoRecord) visitor(path, kTypes[nodes_[id].type], watch_of(nodes_[id]));
  });
}

std::vector<FileRecord> RecordTree::records() const {
  std::vector<FileRecord> out;
  out.reserve(records_);
  walk(0, "/", [&](uint32_t id, const std::string& path) {
    if (nodes_[id].type != kNoRecord) out.push_back(record_of(id, path));
  });
  std::sort(out.begin(), out.end(), [](const FileRecord& a, const FileRecord& b) { return a.path < b.path; });
  return out;
}

}  // namespace vigil::fim
