// Advisories from both formats, generated from this machine's own installed
// packages, carried through the manifest and matched: the findings must be
// exactly the packages whose source version dpkg itself orders before the
// fixed version (`dpkg --compare-versions`), plus the ones not fixed yet.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <sstream>

#include "test_support.h"
#include "vigil/advisories/import.h"
#include "vigil/advisories/manifest.h"
#include "vigil/advisories/match.h"
#include "vigil/machine/machine.h"
#include "vigil/packages/installed.h"

namespace vigil::advisories {
namespace {

using nlohmann::json;

struct Case {
  std::string id, source, installed, fixed;  // fixed "": not fixed yet
};

// Fixed versions drawn around each installed source version: below (~),
// equal, above (+1), with an epoch, and an epoch-0 spelling of the same.
std::vector<Case> cases_from_this_machine(const packages::InstalledPackages& installed) {
  std::vector<Case> cases;
  std::set<std::string> sources;
  for (const auto& package : installed.dpkg->packages) {
    if (!package.installed() || !sources.insert(package.source).second) continue;
    const std::string& v = package.source_version;
    bool epoch = v.find(':') != std::string::npos;
    std::vector<std::string> fixes = {v + "~deb12u1", v, v + "+1", epoch ? v : "1:" + v, epoch ? v : "0:" + v, ""};
    size_t pick = sources.size() % fixes.size();
    cases.push_back({"CVE-2099-" + std::to_string(10000 + cases.size()), package.source, v, fixes[pick]});
  }
  return cases;
}

std::string tracker_json(const std::vector<Case>& cases) {
  json doc = json::object();
  for (const Case& c : cases) {
    json release = {{"status", c.fixed.empty() ? "open" : "resolved"}, {"urgency", "medium"}, {"repositories", {}}};
    if (!c.fixed.empty()) release["fixed_version"] = c.fixed;
    doc[c.source][c.id] = {{"description", "test issue"}, {"releases", {{"bookworm", release}}}};
  }
  return doc.dump();
}

std::string osv_json(const std::vector<Case>& cases) {
  json all = json::array();
  for (const Case& c : cases) {
    json events = json::array({{{"introduced", "0"}}});
    if (!c.fixed.empty()) events.push_back({{"fixed", c.fixed}});
    all.push_back({{"id", "DEBIAN-" + c.id},
                   {"aliases", {c.id}},
                   {"summary", "test issue"},
                   {"references", {{{"type", "ADVISORY"}, {"url", "https://example.invalid/" + c.id}}}},
                   {"affected",
                    {{{"package", {{"ecosystem", "Debian:12"}, {"name", c.source}}},
                      {"ranges", {{{"type", "ECOSYSTEM"}, {"events", events}}}}}}}});
  }
  return all.dump();
}

// Which sources dpkg itself says are affected: installed < fixed, or no fix.
std::set<std::string> affected_by_dpkg(const std::vector<Case>& cases) {
  std::set<std::string> affected;
  for (const Case& c : cases) {
    if (c.fixed.empty() ||
        test::run({"/usr/bin/dpkg", "--compare-versions", c.installed, "lt", c.fixed}).exit_code == 0) {
      affected.insert(c.source);
    }
  }
  return affected;
}

std::set<std::string> affected_by_us(const std::string& manifest, const InstalledIndex& index,
                                     std::map<std::string, std::string>* evidence = nullptr) {
  std::set<std::string> affected;
  read_manifest(
      manifest,
      [&](std::string_view manager, bool by_source, std::string_view package) {
        return index.has(manager, by_source, package);
      },
      [&](Advisory&& advisory) {
        for (const Finding& finding : findings(advisory, index)) {
          affected.insert(finding.package->source);
          if (evidence) (*evidence)[finding.package->name] = finding.evidence(advisory);
        }
      });
  return affected;
}

class AdvisoriesOnThisMachine : public ::testing::Test {
 protected:
  void SetUp() override {
    installed_ = packages::read_installed_packages("/");
    if (!installed_.dpkg) GTEST_SKIP() << "no dpkg database on this machine: " << installed_.dpkg_error;
    cases_ = cases_from_this_machine(installed_);
    ASSERT_GT(cases_.size(), 20u);
  }
  std::string manifest_of(const std::vector<Advisory>& advisories) {
    std::string text = manifest_header("debian:12");
    for (const auto& advisory : advisories) text += manifest_line(advisory);
    return text;
  }
  packages::InstalledPackages installed_;
  std::vector<Case> cases_;
};

TEST_F(AdvisoriesOnThisMachine, BothFormatsGiveExactlyWhatDpkgOrders) {
  std::set<std::string> expected = affected_by_dpkg(cases_);
  ASSERT_FALSE(expected.empty());
  ASSERT_LT(expected.size(), cases_.size());  // some are fixed: the test can fail both ways
  InstalledIndex index(installed_);
  for (const std::string format : {"tracker", "osv"}) {
    SCOPED_TRACE(format);
    std::vector<Advisory> imported;
    ImportCounts counts;
    if (format == "tracker") {
      std::istringstream text(tracker_json(cases_));
      counts = import_debian_tracker(text, "tracker.json", [&](Advisory&& a) { imported.push_back(std::move(a)); });
    } else {
      counts = import_osv(osv_json(cases_), "osv.json", [&](Advisory&& a) { imported.push_back(std::move(a)); });
    }
    // Fixed "0:<v>" is still a real fix; only the tracker's bare "0" means "not affected".
    EXPECT_EQ(counts.advisories, cases_.size());
    EXPECT_EQ(affected_by_us(manifest_of(imported), index), expected);
  }
}

TEST_F(AdvisoriesOnThisMachine, ABinaryIsComparedByItsSourcePackage) {
  const packages::DpkgPackage* renamed = nullptr;
  for (const auto& package : installed_.dpkg->packages) {
    if (package.installed() && package.source != package.package) {
      renamed = &package;
      break;
    }
  }
  if (renamed == nullptr) GTEST_SKIP() << "no installed binary package with a source of another name";
  Advisory advisory{"CVE-2099-1",
                    "debian:12",
                    "dpkg",
                    true,
                    renamed->source,
                    {{"", renamed->source_version + "+1", ""}},
                    "high",
                    "",
                    {"CVE-2099-1"},
                    {},
                    {},
                    "",
                    "s"};
  std::map<std::string, std::string> evidence;
  InstalledIndex index(installed_);
  affected_by_us(manifest_of({advisory}), index, &evidence);
  ASSERT_TRUE(evidence.count(renamed->name)) << renamed->name;
  EXPECT_EQ(evidence[renamed->name], renamed->name + " " + renamed->version + " (source " + renamed->source + " " +
                                         renamed->source_version + ") < fixed " + renamed->source_version + "+1");
}

TEST(Advisories, MalformedAdvisoriesNameTheFileTheIdAndTheField) {
  auto none = [](Advisory&&) {};
  const std::vector<std::pair<std::string, std::string>> osv = {
      {R"({"id": "X-1", "affected": [{"package": {"ecosystem": "Debian:12", "name": "p"},
          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "a:1.0"}]}]}]})",
       "f.json: X-1.affected[0].ranges[0].events[1].fixed: version 'a:1.0'"},
      {R"({"id": "X-2", "affected": [{"package": {"ecosystem": "Debian:12", "name": "p"},
          "ranges": [{"type": "GIT", "repo": "r", "events": [{"introduced": "0"}]}]}]})",
       "f.json: X-2.affected[0]: no ECOSYSTEM range and no versions"},
      {R"({"id": "X-3", "severity": [{"type": "MADEUP", "score": "9"}], "affected": []})",
       "f.json: X-3.severity[0].type: 'MADEUP' is not a severity type"},
      {R"({"id": "X-4", "summery": "typo"})", "f.json: X-4.summery: a field this importer does not know"},
      {R"({"id": "X-5", "affected": [{"package": {"ecosystem": "Debian:12", "name": "p"},
          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"limit": "2"}]}]}]})",
       "X-5.affected[0].ranges[0].events[1]: 'limit' events are not supported"},
      {R"({"affected": []})", "f.json: 'id' is missing"},
      {"{not json", "f.json: not valid JSON"},
  };
  for (const auto& [text, says] : osv) {
    try {
      import_osv(text, "f.json", none);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find(says), std::string::npos) << error.what();
    }
  }
  const std::vector<std::pair<std::string, std::string>> tracker = {
      {R"({"openssl": {"CVE-1": {"releases": {"bookworm": {"status": "resolved", "urgency": "low"}}}}})",
       "t.json: openssl: CVE-1.releases.bookworm: resolved without a fixed_version"},
      {R"({"openssl": {"CVE-2": {"releases": {"bookworm": {"status": "fixed?", "urgency": "low"}}}}})",
       "CVE-2.releases.bookworm.status: 'fixed?' is not resolved, open or undetermined"},
      {R"({"openssl": {"CVE-3": {"releases": {"bookworm": {"status": "open", "urgency": "urgent"}}}}})",
       "CVE-3.releases.bookworm.urgency: severity 'urgent' is not a word"},
      {R"({"openssl": {"CVE-4": {"releases": {"bookworm": {"status": "resolved", "fixed_version": "3.0 1",
          "urgency": "low"}}}}})",
       "CVE-4.releases.bookworm.fixed_version: version '3.0 1' has blanks"},
      {R"(["not", "an", "object"])", "t.json: the tracker's JSON is one object"},
  };
  for (const auto& [text, says] : tracker) {
    std::istringstream in(text);
    try {
      import_debian_tracker(in, "t.json", none);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find(says), std::string::npos) << error.what();
    }
  }
}

