#include "vigil/packages/dpkg_version.h"

#include <cctype>

namespace vigil::packages {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Weight of one character in a non-digit run; the end of the string weighs 0.
int weight(char c) {
  if (c == '~') return -1;
  if (std::isalpha(static_cast<unsigned char>(c))) return static_cast<unsigned char>(c);
  if (c == '\0') return 0;
  return static_cast<unsigned char>(c) + 256;
}

int compare_part(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  auto at = [](std::string_view s, size_t k) { return k < s.size() ? s[k] : '\0'; };
  while (i < a.size() || j < b.size()) {
    // Non-digit run, character by character.
    while ((i < a.size() && !is_digit(a[i])) || (j < b.size() && !is_digit(b[j]))) {
      int left = weight(i < a.size() && !is_digit(a[i]) ? a[i] : '\0');
      int right = weight(j < b.size() && !is_digit(b[j]) ? b[j] : '\0');
      if (left != right) return left < right ? -1 : 1;
      if (i < a.size() && !is_digit(a[i])) ++i;
      if (j < b.size() && !is_digit(b[j])) ++j;
    }
    // Digit run, as a number: skip leading zeros, then the longer run is larger,
    // and equal lengths compare by their first differing digit.
    while (at(a, i) == '0') ++i;
    while (at(b, j) == '0') ++j;
    int first_difference = 0;
    while (is_digit(at(a, i)) && is_digit(at(b, j))) {
      if (first_difference == 0 && a[i] != b[j]) first_difference = a[i] < b[j] ? -1 : 1;
      ++i;
      ++j;
    }
    if (is_digit(at(a, i))) return 1;
    if (is_digit(at(b, j))) return -1;
    if (first_difference != 0) return first_difference;
  }
  return 0;
}

bool allowed_in_upstream(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '+' || c == '-' || c == '~' || c == ':';
}

}  // namespace

std::optional<DpkgVersion> parse_dpkg_version(std::string_view text, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<DpkgVersion> {
    if (error != nullptr) *error = "version '" + std::string(text) + "': " + why;
    return std::nullopt;
  };
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if (text.empty()) return fail("empty");
  if (text.find_first_of(" \t\n") != std::string_view::npos) return fail("contains white space");
  DpkgVersion version;
  std::string_view rest = text;
  if (size_t colon = rest.find(':'); colon != std::string_view::npos) {
    std::string_view epoch = rest.substr(0, colon);
    if (epoch.empty()) return fail("empty epoch");
    if (epoch.size() > 9) return fail("epoch too large");
    for (char c : epoch) {
      if (!is_digit(c)) return fail("epoch is not a number");
      version.epoch = version.epoch * 10 + static_cast<uint64_t>(c - '0');
    }
    rest = rest.substr(colon + 1);
  }
  if (size_t dash = rest.rfind('-'); dash != std::string_view::npos) {
    version.revision = std::string(rest.substr(dash + 1));
    if (version.revision.empty()) return fail("empty revision");
    rest = rest.substr(0, dash);
  }
  if (rest.empty()) return fail("empty upstream version");
  for (char c : rest) {
    if (!allowed_in_upstream(c)) return fail(std::string("invalid character '") + c + "' in upstream version");
  }
  for (char c : version.revision) {
    if (!allowed_in_upstream(c) || c == '-' || c == ':') {
      return fail(std::string("invalid character '") + c + "' in revision");
    }
  }
  version.upstream = std::string(rest);
  return version;
}

int compare_dpkg_versions(const DpkgVersion& a, const DpkgVersion& b) {
  if (a.epoch != b.epoch) return a.epoch < b.epoch ? -1 : 1;
  if (int upstream = compare_part(a.upstream, b.upstream); upstream != 0) return upstream;
  return compare_part(a.revision, b.revision);
}

int compare_dpkg_versions(std::string_view a, std::string_view b) {
  auto left = parse_dpkg_version(a);
  auto right = parse_dpkg_version(b);
  DpkgVersion fallback_left{0, std::string(a), {}}, fallback_right{0, std::string(b), {}};
  return compare_dpkg_versions(left ? *left : fallback_left, right ? *right : fallback_right);
}

}  // namespace vigil::packages
