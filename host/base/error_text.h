// errno values as text, safe to call from any thread (unlike strerror).
#pragma once

#include <string>
#include <system_error>

namespace vigil {

inline std::string error_text(int code) {
  return std::generic_category().message(code);
}

}  // namespace vigil