TEST(Advisories, WhatIsNotTakenIsCountedByReason) {
  std::vector<Advisory> taken;
  auto counts = import_osv(R"([
    {"id": "P-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"},
      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]},
    {"id": "W-1", "withdrawn": "2024-01-01T00:00:00Z"},
    {"id": "A-1", "severity": [{"type": "Ubuntu", "score": "high"}],
     "affected": [{"package": {"ecosystem": "Ubuntu:22.04:LTS", "name": "openssl"},
      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.2-0ubuntu1.15"}]}]},
      {"package": {"ecosystem": "AlmaLinux:9", "name": "openssl-libs"},
      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:3.0.7-27.el9"}]}]}]}])",
                           "o.json", [&](Advisory&& a) { taken.push_back(std::move(a)); });
  EXPECT_EQ(counts.advisories, 2u);
  EXPECT_EQ(counts.skipped["withdrawn"], 1u);
  EXPECT_EQ(counts.skipped["ecosystem PyPI (no package database of it is read)"], 1u);
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].release, "ubuntu:22.04");
  EXPECT_EQ(taken[0].severity, "high");
  EXPECT_TRUE(taken[0].by_source);
  EXPECT_EQ(taken[1].release, "almalinux:9");
  EXPECT_EQ(taken[1].manager, "rpm");
  EXPECT_FALSE(taken[1].by_source);
}

