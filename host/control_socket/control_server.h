// The local control socket of vigild: a Unix stream socket carrying one JSON
// object per line each way. Only root and the daemon's own user may connect
// (checked with SO_PEERCRED). Runs on the agent's io_context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <memory>

#include "vigil/result/result.h"

namespace vigil {

class ControlServer {
 public:
  // Sends the response to one request; may be called later, from any thread.
  using Reply = std::function<void(nlohmann::json response)>;
  using Handler = std::function<void(const nlohmann::json& request, Reply reply)>;

  ControlServer(boost::asio::io_context& io, std::filesystem::path socket_path, Handler handler);
  ~ControlServer();

  // Binds the socket (replacing a stale one) and starts accepting.
  Status start();
  void stop();

  // Whether a peer with `uid` may use the socket of a daemon running as `daemon_uid`.
  static bool peer_allowed(uid_t uid, uid_t daemon_uid) { return uid == 0 || uid == daemon_uid; }

 private:
  void accept();

  std::filesystem::path socket_path_;
  Handler handler_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
};

}  // namespace vigil
