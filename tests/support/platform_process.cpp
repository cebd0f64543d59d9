#include "platform_process.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace vigil::test {

PlatformProcess::PlatformProcess(std::filesystem::path data, std::vector<std::string> init_args)
    : data_(std::move(data)) {
  std::vector<std::string> args = {"init"};
  args.insert(args.end(), init_args.begin(), init_args.end());
  auto made = admin(args);
  if (made.exit_code != 0) throw std::runtime_error("vigil-platform admin init failed: " + made.err);
  init_ = nlohmann::json::parse(made.out);
  start();
}

PlatformProcess::~PlatformProcess() {
  kill(SIGTERM);
}

bool PlatformProcess::start() {
  if (pid_ > 0) return true;
  auto port_file = data_ / "port";
  std::filesystem::remove(port_file);
  std::vector<std::string> args = {VIGIL_PLATFORM_PATH, "--data",
                                   data_.string(),      "serve",
                                   "--listen",          "127.0.0.1:" + std::to_string(port_),
                                   "--port-file",       port_file.string(),
                                   "--threads",         "2"};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  auto output = (data_ / "platform.log").string();
  posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    return false;
  }
  // The port file appears once the socket listens.
  for (int i = 0; i < 1000; ++i) {
    std::ifstream in(port_file);
    int port = 0;
    if (in >> port && port > 0) {
      port_ = static_cast<uint16_t>(port);
      return true;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

void PlatformProcess::kill(int signal) {
  if (pid_ <= 0) return;
  ::kill(pid_, signal);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

CommandResult PlatformProcess::admin(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {VIGIL_PLATFORM_PATH, "--data", data_.string(), "admin"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

nlohmann::json PlatformProcess::admin_json(const std::vector<std::string>& args) const {
  auto result = admin(args);
  if (result.exit_code != 0) throw std::runtime_error("vigil-platform admin failed: " + result.err);
  return nlohmann::json::parse(result.out);
}

std::string PlatformProcess::log() const {
  std::ifstream file(data_ / "platform.log");
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace vigil::test
