#include "vigil/packages/rpm_version.h"

#include <cctype>
#include <optional>

namespace vigil::packages {

namespace {

bool digit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}
bool alpha(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0;
}

struct Evr {
  std::string_view epoch;  // empty = 0
  std::string_view version;
  std::optional<std::string_view> release;
};

Evr split(std::string_view text) {
  Evr evr;
  size_t colon = text.find(':');
  if (colon != std::string_view::npos && colon > 0 &&
      text.substr(0, colon).find_first_not_of("0123456789") == std::string_view::npos) {
    evr.epoch = text.substr(0, colon);
    text = text.substr(colon + 1);
  }
  size_t dash = text.rfind('-');
  if (dash != std::string_view::npos) {
    evr.release = text.substr(dash + 1);
    text = text.substr(0, dash);
  }
  evr.version = text;
  return evr;
}

int compare_numbers(std::string_view a, std::string_view b) {
  while (!a.empty() && a.front() == '0') a.remove_prefix(1);
  while (!b.empty() && b.front() == '0') b.remove_prefix(1);
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  int order = a.compare(b);
  return (order > 0) - (order < 0);
}

}  // namespace

int compare_rpm_segments(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  size_t i = 0, j = 0;
  auto separator = [](char c) { return !std::isalnum(static_cast<unsigned char>(c)) && c != '~' && c != '^'; };
  while (i < a.size() || j < b.size()) {
    while (i < a.size() && separator(a[i])) ++i;
    while (j < b.size() && separator(b[j])) ++j;
    // '~' sorts before everything, even the end.
    bool tilde_a = i < a.size() && a[i] == '~', tilde_b = j < b.size() && b[j] == '~';
    if (tilde_a || tilde_b) {
      if (tilde_a && tilde_b) {
        ++i, ++j;
        continue;
      }
      return tilde_a ? -1 : 1;
    }
    // '^' sorts after the end but before any other segment.
    bool caret_a = i < a.size() && a[i] == '^', caret_b = j < b.size() && b[j] == '^';
    if (caret_a || caret_b) {
      if (caret_a && caret_b) {
        ++i, ++j;
        continue;
      }
      if (caret_a) return j >= b.size() ? 1 : -1;
      return i >= a.size() ? -1 : 1;
    }
    if (i >= a.size() || j >= b.size()) break;
    // One segment of a's kind from each side.
    bool numeric = digit(a[i]);
    auto take = [&](std::string_view s, size_t& k) {
      size_t start = k;
      while (k < s.size() && (numeric ? digit(s[k]) : alpha(s[k]))) ++k;
      return s.substr(start, k - start);
    };
    std::string_view left = take(a, i), right = take(b, j);
    if (right.empty()) return numeric ? 1 : -1;  // different kinds: a number beats letters
    int order = numeric ? compare_numbers(left, right) : left.compare(right);
    if (order != 0) return (order > 0) - (order < 0);
  }
  if (i >= a.size() && j >= b.size()) return 0;
  return i >= a.size() ? -1 : 1;  // whichever has something left is newer
}

int compare_rpm_versions(std::string_view a, std::string_view b) {
  Evr left = split(a), right = split(b);
  if (int epoch = compare_numbers(left.epoch, right.epoch); epoch != 0) return epoch;
  if (int version = compare_rpm_segments(left.version, right.version); version != 0) return version;
  if (!left.release && !right.release) return 0;
  if (!left.release || !right.release) return left.release ? 1 : -1;
  return compare_rpm_segments(*left.release, *right.release);
}

}  // namespace vigil::packages
