// RPM versions, [epoch:]version[-release], ordered the way rpm orders them:
// epochs numerically (none = 0), then version and release segment by segment
// (digit runs as numbers, letter runs as text, a digit run beats a letter
// run, '~' sorts before everything, '^' after the end but before anything
// else); a missing release sorts before any release.
#pragma once

#include <string_view>

namespace vigil::packages {

// rpm's segment comparison of one version or release string: <0, 0 or >0.
int compare_rpm_segments(std::string_view a, std::string_view b);
// Whole EVR strings: <0, 0 or >0.
int compare_rpm_versions(std::string_view a, std::string_view b);

}  // namespace vigil::packages