TEST(Advisories, OsvRangesFollowVersionOrderNotFileOrder) {
  std::vector<Advisory> taken;
  import_osv(R"({"id": "R-1", "affected": [{"package": {"ecosystem": "Debian:12", "name": "p"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"fixed": "2.0-3"}, {"introduced": "2.0-1"},
      {"introduced": "0"}, {"fixed": "1.5-2"}]}]}]})",
             "o.json", [&](Advisory&& a) { taken.push_back(std::move(a)); });
  ASSERT_EQ(taken.size(), 1u);
  for (const auto& [version, affected] : std::vector<std::pair<std::string, bool>>{
           {"1.0-1", true}, {"1.5-2", false}, {"1.9-1", false}, {"2.0-1", true}, {"2.0-2", true}, {"2.0-3", false}}) {
    EXPECT_EQ(affected_range(taken[0], version) != nullptr, affected) << version;
  }
}

TEST(Advisories, ManifestLinesRoundTripAndBadLinesAreNamed) {
  Advisory a{
      "DSA-1-1",  "debian:12", "dpkg",    true,           "openssl",       {{"1:1.0", "3.0.11-1~deb12u2", ""}, {}},
      "high",     "open",      {"CVE-1"}, {"CVE-1", "X"}, {"https://a b"}, "CVSS:3.1/AV:N",
      "tab\there"};
  std::string text = manifest_header("debian:12") + manifest_line(a);
  std::vector<Advisory> read;
  auto info = read_manifest(
      text, [](std::string_view, bool, std::string_view) { return true; },
      [&](Advisory&& one) { read.push_back(std::move(one)); });
  EXPECT_EQ(info.release, "debian:12");
  EXPECT_EQ(manifest_release(text), "debian:12");
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].ranges.size(), 2u);
  EXPECT_EQ(read[0].ranges[0].introduced, "1:1.0");
  EXPECT_EQ(read[0].ranges[0].fixed, "3.0.11-1~deb12u2");
  EXPECT_EQ(read[0].summary, "tab here");
  EXPECT_EQ(read[0].aliases, (std::vector<std::string>{"CVE-1", "X"}));
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "line 1: empty"},
      {"vigil-advisories 2\n", "line 1: expected 'vigil-advisories 1' first"},
      {"vigil-advisories 1\nX\tdpkg\n", "line 2: an advisory before the 'release <key>' line"},
      {manifest_header("debian:12") + "X\tdpkg\tsource\n", "line 3: 3 tab-separated fields, expected 12"},
      {manifest_header("debian:12") + "X\tapk\tsource\tp\t*\tlow\t-\t-\t-\t-\t-\t-\n", "line 3, manager: 'apk'"},
      {manifest_header("debian:12") + "X\tdpkg\tsource\tp\t<a:1\tlow\t-\t-\t-\t-\t-\t-\n", "line 3, ranges: version"},
      {manifest_header("debian:12") + "X\tdpkg\tsource\tp\t=1\tlow\t-\t-\t-\t-\t-\t-\n", "line 3, ranges: '=1'"},
      {manifest_header("debian:12") + "X\tdpkg\tsource\tp\t*\tsevere\t-\t-\t-\t-\t-\t-\n", "line 3, severity"},
  };
  for (const auto& [manifest, says] : bad) {
    try {
      // Wanted or not, a malformed line fails the whole manifest.
      read_manifest(
          manifest, [](std::string_view, bool, std::string_view) { return false; }, [](Advisory&&) {});
      ADD_FAILURE() << "accepted: " << manifest;
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find(says), std::string::npos) << error.what();
    }
  }
}

TEST(Advisories, ReleaseKeys) {
  EXPECT_EQ(machine::release_key({{"ID", "debian"}, {"VERSION_ID", "12"}}), "debian:12");
  EXPECT_EQ(machine::release_key({{"ID", "ubuntu"}, {"VERSION_ID", "22.04"}}), "ubuntu:22.04");
  EXPECT_EQ(machine::release_key({{"ID", "almalinux"}, {"VERSION_ID", "9.3"}}), "almalinux:9");
  EXPECT_EQ(machine::release_key({{"ID", "debian"}}), "");  // sid has no VERSION_ID
  auto here = machine::read_os_release("/");
  ASSERT_TRUE(here);
  EXPECT_FALSE(machine::release_key(*here).empty());
}

}  // namespace
}  // namespace vigil::advisories
