// Advisories imported from the formats distributions publish them in:
//   - OSV (https://ossf.github.io/osv-schema/): one advisory per JSON
//     document, or a JSON array of them; only the ecosystems of OS releases
//     whose package database the agent reads (Debian, Ubuntu, AlmaLinux,
//     Rocky Linux, Red Hat) are taken.
//   - The Debian Security Tracker's JSON: source package -> issue id ->
//     release codename -> status, fixed_version, urgency.
// A malformed or uninterpretable advisory throws std::invalid_argument naming
// the origin, the advisory id and the field; what is deliberately not taken
// (another ecosystem, a withdrawn advisory, "not affected") is counted in
// `skipped` by reason.
#pragma once

#include <filesystem>
#include <functional>
#include <istream>
#include <map>
#include <string>
#include <string_view>

#include "vigil/advisories/advisory.h"

namespace vigil::advisories {

struct ImportCounts {
  size_t advisories = 0;                  // handed to the callback
  std::map<std::string, size_t> skipped;  // reason -> how many
};

using Sink = std::function<void(Advisory&&)>;

// `origin` names the input in errors (a file name).
ImportCounts import_osv(std::string_view json_text, const std::string& origin, const Sink& sink);
// Streams the tracker's one big object a package at a time: memory stays
// that of one package's entry, not of the whole file.
ImportCounts import_debian_tracker(std::istream& json_text, const std::string& origin, const Sink& sink);

// A file in either format (told apart by its first key: an OSV document
// starts with one of OSV's fields, the tracker with a package name), or a
// directory's *.json files, recursively, in name order (an OSV export).
ImportCounts import_path(const std::filesystem::path& path, const Sink& sink);

// Adds `more` into `total`.
void add_counts(ImportCounts& total, const ImportCounts& more);

}  // namespace vigil::advisories
