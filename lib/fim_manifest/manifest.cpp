// The FIM manifest: parsed strictly, and the rules of what it covers.
#include "vigil/fim_manifest/manifest.h"

#include <fnmatch.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

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

}  // namespace

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
        if (manifest.algorithm != "sha256" && manifest.algorithm != "sha512" && manifest.algorithm != "blake2b512") {
          fail(value, "hash must be sha256, sha512 or blake2b512");
        }
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

}  // namespace vigil::fim
