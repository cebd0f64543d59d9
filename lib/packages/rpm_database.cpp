#include "vigil/packages/rpm_database.h"

#include <rpm/header.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmtag.h>
#include <rpm/rpmts.h>

#include <fcntl.h>
#include <sqlite3.h>

#include <mutex>

namespace vigil::packages {

namespace {

std::mutex librpm;  // librpm keeps its configuration and macros in globals

// librpm leaks its SQLite connection when the file is damaged (seen under
// LeakSanitizer), so a SQLite database is checked first with SQLite itself.
std::optional<std::string> damaged(const std::filesystem::path& file) {
  std::error_code ignored;
  if (!std::filesystem::exists(file, ignored)) return std::nullopt;
  sqlite3* db = nullptr;
  std::optional<std::string> problem;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    problem = sqlite3_errmsg(db);
  } else {
    sqlite3_stmt* check = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &check, nullptr) != SQLITE_OK) {
      problem = sqlite3_errmsg(db);
    } else if (sqlite3_step(check) != SQLITE_ROW) {
      problem = sqlite3_errmsg(db);
    } else if (std::string(reinterpret_cast<const char*>(sqlite3_column_text(check, 0))) != "ok") {
      problem = reinterpret_cast<const char*>(sqlite3_column_text(check, 0));
    }
    sqlite3_finalize(check);
  }
  sqlite3_close(db);
  return problem;
}

std::string text(Header header, rpmTagVal tag) {
  const char* value = headerGetString(header, tag);
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace

std::optional<std::vector<RpmPackage>> read_rpm_database(const std::filesystem::path& root, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<std::vector<RpmPackage>> {
    if (error != nullptr) *error = why;
    return std::nullopt;
  };
  std::error_code ignored;
  if (!std::filesystem::is_directory(root / "var/lib/rpm", ignored)) {
    return fail("no RPM database under " + (root / "var/lib/rpm").string());
  }
  if (auto problem = damaged(root / "var/lib/rpm/rpmdb.sqlite")) {
    return fail("damaged RPM database " + (root / "var/lib/rpm/rpmdb.sqlite").string() + ": " + *problem);
  }
  std::lock_guard lock(librpm);
  static bool configured = [] {
    rpmSetVerbosity(RPMLOG_CRIT);  // a damaged database is reported through our error, not on stderr
    return rpmReadConfigFiles(nullptr, nullptr) == 0;
  }();
  if (!configured) return fail("librpm could not read its configuration");
  // The standard location on RPM systems (Debian's own rpm defaults elsewhere).
  rpmPushMacro(nullptr, "_dbpath", nullptr, "/var/lib/rpm", RMIL_CMDLINE);
  rpmts transaction = rpmtsCreate();
  rpmtsSetRootDir(transaction, root.c_str());
  std::optional<std::vector<RpmPackage>> packages;
  if (rpmtsOpenDB(transaction, O_RDONLY) != 0) {
    packages = fail("librpm cannot open the RPM database under " + root.string());
  } else {
    packages.emplace();
    rpmdbMatchIterator iterator = rpmtsInitIterator(transaction, RPMDBI_PACKAGES, nullptr, 0);
    for (Header header; iterator != nullptr && (header = rpmdbNextIterator(iterator)) != nullptr;) {
      RpmPackage package;
      package.name = text(header, RPMTAG_NAME);
      if (package.name == "gpg-pubkey") continue;  // imported signing keys, not software
      std::string epoch = headerIsEntry(header, RPMTAG_EPOCH) != 0
                              ? std::to_string(headerGetNumber(header, RPMTAG_EPOCH)) + ":"
                              : std::string();
      package.evr = epoch + text(header, RPMTAG_VERSION) + "-" + text(header, RPMTAG_RELEASE);
      package.architecture = text(header, RPMTAG_ARCH);
      package.source_rpm = text(header, RPMTAG_SOURCERPM);
      package.install_time = static_cast<int64_t>(headerGetNumber(header, RPMTAG_INSTALLTIME));
      packages->push_back(std::move(package));
    }
    rpmdbFreeIterator(iterator);
  }
  rpmtsFree(transaction);
  rpmPopMacro(nullptr, "_dbpath");
  return packages;
}

std::pair<std::string, std::string> split_source_rpm(std::string_view file) {
  constexpr std::string_view suffix = ".src.rpm";
  if (!file.ends_with(suffix)) return {};
  file.remove_suffix(suffix.size());
  size_t release = file.rfind('-');
  if (release == std::string_view::npos || release == 0) return {};
  size_t version = file.rfind('-', release - 1);
  if (version == std::string_view::npos || version == 0) return {};
  return {std::string(file.substr(0, version)), std::string(file.substr(version + 1))};
}

}  // namespace vigil::packages
