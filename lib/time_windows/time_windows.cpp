// Time window parsing and lookup.
#include "vigil/time_windows/time_windows.h"

#include <fmt/format.h>

#include <ctime>

namespace vigil {
namespace {

// "HH:MM" -> minute of day.
std::optional<int> parse_time(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  for (size_t i : {0, 1, 3, 4}) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  int hours = (text[0] - '0') * 10 + (text[1] - '0');
  int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  if (hours > 23 || minutes > 59) return std::nullopt;
  return hours * 60 + minutes;
}

std::string format_time(int minute) {
  return fmt::format("{:02}:{:02}", minute / 60, minute % 60);
}

}  // namespace

Result<TimeWindows> TimeWindows::parse(std::string_view text) {
  TimeWindows parsed;
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    std::string_view item =
        text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    start = comma == std::string_view::npos ? text.size() : comma + 1;
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    size_t dash = item.find('-');
    auto from = dash == std::string_view::npos ? std::nullopt : parse_time(item.substr(0, dash));
    auto to = dash == std::string_view::npos ? std::nullopt : parse_time(item.substr(dash + 1));
    if (!from || !to || *from == *to) {
      return Error{"'" + std::string(item) +
                   "' is not a window; expected HH:MM-HH:MM with different start and end, comma-separated"};
    }
    parsed.windows_.push_back({*from, *to});
  }
  return parsed;
}

bool TimeWindows::contains(int minute) const {
  for (const Window& window : windows_) {
    bool inside = window.start < window.end ? (minute >= window.start && minute < window.end)
                                            : (minute >= window.start || minute < window.end);
    if (inside) return true;
  }
  return false;
}

int TimeWindows::minutes_until_open(int minute) const {
  // Walk forward minute by minute: at most a day, and windows may chain.
  int waited = 0;
  while (contains((minute + waited) % (24 * 60)) && waited < 24 * 60) ++waited;
  return waited;
}

std::string TimeWindows::to_string() const {
  std::string text;
  for (const Window& window : windows_) {
    if (!text.empty()) text += ",";
    text += format_time(window.start) + "-" + format_time(window.end);
  }
  return text;
}

int TimeWindows::minute_of_day(std::chrono::system_clock::time_point when) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm local{};
  localtime_r(&seconds, &local);
  return local.tm_hour * 60 + local.tm_min;
}

}  // namespace vigil
