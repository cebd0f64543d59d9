// Real proxy servers from Debian (tinyproxy, squid) and a small HTTP document
// server (PAC files, WPAD), all on 127.0.0.1 with generated configurations.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>

namespace vigil::test {

// A port on 127.0.0.1 that was free a moment ago.
uint16_t free_port();
// A port on 127.0.0.1 nobody listens on: connections are refused at once.
uint16_t refused_port();

class ProxyServer {
 public:
  struct Options {
    bool tls = false;    // squid with https_port (TLS to the proxy)
    bool squid = false;  // squid with http_port; tinyproxy when neither is set
    std::string user;    // Basic authentication when set (tinyproxy)
    std::string password;
    std::filesystem::path certificate;  // PEM chain and key for tls
    std::filesystem::path key;
  };
  static Options squid_options() {
    Options options;
    options.squid = true;
    return options;
  }
  ProxyServer(std::filesystem::path dir, Options options);
  ~ProxyServer();
  ProxyServer(const ProxyServer&) = delete;
  ProxyServer& operator=(const ProxyServer&) = delete;

  // Empty when it runs; otherwise why not (the test skips with it).
  const std::string& unavailable() const { return unavailable_; }
  uint16_t port() const { return port_; }
  std::string url() const;  // http://127.0.0.1:port or https://127.0.0.1:port
  // CONNECT requests the proxy logged so far.
  size_t connects() const;
  std::string log() const;

 private:
  std::filesystem::path dir_;
  Options options_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string unavailable_;
};

// Serves fixed documents by path over HTTP/1.1 (one request per connection).
class DocumentServer {
 public:
  // port 0: any free port.
  explicit DocumentServer(std::map<std::string, std::string> documents, uint16_t port = 0);
  ~DocumentServer();
  DocumentServer(const DocumentServer&) = delete;
  DocumentServer& operator=(const DocumentServer&) = delete;

  const std::string& unavailable() const { return unavailable_; }
  uint16_t port() const { return port_; }
  size_t requests() const { return requests_; }

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::thread thread_;
  uint16_t port_ = 0;
  std::string unavailable_;
  std::atomic<size_t> requests_{0};
};

}  // namespace vigil::test
