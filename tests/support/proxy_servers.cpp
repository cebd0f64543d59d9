#include "proxy_servers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <vector>

extern char** environ;

namespace vigil::test {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;

bool accepts(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return connected;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t size = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

uint16_t refused_port() {
  for (;;) {
    uint16_t port = free_port();
    if (!accepts(port)) return port;
  }
}

ProxyServer::ProxyServer(std::filesystem::path dir, Options options)
    : dir_(std::move(dir)), options_(std::move(options)) {
  std::filesystem::create_directories(dir_);
  port_ = free_port();
  std::vector<std::string> args;
  auto config = dir_ / "proxy.conf";
  std::ofstream out(config);
  if (options_.tls || options_.squid) {
    const char* squid = "/usr/sbin/squid";
    if (::access(squid, X_OK) != 0) {
      unavailable_ = "squid is not installed (scripts/bootstrap installs it)";
      return;
    }
    if (options_.tls) {
      out << "https_port 127.0.0.1:" << port_ << " tls-cert=" << options_.certificate.string()
          << " tls-key=" << options_.key.string() << "\n"
          << "http_port 127.0.0.1:" << free_port() << "\n";
    } else {
      out << "http_port 127.0.0.1:" << port_ << "\n";
    }
    out << "http_access allow all\ncache deny all\ndns_nameservers 127.0.0.1\n"
        << "pid_filename " << (dir_ / "squid.pid").string() << "\n"
        << "access_log stdio:" << (dir_ / "access.log").string() << "\n"
        << "cache_log " << (dir_ / "cache.log").string() << "\n"
        << "coredump_dir " << dir_.string() << "\nshutdown_lifetime 0 seconds\n";
    out.close();
    // As root squid runs as 'proxy': it must be able to write here and read the key.
    if (::geteuid() == 0) {
      if (passwd* user = ::getpwnam("proxy"); user != nullptr) {
        for (const auto& path : {dir_, options_.certificate, options_.key}) {
          if (path.empty()) continue;
          if (::chown(path.c_str(), user->pw_uid, user->pw_gid) != 0) unavailable_ = "cannot chown " + path.string();
        }
        for (const auto& start : {dir_ / "x", options_.certificate, options_.key}) {
          if (start.empty()) continue;
          for (auto parent = start.parent_path(); parent != parent.root_path(); parent = parent.parent_path()) {
            std::filesystem::permissions(parent, std::filesystem::perms::others_exec,
                                         std::filesystem::perm_options::add);
          }
        }
      }
    }
    args = {squid, "-N", "-f", config.string()};
  } else {
    const char* tinyproxy = "/usr/bin/tinyproxy";
    if (::access(tinyproxy, X_OK) != 0) {
      unavailable_ = "tinyproxy is not installed (scripts/bootstrap installs it)";
      return;
    }
    out << "Port " << port_ << "\nListen 127.0.0.1\nTimeout 30\nMaxClients 100\nAllow 127.0.0.1\n"
        << "LogLevel Connect\nLogFile \"" << (dir_ / "access.log").string() << "\"\n";
    if (!options_.user.empty()) out << "BasicAuth " << options_.user << " " << options_.password << "\n";
    out.close();
    args = {tinyproxy, "-d", "-c", config.string()};
  }
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  auto output = (dir_ / "output.log").string();
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  int spawned = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    pid_ = -1;
    unavailable_ = "cannot start " + args[0];
    return;
  }
  for (int i = 0; i < 500; ++i) {
    if (accepts(port_)) return;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  unavailable_ = args[0] + " did not start: " + read_file(output) + read_file(dir_ / "cache.log");
}

ProxyServer::~ProxyServer() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

std::string ProxyServer::url() const {
  return std::string(options_.tls ? "https://" : "http://") + "127.0.0.1:" + std::to_string(port_);
}

std::string ProxyServer::log() const {
  return read_file(dir_ / "access.log") + read_file(dir_ / "output.log");
}

size_t ProxyServer::connects() const {
  std::string text = read_file(dir_ / "access.log");
  size_t count = 0;
  // tinyproxy: "Request (file descriptor N): CONNECT host:port"; squid: "... CONNECT host:port ...".
  for (size_t at = text.find("CONNECT 127.0.0.1:"); at != std::string::npos;
       at = text.find("CONNECT 127.0.0.1:", at + 1)) {
    ++count;
  }
  return count;
}

struct DocumentServer::State {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor{io};
  std::map<std::string, std::string> documents;
};

DocumentServer::DocumentServer(std::map<std::string, std::string> documents, uint16_t port)
    : state_(std::make_unique<State>()) {
  state_->documents = std::move(documents);
  boost::system::error_code error;
  asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  state_->acceptor.open(endpoint.protocol(), error);
  if (!error) state_->acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) state_->acceptor.bind(endpoint, error);
  if (!error) state_->acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    unavailable_ = "cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + error.message();
    return;
  }
  port_ = state_->acceptor.local_endpoint().port();
  thread_ = std::thread([this] {
    for (;;) {
      boost::system::error_code accept_error;
      asio::ip::tcp::socket socket(state_->io);
      state_->acceptor.accept(socket, accept_error);
      if (accept_error) return;  // closed: the server stops
      boost::beast::flat_buffer buffer;
      http::request<http::string_body> request;
      boost::system::error_code read_error;
      http::read(socket, buffer, request, read_error);
      if (read_error) continue;
      ++requests_;
      auto found = state_->documents.find(std::string(request.target()));
      http::response<http::string_body> response{
          found == state_->documents.end() ? http::status::not_found : http::status::ok, 11};
      response.set(http::field::content_type, "application/x-ns-proxy-autoconfig");
      if (found != state_->documents.end()) response.body() = found->second;
      response.keep_alive(false);
      response.prepare_payload();
      http::write(socket, response, read_error);
    }
  });
}

DocumentServer::~DocumentServer() {
  if (!thread_.joinable()) return;
  ::shutdown(state_->acceptor.native_handle(), SHUT_RDWR);  // wakes the blocking accept
  thread_.join();
}

}  // namespace vigil::test
