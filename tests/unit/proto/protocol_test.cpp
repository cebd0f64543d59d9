// The agent protocol (proto/): what an older peer does with a newer one's messages.
#include <gtest/gtest.h>

#include "vigil/agent/v1/agent.pb.h"

namespace vigil {
namespace {

namespace v1 = agent::v1;

TEST(Protocol, UnknownFieldsFromANewerPeerAreKeptNotErrors) {
  v1::CheckinResponse response;
  response.set_send_module_status(true);
  std::string wire_bytes = response.SerializeAsString();
  wire_bytes += std::string("\xa8\x06\x2a", 3);  // field 101, varint 42: something a later revision added
  v1::CheckinResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire_bytes));
  EXPECT_TRUE(parsed.send_module_status());
  EXPECT_EQ(parsed.SerializeAsString(), wire_bytes);
}

}  // namespace
}  // namespace vigil
