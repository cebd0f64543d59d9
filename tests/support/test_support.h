// Helpers for tests that drive real processes: temp dirs, running a command
// with captured output, and a vigild started on a temp root.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace vigil::test {

// A fresh directory under $TMPDIR, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv[0] with arguments, waits, and captures stdout and stderr.
CommandResult run(const std::vector<std::string>& argv);

// Runs one test of this test binary again in a child process under `wrapper`
// (unshare -Ur, setpriv...), for what a test must do in another namespace or as
// another user; the child sees in_rerun() true and runs the test's body.
CommandResult rerun_test(std::vector<std::string> wrapper, const std::string& test);
bool in_rerun();
// CPU seconds (user + system) of this process's reaped children so far.
double children_cpu_seconds();
// True when the child got as far as running the test (it passed or failed).
bool rerun_ran(const CommandResult& child);
// The wrapper that runs a child as nobody:nogroup (from root).
std::vector<std::string> as_nobody();

// Copies the named plugin files into <root>/usr/lib/vigil/plugins.
void install_plugins(const std::filesystem::path& root, const std::vector<std::filesystem::path>& files);

// A vigild on `root`, started and waited for until ready (READY=1 on a pipe).
class Daemon {
 public:
  explicit Daemon(std::filesystem::path root, std::vector<std::string> extra_args = {});
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  bool ready() const { return ready_; }
  pid_t pid() const { return pid_; }
  // Sends SIGTERM and waits; returns the exit status (or -1 on a signal death).
  int stop();
  std::string log() const;

 private:
  std::filesystem::path root_;
  pid_t pid_ = -1;
  bool ready_ = false;
};

// vigilctl --root ROOT args...
CommandResult vigilctl(const std::filesystem::path& root, const std::vector<std::string>& args);

}  // namespace vigil::test
