// Small text helpers the parsers of host, plugins and platform share.
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace vigil {

// Without the blanks (space, tab, CR, LF, VT, FF) around it.
inline std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

// A trimmed copy, for text kept after its source goes.
inline std::string trimmed(std::string_view text) {
  return std::string(trim(text));
}

inline std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

inline std::string to_upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Without one pair of matching quotes ("…" or '…') around it, as shell-style
// KEY=value files (os-release, /etc/default/*) write values.
inline std::string unquote(std::string_view value) {
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
    value = value.substr(1, value.size() - 2);
  }
  return std::string(value);
}

}  // namespace vigil
