// Process helpers for integration tests (posix_spawn, pipes, waitpid).
#include "test_support.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace vigil::test {
namespace {

std::vector<char*> to_argv(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  return argv;
}

std::string read_all(int fd) {
  std::string text;
  std::array<char, 4096> buffer{};
  for (;;) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n <= 0) break;
    text.append(buffer.data(), static_cast<size_t>(n));
  }
  return text;
}

}  // namespace

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "vigil-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

CommandResult run(const std::vector<std::string>& args) {
  // stdout and stderr go to temp files so a chatty child never blocks on a full pipe.
  TempDir capture;
  auto out_path = capture.path() / "out";
  auto err_path = capture.path() / "err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  auto argv = to_argv(args);
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + args[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream out(out_path), err(err_path);
  std::stringstream out_text, err_text;
  out_text << out.rdbuf();
  err_text << err.rdbuf();
  result.out = out_text.str();
  result.err = err_text.str();
  return result;
}

CommandResult rerun_test(std::vector<std::string> wrapper, const std::string& test) {
  char self[4096];
  ssize_t size = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (size <= 0) throw std::runtime_error("cannot read /proc/self/exe");
  wrapper.emplace_back(self, static_cast<size_t>(size));
  wrapper.push_back("--gtest_filter=" + test);
  ::setenv("VIGIL_TEST_RERUN", "1", 1);
  auto child = run(wrapper);
  ::unsetenv("VIGIL_TEST_RERUN");
  return child;
}

double children_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  auto seconds = [](const timeval& value) {
    return static_cast<double>(value.tv_sec) + static_cast<double>(value.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

bool in_rerun() {
  return std::getenv("VIGIL_TEST_RERUN") != nullptr;
}

bool rerun_ran(const CommandResult& child) {
  return child.out.find("[  PASSED  ] 1 test") != std::string::npos ||
         child.out.find("[  FAILED  ]") != std::string::npos;
}

std::vector<std::string> as_nobody() {
  return {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
}

void install_plugins(const std::filesystem::path& root, const std::vector<std::filesystem::path>& files) {
  auto dir = root / "usr/lib/vigil/plugins";
  std::filesystem::create_directories(dir);
  for (const auto& file : files) {
    std::filesystem::copy_file(file, dir / file.filename(), std::filesystem::copy_options::overwrite_existing);
  }
}

Daemon::Daemon(std::filesystem::path root, std::vector<std::string> extra_args) : root_(std::move(root)) {
  int ready_pipe[2];
  if (::pipe2(ready_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // The child keeps the write end as fd 3; everything else it writes goes to a file.
  posix_spawn_file_actions_adddup2(&actions, ready_pipe[1], 3);
  auto output = (root_ / "vigild.out").string();
  posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  std::vector<std::string> args = {VIGILD_PATH, "--root", root_.string(), "--ready-fd", "3", "--log-stderr"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  auto argv = to_argv(args);
  int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(ready_pipe[1]);
  if (rc != 0) {
    ::close(ready_pipe[0]);
    throw std::runtime_error("cannot start vigild");
  }
  pollfd waiter{ready_pipe[0], POLLIN, 0};
  if (::poll(&waiter, 1, 10000) == 1) ready_ = read_all(ready_pipe[0]) == "READY=1\n";
  ::close(ready_pipe[0]);
}

Daemon::~Daemon() {
  if (pid_ > 0) stop();
}

int Daemon::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string Daemon::log() const {
  std::ifstream file(root_ / "vigild.out");
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

CommandResult vigilctl(const std::filesystem::path& root, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {VIGILCTL_PATH, "--root", root.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

}  // namespace vigil::test
