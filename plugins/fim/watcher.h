// Kernel change notifications for the FIM monitor, as paths on the inspected
// system. Two sources, each with one mark or watch per watched directory:
// fanotify (needs CAP_SYS_ADMIN and FAN_RENAME, Linux 5.17+; gives the process
// behind each change; bounded by fs.fanotify.max_user_marks) and inotify
// (bounded by fs.inotify.max_user_watches).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace vigil::fim {

struct Change {
  enum Kind {
    kCreated,     // a name appeared (file, directory, link)
    kModified,    // content written (the writer may still be at it)
    kClosed,      // a writer closed the file: its content is complete
    kAttributes,  // mode, owner, times, links, xattrs
    kDeleted,     // a name went away
    kMovedFrom,   // inotify: first half of a rename (paired by cookie)
    kMovedTo,     // inotify: second half
    kRenamed,     // fanotify: both names at once (path → new_path; path "" when moved in from elsewhere)
    kOverflow,    // the kernel queue overflowed: changes were lost
    kLost,        // a directory's watch went away while the directory may still exist
  };
  Kind kind = kModified;
  std::string path;  // on the inspected system
  std::string new_path;
  uint32_t cookie = 0;
  bool is_directory = false;
  int32_t pid = 0;      // fanotify: the process that made the change
  std::string process;  // its executable, when still readable
  int64_t uid = -1;     // its user, when still readable

  static Change of(Kind kind, std::string path = "") {
    Change change;
    change.kind = kind;
    change.path = std::move(path);
    return change;
  }
};

class Watcher {
 public:
  virtual ~Watcher() = default;
  virtual const char* name() const = 0;
  // The descriptor to poll for readability.
  virtual int fd() const = 0;
  // Starts reporting changes of `directory`'s entries (and of itself). "" or why not.
  virtual std::string watch_directory(const std::string& directory) = 0;
  // Stops reporting `directory` and everything under it (gone or moved out).
  virtual void forget_tree(const std::string& directory) = 0;
  // Reads whatever the kernel has queued, without blocking; returns how many
  // records the kernel queued (for paths watched or not).
  virtual size_t read(std::vector<Change>& out) = 0;
  // Watches (inotify) or marks (fanotify) in use / allowed.
  virtual size_t watches() const = 0;
  virtual size_t watch_limit() const = 0;
};

// nullptr with `why_not` set when the source cannot run here.
std::unique_ptr<Watcher> make_fanotify_watcher(const std::filesystem::path& root, std::string& why_not);
std::unique_ptr<Watcher> make_inotify_watcher(const std::filesystem::path& root, std::string& why_not);

}  // namespace vigil::fim
