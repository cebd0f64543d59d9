// Fuzzes the control protocol's request parsing with arbitrary lines: a
// malformed request must be answered with an error, never crash the daemon.
#include <cstdint>
#include <string_view>

#include "control_socket/control_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto request = vigil::parse_control_request({reinterpret_cast<const char*>(data), size});
  if (!request.ok() && request.error().empty()) __builtin_trap();
  if (request.ok() && !request.value().is_object()) __builtin_trap();
  return 0;
}
