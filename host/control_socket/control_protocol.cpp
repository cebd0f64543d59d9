// Control request parsing and validation.
#include "control_socket/control_protocol.h"

namespace vigil {

Result<nlohmann::json> parse_control_request(std::string_view line) {
  nlohmann::json request = nlohmann::json::parse(line, nullptr, false);
  if (request.is_discarded() || !request.is_object()) {
    return Error{"malformed request: expected one JSON object per line"};
  }
  auto command = request.find("command");
  if (command == request.end() || !command->is_string()) {
    return Error{"malformed request: \"command\" must be a string"};
  }
  return request;
}

}  // namespace vigil
