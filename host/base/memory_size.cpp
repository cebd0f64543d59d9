// Memory sizes: parsing and printing.
#include "base/memory_size.h"

#include <cctype>

namespace vigil {

Result<int64_t> parse_memory_size(std::string_view text) {
  auto bad = [&] {
    return Error{"'" + std::string(text) + "' is not a size (bytes, or a number with K, M or G, e.g. 512MiB)"};
  };
  size_t at = 0;
  while (at < text.size() && std::isspace(static_cast<unsigned char>(text[at]))) ++at;
  int64_t number = 0;
  size_t digits = 0;
  for (; at < text.size() && std::isdigit(static_cast<unsigned char>(text[at])); ++at, ++digits) {
    if (number > (INT64_MAX - 9) / 10) return bad();
    number = number * 10 + (text[at] - '0');
  }
  if (digits == 0) return bad();
  std::string unit;
  for (; at < text.size(); ++at) {
    if (!std::isspace(static_cast<unsigned char>(text[at]))) {
      unit += static_cast<char>(std::tolower(static_cast<unsigned char>(text[at])));
    }
  }
  int shift = 0;
  if (!unit.empty() && unit != "b") {
    const std::string_view units = "kmg";
    size_t index = units.find(unit[0]);
    std::string_view rest = std::string_view(unit).substr(1);
    if (index == std::string_view::npos || !(rest.empty() || rest == "b" || rest == "ib")) return bad();
    shift = 10 * static_cast<int>(index + 1);
  }
  if (number > (INT64_MAX >> shift)) return bad();
  return number << shift;
}

std::string memory_size_text(int64_t bytes) {
  if (bytes % (1 << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes % (1 << 10) == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace vigil
