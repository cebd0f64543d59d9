// The HTTPS connections to the platform: one for the link's thread, one for
// uploads, one for the standing wait for orders (order_wait.h), each used
// under its own lock. They are made again when what they
// depend on changes (URL, CA bundle, proxy settings), so such a change applies
// without a restart.
#pragma once

#include <google/protobuf/message.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "base/paths.h"
#include "https/https_client.h"
#include "link/link_settings.h"
#include "link/link_status.h"
#include "log/log_manager.h"
#include "store/state_store.h"
#include "vigil/result/result.h"

namespace vigil {

class PlatformConnection {
 public:
  enum class Channel { kLink, kUpload, kWait };
  // The longest a platform holds a wait (WaitRequest.hold_seconds).
  static constexpr std::chrono::seconds kMaxHold{900};

  PlatformConnection(Paths paths, StateStore& store, LogManager& logs, LinkStatus& status)
      : paths_(std::move(paths)), store_(store), logs_(logs), status_(status) {}

  // Makes the connections for `settings` unless those there are still right.
  Status ensure(const LinkSettings& settings);
  // Cancels what is in flight, now and in connections made later.
  void cancel();

  // POSTs `request` and parses the reply as a `Reply` ("malformed <what>
  // reply" if it is not one). A failure's code says what the platform's
  // answer was (https/https_client.h: code_of_http_status).
  template <typename Reply>
  Result<Reply> post(Channel channel, const char* path, const google::protobuf::Message& request, const char* what) {
    auto body = post_bytes(channel, path, request);
    if (!body.ok()) return body.failure();
    Reply reply;
    if (!reply.ParseFromString(body.value())) {
      return Error{std::string("malformed ") + what + " reply from the platform"};
    }
    return reply;
  }

 private:
  std::string connection_key(const LinkSettings& settings);
  Result<std::string> post_bytes(Channel channel, const char* path, const google::protobuf::Message& request);

  Paths paths_;
  StateStore& store_;
  LogManager& logs_;
  LinkStatus& status_;
  std::atomic<bool> cancelled_{false};

  std::mutex clients_mutex_;  // guards the pointers and key, not their use
  std::shared_ptr<link::HttpsClient> link_client_;
  std::shared_ptr<link::HttpsClient> upload_client_;
  std::shared_ptr<link::HttpsClient> wait_client_;
  std::string client_key_;  // what the clients were made for
  std::mutex link_mutex_;
  std::mutex upload_mutex_;
  std::mutex wait_mutex_;
  // What the clients' connection attempts found: status "route" and "proxies".
  void attempted(const link::Route& route, const std::string& failure);
  std::mutex routes_mutex_;
  nlohmann::json proxy_attempts_ = nlohmann::json::object();  // by proxy URL: state, error, at
};

}  // namespace vigil
