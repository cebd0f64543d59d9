#include "vigil/packages/dpkg_status.h"

#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

#include "vigil/text/text.h"

namespace vigil::packages {

namespace {

// trim() takes every blank (and so a CR of a file edited on Windows) where dpkg
// takes spaces and tabs: they differ only on a vertical tab or a form feed,
// which dpkg never writes into its status file.

struct Stanza {
  size_t line = 0;
  std::string package, status, version, architecture, multi_arch, source;
};

void finish(Stanza& stanza, DpkgStatus& out) {
  if (stanza.line == 0) return;
  if (stanza.package.empty()) {
    out.problems.push_back("line " + std::to_string(stanza.line) + ": stanza without a Package field skipped");
  } else {
    DpkgPackage package;
    package.package = stanza.package;
    package.name = stanza.multi_arch == "same" && !stanza.architecture.empty()
                       ? stanza.package + ":" + stanza.architecture
                       : stanza.package;
    package.version = stanza.version;
    package.architecture = stanza.architecture;
    package.status = stanza.status;
    // "Source: name (version)" when the source version differs from the binary's.
    std::string_view source = trim(stanza.source);
    size_t paren = source.find('(');
    package.source = std::string(trim(source.substr(0, paren)));
    if (paren != std::string_view::npos) {
      size_t close = source.find(')', paren);
      package.source_version = std::string(
          trim(source.substr(paren + 1, close == std::string_view::npos ? std::string_view::npos : close - paren - 1)));
    }
    if (package.source.empty()) package.source = package.package;
    if (package.source_version.empty()) package.source_version = package.version;
    out.packages.push_back(std::move(package));
  }
  stanza = Stanza{};
}

}  // namespace

bool DpkgPackage::installed() const {
  size_t last = status.rfind(' ');
  return status.substr(last == std::string::npos ? 0 : last + 1) == "installed";
}

DpkgStatus parse_dpkg_status(std::string_view text) {
  DpkgStatus out;
  Stanza stanza;
  size_t line_number = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_number;
    if (trim(line).empty()) {
      finish(stanza, out);
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') continue;  // continuation of a field we do not keep
    if (stanza.line == 0) stanza.line = line_number;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      out.problems.push_back("line " + std::to_string(line_number) + ": not a 'Field: value' line");
      continue;
    }
    std::string_view field = line.substr(0, colon);
    std::string value(trim(line.substr(colon + 1)));
    if (field == "Package") {
      stanza.package = value;
    } else if (field == "Status") {
      stanza.status = value;
    } else if (field == "Version") {
      stanza.version = value;
    } else if (field == "Architecture") {
      stanza.architecture = value;
    } else if (field == "Multi-Arch") {
      stanza.multi_arch = value;
    } else if (field == "Source") {
      stanza.source = value;
    }
  }
  finish(stanza, out);
  return out;
}

std::optional<DpkgStatus> read_dpkg_status(const std::filesystem::path& file, std::string* error) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    if (error != nullptr) *error = "cannot read " + file.string() + ": " + std::generic_category().message(errno);
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_dpkg_status(text.str());
}

}  // namespace vigil::packages
