// Daily local-time windows, written "HH:MM-HH:MM" and comma-separated; a
// range may cross midnight ("22:00-02:00"). The agent's BlackoutWindows (when
// uploads wait) and UpgradeWindow (when plugin swaps may start) are such windows.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/result/result.h"

namespace vigil {

class TimeWindows {
 public:
  TimeWindows() = default;

  // Parses the configuration value; an empty string means no windows.
  static Result<TimeWindows> parse(std::string_view text);

  bool empty() const { return windows_.empty(); }
  // Minutes since local midnight -> whether it falls in a window.
  bool contains(int minute_of_day) const;
  // How many minutes until the window containing `minute_of_day` ends (0 when outside).
  int minutes_until_open(int minute_of_day) const;
  std::string to_string() const;

  // The local minute of the day of `when`.
  static int minute_of_day(std::chrono::system_clock::time_point when);

 private:
  struct Window {
    int start = 0;  // minute of day, inclusive
    int end = 0;    // minute of day, exclusive; end < start crosses midnight
  };
  std::vector<Window> windows_;
};

}  // namespace vigil
