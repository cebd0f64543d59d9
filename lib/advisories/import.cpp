#include "vigil/advisories/import.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <stdexcept>

#include "vigil/packages/dpkg_version.h"
#include "vigil/packages/rpm_version.h"

namespace vigil::advisories {

using nlohmann::json;

namespace {

[[noreturn]] void refuse(const std::string& where, const std::string& why) {
  throw std::invalid_argument(where + ": " + why);
}

std::string text(const json& object, const char* field, const std::string& where, bool required) {
  if (!object.contains(field)) {
    if (required) refuse(where, std::string("'") + field + "' is missing");
    return "";
  }
  if (!object.at(field).is_string()) refuse(where + "." + field, "must be a string");
  return object.at(field).get<std::string>();
}

std::vector<std::string> strings(const json& object, const char* field, const std::string& where) {
  std::vector<std::string> out;
  if (!object.contains(field)) return out;
  const json& list = object.at(field);
  if (!list.is_array()) refuse(where + "." + field, "must be a list of strings");
  for (const json& item : list) {
    if (!item.is_string()) refuse(where + "." + field, "must be a list of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

// Each source's severity words onto ours; anything else is an error, never a guess.
std::string severity_word(std::string word, const std::string& where) {
  std::transform(word.begin(), word.end(), word.begin(), [](unsigned char c) { return std::tolower(c); });
  while (!word.empty() && word.back() == '*') word.pop_back();  // the tracker marks guessed urgencies "low**"
  static const std::map<std::string, std::string> words = {
      {"unknown", "unknown"},
      {"not yet assigned", "unknown"},
      {"unimportant", "negligible"},
      {"negligible", "negligible"},
      {"low", "low"},
      {"medium", "medium"},
      {"moderate", "medium"},
      {"high", "high"},
      {"important", "high"},
      {"critical", "critical"},
      {"end-of-life", "unknown"},
  };
  auto found = words.find(word);
  if (found == words.end()) refuse(where, "severity '" + word + "' is not a word this importer knows");
  return found->second;
}

void add_cves(Advisory& advisory) {
  std::set<std::string> seen;
  auto consider = [&](const std::string& id) {
    if (id.starts_with("CVE-") && seen.insert(id).second) advisory.cves.push_back(id);
  };
  consider(advisory.id);
  for (const auto& alias : advisory.aliases) consider(alias);
}

// ----- OSV -----

struct Ecosystem {
  std::string release;
  std::string manager;
  bool by_source = true;
  std::string skip;  // why advisories of it are not taken, when they are not
};

Ecosystem ecosystem_of(const std::string& name) {
  auto parts = [&] {
    std::vector<std::string> out;
    for (size_t start = 0;;) {
      size_t colon = name.find(':', start);
      out.push_back(name.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
      if (colon == std::string::npos) return out;
      start = colon + 1;
    }
  }();
  const std::string& family = parts[0];
  if (family == "Debian" || family == "Ubuntu") {
    if (family == "Ubuntu" && parts.size() > 1 && parts[1] == "Pro") {
      return {"", "", true, "Ubuntu Pro (ESM packages, only on machines with Pro)"};
    }
    if (parts.size() < 2 || parts[1].empty()) return {"", "", true, family + " without a release"};
    std::string id = family == "Debian" ? "debian" : "ubuntu";
    return {id + ":" + parts[1], "dpkg", true, ""};
  }
  if (family == "AlmaLinux" || family == "Rocky Linux") {
    if (parts.size() < 2 || parts[1].empty()) return {"", "", false, family + " without a release"};
    std::string id = family == "AlmaLinux" ? "almalinux" : "rocky";
    return {id + ":" + parts[1].substr(0, parts[1].find('.')), "rpm", false, ""};
  }
  if (family == "Red Hat") {
    // "Red Hat:enterprise_linux:9::appstream": RHEL 9; other products (AUS, EUS streams) are not taken.
    if (parts.size() >= 3 && parts[1] == "enterprise_linux" && !parts[2].empty()) {
      return {"rhel:" + parts[2].substr(0, parts[2].find('.')), "rpm", false, ""};
    }
    return {"", "", false, "Red Hat products other than enterprise_linux"};
  }
  return {"", "", false, "ecosystem " + family + " (no package database of it is read)"};
}

bool version_before(const std::string& manager, const std::string& a, const std::string& b) {
  if (a == "0") return b != "0";  // OSV's "0": before every version
  if (b == "0") return false;
  return (manager == "rpm" ? packages::compare_rpm_versions(a, b) : packages::compare_dpkg_versions(a, b)) < 0;
}

// OSV events, in version order: introduced opens a range, fixed or last_affected closes it.
std::vector<VersionRange> osv_ranges(const json& events, const std::string& manager, const std::string& where) {
  if (!events.is_array() || events.empty()) refuse(where, "must be a non-empty list of events");
  struct Event {
    std::string kind, version;
  };
  std::vector<Event> list;
  for (size_t i = 0; i < events.size(); ++i) {
    std::string here = where + "[" + std::to_string(i) + "]";
    const json& event = events[i];
    if (!event.is_object() || event.size() != 1) {
      refuse(here, "an event is an object with one of introduced, fixed, last_affected");
    }
    std::string kind = event.begin().key();
    if (kind == "limit") refuse(here, "'limit' events are not supported (they bound git ranges)");
    if (kind != "introduced" && kind != "fixed" && kind != "last_affected")
      refuse(here, "unknown event '" + kind + "'");
    std::string version = text(event, kind.c_str(), here, true);
    if (!(kind == "introduced" && version == "0")) {
      if (std::string problem = version_problem(manager, version); !problem.empty()) refuse(here + "." + kind, problem);
    }
    list.push_back({kind, version});
  }
  std::stable_sort(list.begin(), list.end(),
                   [&](const Event& a, const Event& b) { return version_before(manager, a.version, b.version); });
  std::vector<VersionRange> ranges;
  std::optional<VersionRange> open;
  for (const Event& event : list) {
    if (event.kind == "introduced") {
      if (!open) open = VersionRange{event.version == "0" ? "" : event.version, "", ""};
      continue;
    }
    if (!open) continue;  // a fix with nothing introduced before it closes nothing
    (event.kind == "fixed" ? open->fixed : open->last_affected) = event.version;
    ranges.push_back(*open);
    open.reset();
  }
  if (open) ranges.push_back(*open);  // introduced and never fixed
  return ranges;
}

void check_fields(const json& object, const std::set<std::string>& known, const std::string& where) {
  for (auto field = object.begin(); field != object.end(); ++field) {
    if (known.count(field.key()) == 0) refuse(where + "." + field.key(), "a field this importer does not know");
  }
}

void one_osv(const json& doc, const std::string& origin, const Sink& sink, ImportCounts& counts) {
  if (!doc.is_object()) refuse(origin, "an OSV advisory must be a JSON object");
  std::string id = text(doc, "id", origin, true);
  if (id.empty()) refuse(origin + ".id", "is empty");
  std::string where = origin + ": " + id;
  check_fields(doc,
               {"schema_version", "id", "modified", "published", "withdrawn", "aliases", "upstream", "related",
                "summary", "details", "severity", "affected", "references", "credits", "database_specific"},
               where);
  if (doc.contains("withdrawn")) {
    ++counts.skipped["withdrawn"];
    return;
  }
  Advisory base;
  base.id = id;
  base.aliases = strings(doc, "aliases", where);
  for (const auto& upstream : strings(doc, "upstream", where)) base.aliases.push_back(upstream);
  base.summary = text(doc, "summary", where, false);
  if (base.summary.empty()) base.summary = text(doc, "details", where, false).substr(0, 200);
  base.severity = "unknown";
  if (doc.contains("severity")) {
    if (!doc["severity"].is_array()) refuse(where + ".severity", "must be a list");
    for (size_t i = 0; i < doc["severity"].size(); ++i) {
      std::string here = where + ".severity[" + std::to_string(i) + "]";
      const json& entry = doc["severity"][i];
      if (!entry.is_object()) refuse(here, "must be an object {type, score}");
      std::string type = text(entry, "type", here, true), score = text(entry, "score", here, true);
      if (type.starts_with("CVSS_V")) {
        base.cvss += (base.cvss.empty() ? "" : " ") + score;
      } else if (type == "Ubuntu") {
        base.severity = severity_word(score, here + ".score");
      } else {
        refuse(here + ".type", "'" + type + "' is not a severity type this importer knows");
      }
    }
  }
  if (doc.contains("database_specific") && doc["database_specific"].is_object() &&
      doc["database_specific"].contains("severity") && doc["database_specific"]["severity"].is_string()) {
    base.severity = severity_word(doc["database_specific"]["severity"], where + ".database_specific.severity");
  }
  if (doc.contains("references")) {
    if (!doc["references"].is_array()) refuse(where + ".references", "must be a list");
    for (size_t i = 0; i < doc["references"].size(); ++i) {
      const json& reference = doc["references"][i];
      std::string here = where + ".references[" + std::to_string(i) + "]";
      if (!reference.is_object()) refuse(here, "must be an object {type, url}");
      base.references.push_back(text(reference, "url", here, true));
    }
  }
  add_cves(base);
  if (!doc.contains("affected") || !doc["affected"].is_array() || doc["affected"].empty()) {
    if (doc.contains("affected") && !doc["affected"].is_array()) refuse(where + ".affected", "must be a list");
    ++counts.skipped["no affected packages"];
    return;
  }
  const json& affected = doc["affected"];
  for (size_t i = 0; i < affected.size(); ++i) {
    std::string here = where + ".affected[" + std::to_string(i) + "]";
    const json& entry = affected[i];
    if (!entry.is_object()) refuse(here, "must be an object");
    check_fields(entry, {"package", "severity", "ranges", "versions", "ecosystem_specific", "database_specific"}, here);
    if (!entry.contains("package") || !entry["package"].is_object()) refuse(here + ".package", "is missing");
    std::string ecosystem_name = text(entry["package"], "ecosystem", here + ".package", true);
    Ecosystem ecosystem = ecosystem_of(ecosystem_name);
    if (!ecosystem.skip.empty()) {
      ++counts.skipped[ecosystem.skip];
      continue;
    }
    Advisory advisory = base;
    advisory.release = ecosystem.release;
    advisory.manager = ecosystem.manager;
    advisory.by_source = ecosystem.by_source;
    advisory.package = text(entry["package"], "name", here + ".package", true);
    if (advisory.package.empty()) refuse(here + ".package.name", "is empty");
    for (const char* specific : {"ecosystem_specific", "database_specific"}) {
      if (entry.contains(specific) && entry[specific].is_object() && entry[specific].contains("urgency")) {
        advisory.severity =
            severity_word(text(entry[specific], "urgency", here, true), here + "." + specific + ".urgency");
      }
    }
    bool ecosystem_range = false;
    if (entry.contains("ranges")) {
      if (!entry["ranges"].is_array()) refuse(here + ".ranges", "must be a list");
      for (size_t r = 0; r < entry["ranges"].size(); ++r) {
        std::string at = here + ".ranges[" + std::to_string(r) + "]";
        const json& range = entry["ranges"][r];
        if (!range.is_object()) refuse(at, "must be an object");
        std::string type = text(range, "type", at, true);
        if (type != "ECOSYSTEM") continue;  // GIT/SEMVER ranges describe commits, not packages
        if (!range.contains("events")) refuse(at, "'events' is missing");
        for (auto& found : osv_ranges(range["events"], advisory.manager, at + ".events")) {
          advisory.ranges.push_back(std::move(found));
        }
        ecosystem_range = true;
      }
    }
    for (const auto& version : strings(entry, "versions", here)) {
      if (ecosystem_range) break;  // the ranges say it; the list repeats it
      if (std::string problem = version_problem(advisory.manager, version); !problem.empty()) {
        refuse(here + ".versions", problem);
      }
      advisory.ranges.push_back({version, "", version});  // exactly this version
    }
    if (advisory.ranges.empty()) {
      refuse(here, ecosystem_range ? "its ECOSYSTEM ranges affect no version"
                                   : "no ECOSYSTEM range and no versions: nothing says which package versions are "
                                     "affected");
    }
    // Fixed when every range is closed: the fixed version the finding names.
    bool open = std::any_of(advisory.ranges.begin(), advisory.ranges.end(),
                            [](const VersionRange& r) { return r.fixed.empty() && r.last_affected.empty(); });
    if (open) advisory.unfixed = "open";
    ++counts.advisories;
    sink(std::move(advisory));
  }
}

// ----- The Debian Security Tracker -----

std::optional<std::string> debian_release(const std::string& codename) {
  static const std::map<std::string, std::string> numbers = {{"buster", "10"}, {"bullseye", "11"}, {"bookworm", "12"},
                                                             {"trixie", "13"}, {"forky", "14"},    {"duke", "15"}};
  auto found = numbers.find(codename);
  if (found == numbers.end()) return std::nullopt;
  return "debian:" + found->second;
}

void one_tracker_package(const std::string& package, const json& issues, const std::string& origin, const Sink& sink,
                         ImportCounts& counts) {
  std::string where = origin + ": " + package;
  if (package.empty()) refuse(origin, "a package with an empty name");
  if (!issues.is_object()) refuse(where, "must map issue ids to issues");
  for (auto issue = issues.begin(); issue != issues.end(); ++issue) {
    std::string here = where + ": " + issue.key();
    if (issue.key().empty()) refuse(here, "an issue with an empty id");
    const json& body = issue.value();
    if (!body.is_object()) refuse(here, "must be an object");
    if (!body.contains("releases") || !body["releases"].is_object()) refuse(here + ".releases", "is missing");
    for (auto release = body["releases"].begin(); release != body["releases"].end(); ++release) {
      std::string at = here + ".releases." + release.key();
      const json& state = release.value();
      if (!state.is_object()) refuse(at, "must be an object");
      std::optional<std::string> key = debian_release(release.key());
      if (!key) {
        ++counts.skipped["Debian release " + release.key() + " (not a numbered release this importer knows)"];
        continue;
      }
      std::string status = text(state, "status", at, true);
      std::string fixed = text(state, "fixed_version", at, false);
      Advisory advisory;
      advisory.id = issue.key();
      advisory.release = *key;
      advisory.manager = "dpkg";
      advisory.by_source = true;
      advisory.package = package;
      advisory.summary = text(body, "description", here, false);
      advisory.severity = severity_word(text(state, "urgency", at, true), at + ".urgency");
      advisory.references.push_back("https://security-tracker.debian.org/tracker/" + issue.key());
      if (status == "resolved") {
        if (fixed.empty()) refuse(at, "resolved without a fixed_version");
        if (fixed == "0") {
          ++counts.skipped["not affected (fixed_version 0)"];
          continue;
        }
        if (std::string problem = version_problem("dpkg", fixed); !problem.empty()) {
          refuse(at + ".fixed_version", problem);
        }
        advisory.ranges.push_back({"", fixed, ""});
      } else if (status == "open" || status == "undetermined") {
        advisory.ranges.push_back({});
        std::string urgency = text(state, "urgency", at, true);
        advisory.unfixed = urgency == "end-of-life" ? "end-of-life" : status;
      } else {
        refuse(at + ".status", "'" + status + "' is not resolved, open or undetermined");
      }
      add_cves(advisory);
      ++counts.advisories;
      sink(std::move(advisory));
    }
  }
}

}  // namespace

void add_counts(ImportCounts& total, const ImportCounts& more) {
  total.advisories += more.advisories;
  for (const auto& [reason, count] : more.skipped) total.skipped[reason] += count;
}

namespace {

enum class Format { kOsv, kTracker };

Format format_of(std::istream& in, const std::string& origin) {
  char first = 0;
  in >> std::ws;
  if (!in.get(first)) refuse(origin, "empty");
  if (first == '[') return Format::kOsv;
  if (first != '{') refuse(origin, "not a JSON object or list: neither OSV nor the Debian Security Tracker's JSON");
  in >> std::ws;
  std::string key;
  if (in.peek() == '"') {
    in.get();
    for (char c; in.get(c) && c != '"' && key.size() < 64;) key += c;
  }
  static const std::set<std::string> osv_fields = {
      "schema_version", "id",      "modified", "published", "withdrawn",  "aliases", "upstream",         "related",
      "summary",        "details", "severity", "affected",  "references", "credits", "database_specific"};
  return osv_fields.count(key) > 0 ? Format::kOsv : Format::kTracker;
}

ImportCounts import_file(const std::filesystem::path& file, const Sink& sink) {
  std::ifstream in(file, std::ios::binary);
  if (!in) refuse(file.string(), "cannot be read");
  Format format = format_of(in, file.string());
  in.clear();
  in.seekg(0);
  if (format == Format::kTracker) return import_debian_tracker(in, file.string(), sink);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return import_osv(text, file.string(), sink);
}

}  // namespace

ImportCounts import_path(const std::filesystem::path& path, const Sink& sink) {
  std::error_code error;
  if (!std::filesystem::is_directory(path, error)) return import_file(path, sink);
  std::vector<std::filesystem::path> files;
  for (auto it = std::filesystem::recursive_directory_iterator(path, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    if (it->is_regular_file() && it->path().extension() == ".json") files.push_back(it->path());
  }
  if (error) refuse(path.string(), "cannot be listed: " + error.message());
  std::sort(files.begin(), files.end());
  if (files.empty()) refuse(path.string(), "has no *.json files");
  ImportCounts total;
  for (const auto& file : files) add_counts(total, import_file(file, sink));
  return total;
}

ImportCounts import_osv(std::string_view json_text, const std::string& origin, const Sink& sink) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::exception& error) {
    refuse(origin, std::string("not valid JSON: ") + error.what());
  }
  ImportCounts counts;
  if (doc.is_array()) {
    for (const json& one : doc) one_osv(one, origin, sink, counts);
  } else {
    one_osv(doc, origin, sink, counts);
  }
  return counts;
}

ImportCounts import_debian_tracker(std::istream& json_text, const std::string& origin, const Sink& sink) {
  ImportCounts counts;
  std::string key;
  bool top_is_object = false;
  // Each package's entry is handed over as soon as it is parsed, then dropped.
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 0 && event == json::parse_event_t::object_start) top_is_object = true;
    if (depth == 1 && event == json::parse_event_t::key) key = parsed.get<std::string>();
    // A member's value ends with object_end or array_end (containers) or value (the rest).
    bool member_ends = event == json::parse_event_t::value || event == json::parse_event_t::object_end ||
                       event == json::parse_event_t::array_end;
    if (depth == 1 && member_ends) {
      if (!top_is_object) refuse(origin, "the tracker's JSON is one object: source package -> issues");
      one_tracker_package(key, parsed, origin, sink, counts);
      return false;
    }
    return true;
  };
  try {
    json rest = json::parse(json_text, callback);  // what remains is the emptied top object
  } catch (const json::exception& error) {
    refuse(origin, std::string("not valid JSON: ") + error.what());
  }
  if (!top_is_object) refuse(origin, "the tracker's JSON is one object: source package -> issues");
  return counts;
}

}  // namespace vigil::advisories
