// The control socket's rules: who may connect, what a request looks like.
#include <gtest/gtest.h>

#include "control_socket/control_protocol.h"
#include "control_socket/control_server.h"

namespace vigil {
namespace {

TEST(ControlPeer, OnlyRootAndTheDaemonUserAreAllowed) {
  EXPECT_TRUE(ControlServer::peer_allowed(0, 1000));
  EXPECT_TRUE(ControlServer::peer_allowed(1000, 1000));
  EXPECT_FALSE(ControlServer::peer_allowed(1001, 1000));
}

TEST(ControlProtocol, RequestsAreObjectsNamingACommand) {
  EXPECT_TRUE(parse_control_request(R"({"command":"status"})").ok());
  EXPECT_NE(parse_control_request("not json").error().find("one JSON object per line"), std::string::npos);
  EXPECT_FALSE(parse_control_request("[1,2]").ok());
  EXPECT_NE(parse_control_request(R"({"command":7})").error().find("\"command\" must be a string"), std::string::npos);
  EXPECT_FALSE(parse_control_request("{\"command\":\"\xff\"}").ok());
}

}  // namespace
}  // namespace vigil
