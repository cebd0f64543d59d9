#include "logical_lines.h"

#include <sstream>
#include <stdexcept>

namespace vigil::policy {

std::vector<LogicalLine> logical_lines(
    const std::string& content, const std::string& file,
    const std::function<LinePart(std::string physical, const std::string& where, bool open)>& part) {
  std::vector<LogicalLine> lines;
  std::istringstream in(content);
  std::string physical;
  LogicalLine current;
  bool open = false;
  for (int number = 1; std::getline(in, physical); ++number) {
    std::string where = file + ":" + std::to_string(number);
    if (physical.find('\0') != std::string::npos) throw std::runtime_error(where + ": a NUL byte is not understood");
    // Both programs keep a carriage return as part of a word ("pam_unix.so\r" is not pam_unix.so).
    if (physical.find('\r') != std::string::npos)
      throw std::runtime_error(where + ": a carriage return is not understood");
    LinePart piece = part(std::move(physical), where, open);
    if (piece.skip) continue;
    if (!open) current = LogicalLine{"", number};
    current.text += piece.text;
    open = piece.continues;
    if (!open) lines.push_back(current);
  }
  if (open) lines.push_back(current);
  return lines;
}

}  // namespace vigil::policy
