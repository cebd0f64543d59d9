// Files whose lines continue past a trailing backslash (PAM, sudoers): the
// physical lines joined into the logical lines their program reads. Each
// reader says what one physical line gives; the joining, the line numbers
// and the refusal of bytes no reader interprets live here once.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace vigil::policy {

struct LogicalLine {
  std::string text;
  int number = 0;  // its first physical line
};

// What one physical line gives the logical line it is part of.
struct LinePart {
  bool skip = false;  // a blank or comment line: it neither adds to nor ends the open line
  std::string text;
  bool continues = false;  // the next physical line continues the line
};

// The logical lines of `content`; `part` reads one physical line (`open`: it
// continues an earlier one). A NUL byte or a carriage return throws
// std::runtime_error naming file:line.
std::vector<LogicalLine> logical_lines(
    const std::string& content, const std::string& file,
    const std::function<LinePart(std::string physical, const std::string& where, bool open)>& part);

}  // namespace vigil::policy
