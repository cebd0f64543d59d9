// A real vigil-platform for end-to-end tests: initialised in a temp data dir
// (CA, server certificate, customer, activation key) and served on
// 127.0.0.1; it can be killed and started again on the same port.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_support.h"

namespace vigil::test {

class PlatformProcess {
 public:
  // Runs `admin init` (with `init_args`) in `data`, then serves.
  explicit PlatformProcess(std::filesystem::path data, std::vector<std::string> init_args = {});
  ~PlatformProcess();
  PlatformProcess(const PlatformProcess&) = delete;
  PlatformProcess& operator=(const PlatformProcess&) = delete;

  bool serving() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // Starts serving (on the port it had before, if any); false when it did not come up.
  bool start();
  void kill(int signal);
  CommandResult admin(const std::vector<std::string>& args) const;
  nlohmann::json admin_json(const std::vector<std::string>& args) const;

  uint16_t port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::string customer_id() const { return init_["customer_id"]; }
  std::string activation_id() const { return init_["activation_id"]; }
  std::string ca_bundle() const { return init_["ca_bundle"]; }
  const std::filesystem::path& data() const { return data_; }
  std::string log() const;

 private:
  std::filesystem::path data_;
  nlohmann::json init_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace vigil::test
