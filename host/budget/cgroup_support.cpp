// Probing the cgroup v2 hierarchy for what can hold commands to budgets.
#include "budget/cgroup_support.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <map>
#include <sstream>
#include <vector>

#include "base/error_text.h"
#include "budget/cgroup_files.h"
#include "budget/command_cgroup.h"
#include "budget/spawn.h"

namespace vigil::budget {
namespace {

namespace fs = std::filesystem;

constexpr const char* kControllers[] = {"cpu", "memory", "pids"};

// mountinfo escapes blanks and backslashes in paths as \ooo.
std::string unescape(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && std::isdigit(static_cast<unsigned char>(field[i + 1]))) {
      out += static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

struct Mount {
  std::string point;
  std::vector<std::string> mount_options;
  std::string type;
  std::vector<std::string> super_options;
};

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::istringstream in(text);
  for (std::string part; std::getline(in, part, separator);) parts.push_back(part);
  return parts;
}

std::vector<std::string> words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::vector<Mount> cgroup_mounts(const std::string& mountinfo) {
  std::vector<Mount> mounts;
  std::istringstream lines(mountinfo);
  for (std::string line; std::getline(lines, line);) {
    auto fields = words(line);
    auto dash = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() < 6 || dash == fields.end() || fields.end() - dash < 4) continue;
    Mount mount{unescape(fields[4]), split(fields[5], ','), *(dash + 1), split(*(dash + 3), ',')};
    if (mount.type == "cgroup2" || mount.type == "cgroup") mounts.push_back(std::move(mount));
  }
  return mounts;
}

// The cgroup v2 path of this process ("0::/path"), or empty.
std::string own_cgroup(const std::string& self_cgroup) {
  std::istringstream lines(self_cgroup);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return {};
}

// clone3 with CLONE_INTO_CGROUP, which starts a command inside its cgroup, came with 5.7.
bool kernel_at_least_5_7(const std::string& release) {
  int major = 0;
  int minor = 0;
  if (std::sscanf(release.c_str(), "%d.%d", &major, &minor) != 2) return false;
  return major > 5 || (major == 5 && minor >= 7);
}

Support signals(const std::string& why) {
  Support support;
  support.description = "signals: " + why;
  return support;
}

// Why `controller` is missing from `parent`'s cgroup.controllers.
std::string missing_reason(const std::string& controller, const fs::path& parent, const std::vector<Mount>& mounts) {
  for (const Mount& mount : mounts) {
    if (mount.type == "cgroup" && contains(mount.super_options, controller)) {
      return controller + " controller bound to cgroup v1 at " + mount.point;
    }
  }
  return controller + " controller not offered in " + (parent / "cgroup.controllers").string();
}

// Seccomp may refuse clone3 and the hierarchy may refuse us a migration: try once.
Status start_trial(const fs::path& base) {
  fs::path trial = base / ("trial-" + std::to_string(::getpid()));
  if (::mkdir(trial.c_str(), 0755) != 0 && errno != EEXIST) {
    return Error{"cannot create " + trial.string() + ": " + error_text(errno)};
  }
  int fd = ::open(trial.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  Status started =
      fd < 0 ? Status(Error{"cannot open " + trial.string() + ": " + error_text(errno)}) : can_start_in(fd);
  if (fd >= 0) ::close(fd);
  ::rmdir(trial.c_str());
  return started;
}

}  // namespace

std::string mode_name(Mode mode) {
  return mode == Mode::kCgroup ? "cgroup" : "signals";
}

std::string cpu_max_value(int percent) {
  if (percent >= 100) return "max 100000";
  return std::to_string(std::max(percent, 1) * 1000) + " 100000";
}

Support probe(const ProbeInput& input) {
  auto mounts = cgroup_mounts(input.mountinfo);
  auto v2 = std::find_if(mounts.begin(), mounts.end(), [](const Mount& mount) { return mount.type == "cgroup2"; });
  if (v2 == mounts.end()) return signals("no cgroup v2 mounted (/proc/self/mountinfo)");
  fs::path root = v2->point;
  if (contains(v2->mount_options, "ro")) return signals("cgroup v2 at " + root.string() + " is mounted read-only");
  if (!kernel_at_least_5_7(input.kernel_release)) {
    return signals("kernel " + input.kernel_release + " cannot start a command inside a cgroup (needs 5.7)");
  }

  // The whole hierarchy when we may write there (root), else the cgroup delegated to us.
  std::vector<fs::path> parents = {root};
  std::string own = own_cgroup(input.self_cgroup);
  if (!own.empty() && own != "/") parents.push_back(root / own.substr(1));
  fs::path parent;
  fs::path base;
  std::string why;
  for (const fs::path& candidate : parents) {
    fs::path directory = candidate / input.name;
    if (::mkdir(directory.c_str(), 0755) != 0 && errno != EEXIST) {
      why += (why.empty() ? "" : "; ") + ("cannot create " + directory.string() + ": " + error_text(errno));
      continue;
    }
    if (::access((directory / "cgroup.procs").c_str(), W_OK) != 0) {
      why += (why.empty() ? "" : "; ") + (directory.string() + " is not a writable cgroup: " + error_text(errno));
      continue;
    }
    parent = candidate;
    base = directory;
    break;
  }
  if (base.empty()) return signals(why);

  Support support;
  support.mode = Mode::kCgroup;
  support.base = base;
  auto offered = words(read_text(parent / "cgroup.controllers").value_or(""));
  std::map<std::string, std::string> unavailable;
  for (const std::string controller : kControllers) {
    if (!contains(offered, controller)) {
      unavailable[controller] = missing_reason(controller, parent, mounts);
      continue;
    }
    // Enabled in the parent, the controller reaches vigil's cgroup; in vigil's, the modules'.
    for (const fs::path& level : {parent, base}) {
      if (int error = write_text(level / "cgroup.subtree_control", "+" + controller); error != 0) {
        unavailable[controller] =
            "cannot enable the " + controller + " controller in " + level.string() + ": " + error_text(error);
        break;
      }
    }
  }
  auto enabled = words(read_text(base / "cgroup.controllers").value_or(""));
  for (const std::string controller : kControllers) {
    if (!unavailable.contains(controller) && !contains(enabled, controller)) {
      unavailable[controller] = controller + " controller not enabled in " + base.string();
    }
  }
  support.cpu_max = !unavailable.contains("cpu");
  support.memory_max = !unavailable.contains("memory");
  support.pids_max = !unavailable.contains("pids");
  support.freeze = fs::exists(base / "cgroup.freeze") && fs::exists(base / "cpu.stat");
  support.kill = fs::exists(base / "cgroup.kill");
  if (!support.cpu_max && !support.freeze) {
    return signals("cgroup v2 at " + base.string() + " has no cpu.max (" + unavailable["cpu"] +
                   ") and no cgroup.freeze (needs 5.2)");
  }

  if (input.check_start) {
    if (auto started = start_trial(base); !started.ok()) return signals(started.error());
  }

  std::string text = "cgroup v2 at " + base.string() + ": CPU ";
  text += support.cpu_max ? "by cpu.max" : "held by cgroup.freeze (no cpu.max: " + unavailable["cpu"] + ")";
  for (const auto& [controller, limit] : {std::pair{"memory", "memory.max"}, std::pair{"pids", "pids.max"}}) {
    text += unavailable.contains(controller) ? std::string("; no ") + limit + " (" + unavailable[controller] + ")"
                                             : std::string("; ") + limit;
  }
  text +=
      support.kill ? "; leftovers killed by cgroup.kill" : "; leftovers killed one by one (no cgroup.kill: needs 5.14)";
  support.description = text;
  return support;
}

ProbeInput this_machine(const std::string& name) {
  ProbeInput input;
  input.mountinfo = read_text("/proc/self/mountinfo").value_or("");
  input.self_cgroup = read_text("/proc/self/cgroup").value_or("");
  utsname host{};
  if (::uname(&host) == 0) input.kernel_release = host.release;
  input.name = name;
  return input;
}

std::filesystem::path own_cgroup_directory() {
  ProbeInput input = this_machine();
  auto mounts = cgroup_mounts(input.mountinfo);
  auto v2 = std::find_if(mounts.begin(), mounts.end(), [](const Mount& mount) { return mount.type == "cgroup2"; });
  std::string own = own_cgroup(input.self_cgroup);
  if (v2 == mounts.end() || own.empty()) return {};
  return fs::path(v2->point) / own.substr(1);
}

const Support& machine_support() {
  static const Support support = [] {
    Support found = probe(this_machine());
    if (found.mode == Mode::kCgroup) CommandCgroup::remove_stale(found);
    return found;
  }();
  return support;
}

}  // namespace vigil::budget
