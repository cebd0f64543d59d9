#include "vigil/advisories/manifest.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <stdexcept>

namespace vigil::advisories {
namespace {

constexpr std::string_view kMagic = "vigil-advisories 1";
constexpr size_t kFields = 12;

// Tabs and line ends would end a field or a line.
std::string flat(const std::string& text) {
  std::string out = text;
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\t' || c == '\n' || c == '\r'; }, ' ');
  return out;
}

std::string joined(const std::vector<std::string>& items, char separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : std::string(1, separator)) + flat(item);
  return out.empty() ? "-" : out;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::vector<std::string> list_field(std::string_view field, char separator) {
  std::vector<std::string> items;
  if (field == "-") return items;
  for (std::string_view item : split(field, separator)) items.emplace_back(item);
  return items;
}

std::string ranges_field(const std::vector<VersionRange>& ranges) {
  std::string out;
  for (const VersionRange& range : ranges) {
    std::string bounds;
    if (!range.introduced.empty()) bounds += ">=" + range.introduced;
    if (!range.fixed.empty()) bounds += (bounds.empty() ? "<" : " <") + range.fixed;
    if (!range.last_affected.empty()) bounds += (bounds.empty() ? "<=" : " <=") + range.last_affected;
    out += (out.empty() ? "" : ";") + (bounds.empty() ? std::string("*") : bounds);
  }
  return out.empty() ? "*" : out;
}

[[noreturn]] void refuse(size_t line, const char* field, const std::string& why) {
  throw std::invalid_argument("advisories manifest line " + std::to_string(line) + (field[0] ? ", " : "") + field +
                              ": " + why);
}

std::vector<VersionRange> parse_ranges(std::string_view field, const std::string& manager, size_t line) {
  std::vector<VersionRange> ranges;
  for (std::string_view text : split(field, ';')) {
    VersionRange range;
    if (text == "*") {
      ranges.push_back(range);
      continue;
    }
    for (std::string_view bound : split(text, ' ')) {
      std::string* slot = nullptr;
      size_t skip = 0;
      if (bound.starts_with(">=")) {
        slot = &range.introduced;
        skip = 2;
      } else if (bound.starts_with("<=")) {
        slot = &range.last_affected;
        skip = 2;
      } else if (bound.starts_with("<")) {
        slot = &range.fixed;
        skip = 1;
      }
      if (slot == nullptr || !slot->empty()) {
        refuse(line, "ranges", "'" + std::string(bound) + "' is not one of >=V, <V, <=V (each at most once per range)");
      }
      *slot = bound.substr(skip);
      if (std::string problem = version_problem(manager, *slot); !problem.empty()) refuse(line, "ranges", problem);
    }
    ranges.push_back(std::move(range));
  }
  return ranges;
}

}  // namespace

std::string manifest_header(const std::string& release) {
  return std::string(kMagic) + "\nrelease " + release + "\n";
}

std::string manifest_line(const Advisory& a) {
  std::string line = flat(a.id) + '\t' + a.manager + '\t' + (a.by_source ? "source" : "binary") + '\t' +
                     flat(a.package) + '\t' + ranges_field(a.ranges) + '\t' + a.severity + '\t' +
                     (a.unfixed.empty() ? "-" : a.unfixed) + '\t' + joined(a.cves, ',') + '\t' +
                     joined(a.aliases, ',') + '\t' + joined(a.references, ' ') + '\t' +
                     (a.cvss.empty() ? "-" : flat(a.cvss)) + '\t' + (a.summary.empty() ? "-" : flat(a.summary));
  return line + '\n';
}

std::string manifest_release(std::string_view text) {
  // The header ends at the first advisory: read only up to it.
  size_t cut = text.find('\t');
  cut = cut == std::string_view::npos ? text.size() : text.rfind('\n', cut) + 1;
  return read_manifest(
             text.substr(0, cut), [](std::string_view, bool, std::string_view) { return false; }, [](Advisory&&) {})
      .release;
}

ManifestInfo read_manifest(std::string_view text,
                           const std::function<bool(std::string_view, bool, std::string_view)>& wanted,
                           const std::function<void(Advisory&&)>& found) {
  ManifestInfo info;
  size_t number = 0;
  bool magic = false;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    std::string_view line = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    start = end == std::string_view::npos ? text.size() : end + 1;
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!magic) {
      if (line != kMagic) refuse(number, "", "expected '" + std::string(kMagic) + "' first");
      magic = true;
      continue;
    }
    if (line.empty() || line.front() == '#') continue;
    if (line.starts_with("release ")) {
      if (!info.release.empty()) refuse(number, "release", "given twice");
      info.release = line.substr(8);
      continue;
    }
    if (info.release.empty()) refuse(number, "", "an advisory before the 'release <key>' line");
    std::array<std::string_view, kFields> field;
    size_t count = 0;
    for (std::string_view part : split(line, '\t')) {
      if (count == kFields) refuse(number, "", "more than " + std::to_string(kFields) + " tab-separated fields");
      field[count++] = part;
    }
    if (count != kFields) refuse(number, "", std::to_string(count) + " tab-separated fields, expected 12");
    for (size_t i = 0; i < kFields; ++i) {
      if (field[i].empty()) refuse(number, "", "field " + std::to_string(i + 1) + " is empty (use '-')");
    }
    std::string manager(field[1]);
    if (manager != "dpkg" && manager != "rpm") refuse(number, "manager", "'" + manager + "' is not dpkg or rpm");
    if (field[2] != "source" && field[2] != "binary") refuse(number, "match", "must be source or binary");
    bool by_source = field[2] == "source";
    auto ranges = parse_ranges(field[4], manager, number);
    if (std::none_of(std::begin(kSeverities), std::end(kSeverities), [&](const char* s) { return field[5] == s; })) {
      refuse(number, "severity", "'" + std::string(field[5]) + "' is not a severity word");
    }
    ++info.advisories;
    if (!wanted(field[1], by_source, field[3])) continue;
    Advisory advisory;
    advisory.id = field[0];
    advisory.release = info.release;
    advisory.manager = manager;
    advisory.by_source = by_source;
    advisory.package = field[3];
    advisory.ranges = std::move(ranges);
    advisory.severity = field[5];
    if (field[6] != "-") advisory.unfixed = field[6];
    advisory.cves = list_field(field[7], ',');
    advisory.aliases = list_field(field[8], ',');
    advisory.references = list_field(field[9], ' ');
    if (field[10] != "-") advisory.cvss = field[10];
    if (field[11] != "-") advisory.summary = field[11];
    found(std::move(advisory));
  }
  if (!magic) refuse(1, "", "empty; expected '" + std::string(kMagic) + "'");
  if (info.release.empty()) refuse(number, "", "no 'release <key>' line");
  return info;
}

}  // namespace vigil::advisories
