// The FIM baseline on real files under a temp dir: what is watched (depth,
// include/exclude, symlinks not followed, hard links, unreadable places,
// overlapping paths), hashes that agree with coreutils, a 100,000-file tree,
// manifest errors with their line, and the monitor's compact baseline
// (RecordTree) giving back every record as it was given.
#include <gtest/gtest.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "baseline.h"
#include "record_tree.h"
#include "test_support.h"

namespace vigil::fim {
namespace {

namespace fs = std::filesystem;

class FimBaseline : public ::testing::Test {
 protected:
  void write(const std::string& path, const std::string& text) {
    fs::path file = dir_.path() / fs::path(path).relative_path();
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
  }
  std::map<std::string, FileRecord> collect_yaml(const std::string& yaml) {
    std::map<std::string, FileRecord> out;
    manifest_ = parse_manifest(yaml);
    for (auto& record : collect(manifest_, dir_.path())) out[record.path] = record;
    return out;
  }
  // What coreutils says: `<tool> FILE` → first word.
  std::string coreutils(const std::string& tool, const std::string& path) {
    auto result = test::run({"/usr/bin/" + tool, (dir_.path() / fs::path(path).relative_path()).string()});
    return result.out.substr(0, result.out.find(' '));
  }

  test::TempDir dir_;
  Manifest manifest_;
};

TEST_F(FimBaseline, WatchesWhatTheManifestSays_SymlinksNotFollowed_HardLinksSeen) {
  write("/etc/app/app.conf", "a");
  write("/etc/app/app.conf.swp", "swap");
  write("/etc/app/cache/data.bin", "c");
  write("/etc/app/deep/1/2/3/far.conf", "far");
  write("/etc/other/x.conf", "x");
  fs::create_symlink("/etc/other", dir_.path() / "etc/app/link");
  fs::create_hard_link(dir_.path() / "etc/app/app.conf", dir_.path() / "etc/app/hard.conf");
  auto records = collect_yaml(R"(
hash: sha256
paths:
  - path: /etc/app
    depth: 3
    exclude: ['*.swp', /etc/app/cache]
  - path: /etc/app/app.conf   # overlaps: one record
)");
  EXPECT_TRUE(records.count("/etc/app"));
  EXPECT_TRUE(records.count("/etc/app/app.conf"));
  EXPECT_FALSE(records.count("/etc/app/app.conf.swp"));
  EXPECT_FALSE(records.count("/etc/app/cache")) << "excluded directory";
  EXPECT_FALSE(records.count("/etc/app/cache/data.bin"));
  EXPECT_TRUE(records.count("/etc/app/deep/1/2"));
  EXPECT_FALSE(records.count("/etc/app/deep/1/2/3")) << "deeper than depth 3";
  ASSERT_TRUE(records.count("/etc/app/link"));
  EXPECT_EQ(records["/etc/app/link"].type, "symlink");
  EXPECT_EQ(records["/etc/app/link"].target, "/etc/other");
  EXPECT_FALSE(records.count("/etc/app/link/x.conf")) << "symlinks are not followed";
  EXPECT_EQ(records["/etc/app/hard.conf"].inode, records["/etc/app/app.conf"].inode);
  EXPECT_EQ(records["/etc/app/hard.conf"].links, 2u);

  auto only_conf = collect_yaml("paths:\n  - {path: /etc/app, include: ['*.conf']}\n");
  EXPECT_TRUE(only_conf.count("/etc/app/deep/1/2/3/far.conf"));
  EXPECT_FALSE(only_conf.count("/etc/app/cache/data.bin"));
  EXPECT_TRUE(only_conf.count("/etc/app/deep")) << "directories are walked whatever the include";

  auto missing = collect_yaml("paths:\n  - {path: /nowhere}\n");
  ASSERT_TRUE(missing.count("/nowhere"));
  EXPECT_EQ(missing["/nowhere"].type, "missing");
}

TEST_F(FimBaseline, HashesAgreeWithCoreutils_OnOneAndSeveralThreads) {
  write("/d/empty", "");
  write("/d/small", "hello\n");
  write("/d/big", std::string(3 * (1 << 20) + 17, 'z'));  // past the 1 MiB read buffer
  for (const auto& [algorithm, tool] : std::vector<std::pair<std::string, std::string>>{
           {"sha256", "sha256sum"}, {"sha512", "sha512sum"}, {"blake2b512", "b2sum"}}) {
    for (unsigned threads : {1u, 4u}) {
      SCOPED_TRACE(algorithm + " threads " + std::to_string(threads));
      Manifest manifest = parse_manifest("hash: " + algorithm + "\npaths:\n  - {path: /d}\n");
      auto records = collect(manifest, dir_.path());
      size_t checkpoints = 0;
      hash_files(records, dir_.path(), manifest.algorithm, threads, [&](size_t, size_t) { ++checkpoints; });
      EXPECT_GT(checkpoints, 0u);
      for (const auto& record : records) {
        if (record.type != "file") continue;
        EXPECT_EQ(record.hash, coreutils(tool, record.path)) << record.path;
      }
    }
  }
}

TEST_F(FimBaseline, UnreadableFilesAndDirectoriesAreReportedNotFatal) {
  if (::geteuid() == 0 && !test::in_rerun()) {  // root reads everything: run again as nobody
    auto child = test::rerun_test(test::as_nobody(), "FimBaseline.UnreadableFilesAndDirectoriesAreReportedNotFatal");
    if (!test::rerun_ran(child)) GTEST_SKIP() << "running as root, and cannot run as nobody: " << child.err;
    EXPECT_EQ(child.exit_code, 0) << child.out << child.err;
    return;
  }
  write("/d/secret", "s");
  write("/d/closed/inner", "i");
  write("/d/open", "o");
  ::chmod((dir_.path() / "d/secret").c_str(), 0);
  ::chmod((dir_.path() / "d/closed").c_str(), 0);
  Manifest manifest = parse_manifest("paths:\n  - {path: /d}\n");
  auto records = collect(manifest, dir_.path());
  hash_files(records, dir_.path(), manifest.algorithm, 2, {});
  std::map<std::string, FileRecord> by_path;
  for (auto& record : records) by_path[record.path] = record;
  EXPECT_EQ(by_path["/d/secret"].error, "Permission denied");
  EXPECT_NE(by_path["/d/closed"].error.find("permission denied"), std::string::npos);
  EXPECT_FALSE(by_path["/d/open"].hash.empty());
  ::chmod((dir_.path() / "d/closed").c_str(), 0755);
}

// Extended attributes and ACLs, where the filesystem has them: each xattr
// by name with a digest of its value; an ACL beyond the mode bits as text.
TEST_F(FimBaseline, ExtendedAttributesAndAcls) {
  write("/d/tagged", "t");
  write("/d/shared", "s");
  write("/d/plain", "p");
  auto tagged = dir_.path() / "d/tagged";
  if (::setxattr(tagged.c_str(), "user.vigil", "v1", 2, 0) != 0) {
    GTEST_SKIP() << "this filesystem takes no user xattrs: " << std::strerror(errno);
  }
  acl_t acl = ::acl_from_text("u::rw-,u:65534:r--,g::r--,m::r--,o::---");
  ASSERT_NE(acl, nullptr);
  int set = ::acl_set_file((dir_.path() / "d/shared").c_str(), ACL_TYPE_ACCESS, acl);
  int set_errno = errno;
  ::acl_free(acl);
  if (set != 0) GTEST_SKIP() << "this filesystem takes no ACLs: " << std::strerror(set_errno);

  auto by_path = [&] {
    std::map<std::string, FileRecord> records;
    for (auto& record : collect(parse_manifest("paths: [{path: /d}]"), dir_.path())) records[record.path] = record;
    return records;
  };
  auto records = by_path();
  std::string digest = test::run({"/bin/sh", "-c", "printf v1 | sha256sum"}).out.substr(0, 16);
  EXPECT_EQ(records["/d/tagged"].xattrs, "user.vigil=" + digest);
  EXPECT_EQ(records["/d/tagged"].acl, "");
  EXPECT_EQ(records["/d/shared"].acl, "u::rw-,u:65534:r--,g::r--,m::r--,o::---");
  EXPECT_EQ(records["/d/shared"].xattrs, "") << "the ACL is not repeated as an xattr";
  EXPECT_EQ(records["/d/plain"].xattrs + records["/d/plain"].acl, "");

  ASSERT_EQ(::setxattr(tagged.c_str(), "user.vigil", "v2", 2, 0), 0);
  ASSERT_EQ(::setxattr(tagged.c_str(), "user.another", "", 0, 0), 0);
  records = by_path();
  std::string changed = test::run({"/bin/sh", "-c", "printf v2 | sha256sum"}).out.substr(0, 16);
  std::string empty = test::run({"/bin/sh", "-c", "printf '' | sha256sum"}).out.substr(0, 16);
  EXPECT_EQ(records["/d/tagged"].xattrs, "user.another=" + empty + ",user.vigil=" + changed);

  // Not watched when the manifest leaves them out.
  auto manifest = parse_manifest("paths: [{path: /d, attributes: [hash, mode]}]");
  for (const auto& record : collect(manifest, dir_.path())) EXPECT_EQ(record.xattrs + record.acl, "") << record.path;
}

TEST_F(FimBaseline, AHundredThousandFiles) {
  for (int d = 0; d < 100; ++d) {
    fs::path dir = dir_.path() / "tree" / std::to_string(d);
    fs::create_directories(dir);
    for (int f = 0; f < 1000; ++f) std::ofstream(dir / std::to_string(f)) << d << ":" << f;
  }
  Manifest manifest = parse_manifest("paths:\n  - {path: /tree}\n");
  auto records = collect(manifest, dir_.path());
  hash_files(records, dir_.path(), manifest.algorithm, 2, {});
  size_t files = 0, hashed = 0;
  for (const auto& record : records) {
    files += record.type == "file";
    hashed += !record.hash.empty();
  }
  EXPECT_EQ(files, 100000u);
  EXPECT_EQ(hashed, 100000u);
}

TEST(FimManifest, RefusesBadManifestsWithTheLine) {
  struct Case {
    const char* text;
    const char* error;
  };
  for (const Case& bad : {Case{"hash: md4\npaths:\n  - {path: /etc}\n", "fim manifest:1: hash must be sha256"},
                          Case{"paths:\n  - {path: etc}\n", "fim manifest:2: path must be absolute"},
                          Case{"paths:\n  - {path: /etc, depth: 99}\n", "fim manifest:2: depth must be 0-64"},
                          Case{"paths:\n  - {path: /etc, attributes: [colour]}\n", "unknown attribute 'colour'"},
                          Case{"paths: []\n", "fim manifest:1: paths must be a non-empty list"},
                          Case{"paths:\n  - {depth: 1}\n", "fim manifest:2: a watched path needs 'path'"},
                          Case{"watch: /etc\n", "unknown field 'watch'"}, Case{",", "fim manifest"},
                          Case{"paths: [\n", "not valid YAML"}}) {
    try {
      parse_manifest(bad.text);
      ADD_FAILURE() << "accepted: " << bad.text;
    } catch (const ManifestError& error) {
      EXPECT_NE(std::string(error.what()).find(bad.error), std::string::npos) << error.what();
    }
  }
}

// The default manifest (plugins/fim/defaults) parses, watches the system's
// programs and configuration, and leaves out what the system rewrites itself.
TEST(FimManifest, TheDefaultWatchesTheSystemAndLeavesOutVolatileFiles) {
  std::ifstream file(std::string(VIGIL_SOURCE_DIR) + "/plugins/fim/defaults/fim.manifest");
  std::stringstream text;
  text << file.rdbuf();
  ASSERT_TRUE(file) << "cannot read the default manifest";
  Manifest manifest = parse_manifest(text.str());
  for (const char* watched : {"/etc/passwd", "/etc/ssh/sshd_config", "/usr/bin/sudo", "/usr/sbin/sshd",
                              "/usr/lib/systemd/system/ssh.service", "/boot/vmlinuz-6.1.0-1-amd64"}) {
    EXPECT_NE(covering(manifest, watched, false), nullptr) << watched << " is not watched";
  }
  for (const char* volatile_file :
       {"/etc/mtab", "/etc/adjtime", "/etc/ld.so.cache", "/etc/.passwd.swp", "/etc/hosts~", "/boot/grub/grubenv"}) {
    EXPECT_EQ(covering(manifest, volatile_file, false), nullptr) << volatile_file << " is watched";
  }
}

// Every field of a record, to compare two.
std::string fields(const FileRecord& record) {
  return record.path + "|" + record.type + "|" + std::to_string(record.size) + "|" + std::to_string(record.mode) + "|" +
         std::to_string(record.uid) + "|" + std::to_string(record.gid) + "|" + std::to_string(record.mtime_ns) + "|" +
         std::to_string(record.ctime_ns) + "|" + std::to_string(record.inode) + "|" + std::to_string(record.links) +
         "|" + record.target + "|" + record.xattrs + "|" + record.acl + "|" + record.hash + "|" + record.error + "|" +
         (record.watch != nullptr ? record.watch->path : "(none)");
}

FileRecord record(const std::string& path, const std::string& type, const WatchedPath* watch) {
  FileRecord out;
  out.path = path;
  out.type = type;
  out.watch = watch;
  return out;
}

std::vector<std::string> paths_of(const std::vector<FileRecord>& records) {
  std::vector<std::string> out;
  for (const auto& one : records) out.push_back(one.path);
  return out;
}

TEST(FimRecordTree, GivesBackEveryFieldAsGiven) {
  for (const char* algorithm : {"sha256", "sha512"}) {
    Manifest manifest = parse_manifest(std::string("hash: ") + algorithm + "\npaths: [{path: /etc}, {path: /var}]");
    const WatchedPath* etc = &manifest.paths[0];
    std::vector<FileRecord> given;
    FileRecord file = record("/etc/app/app.conf", "file", etc);
    file.size = 12, file.mode = 0640, file.uid = 1000, file.gid = 1001, file.links = 2;
    file.mtime_ns = 1700000000123456789, file.ctime_ns = -5, file.inode = UINT64_MAX;
    file.hash = std::string(std::string(algorithm) == "sha256" ? 64 : 128, 'e');
    file.hash.replace(0, 6, "0189af");
    file.xattrs = "security.selinux=0123456789abcdef,user.note=fedcba9876543210";
    file.acl = "u::rw-,u:1000:r--,g::r--,m::r--,o::---";
    given.push_back(file);
    file.path = "/etc/app/same.conf";  // the same texts: shared
    given.push_back(file);
    FileRecord link = record("/etc/app/link", "symlink", etc);
    link.target = std::string("../elsewhere\0with a nul", 23);
    given.push_back(link);
    FileRecord odd = record("/etc/app-old", "file", etc);
    odd.hash = "not the algorithm's hex";  // kept as text
    odd.error = "Permission denied";
    given.push_back(odd);
    FileRecord upper = record("/etc/app/upper", "file", etc);
    upper.hash = std::string(std::string(algorithm) == "sha256" ? 64 : 128, 'A');  // not what hash_file writes
    given.push_back(upper);
    given.push_back(record("/etc/app", "directory", etc));
    given.push_back(record("/", "directory", nullptr));
    given.push_back(record("/var//odd/", "other", &manifest.paths[1]));

    RecordTree tree(manifest);
    for (const auto& one : given) tree.set(one);
    EXPECT_EQ(tree.size(), given.size());
    for (const auto& one : given) {
      auto found = tree.find(one.path);
      ASSERT_TRUE(found) << one.path;
      EXPECT_EQ(fields(*found), fields(one));
    }
    EXPECT_FALSE(tree.contains("/etc"));  // on the way, no record
    EXPECT_FALSE(tree.find("/etc"));
    EXPECT_FALSE(tree.find("etc/app"));
    EXPECT_FALSE(tree.find("/etc/app/missing"));
    std::sort(given.begin(), given.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    auto all = tree.records();
    ASSERT_EQ(all.size(), given.size());
    for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(fields(all[i]), fields(given[i]));

    file.path = "/etc/app/app.conf";  // replaced
    file.size = 13;
    file.xattrs.clear();
    tree.set(file);
    EXPECT_EQ(tree.size(), given.size());
    EXPECT_EQ(fields(*tree.find(file.path)), fields(file));
    Manifest other = manifest;
    EXPECT_THROW(tree.set(record("/etc/x", "file", &other.paths[0])), std::invalid_argument);
    EXPECT_THROW(tree.set(record("relative", "file", etc)), std::invalid_argument);
  }
}

// A sibling whose name continues the directory's ("d-old", "d.bak") sorts
// between "d" and "d/..." as text; the tree still finds everything below "d".
TEST(FimRecordTree, ExtractsAndVisitsEverythingBelow) {
  Manifest manifest = parse_manifest("paths: [{path: /}]");
  const WatchedPath* top = &manifest.paths[0];
  RecordTree tree(manifest);
  for (const char* path : {"/d", "/d/sub", "/d-old"}) tree.set(record(path, "directory", top));
  for (const char* path : {"/d/x", "/d/sub/y", "/d-old/k", "/d.bak/z"}) tree.set(record(path, "file", top));

  std::vector<std::string> visited;
  tree.visit("/d", [&](const std::string& path, std::string_view type, const WatchedPath* watch) {
    visited.push_back(path + " " + std::string(type));
    EXPECT_EQ(watch, top);
  });
  EXPECT_EQ(visited, (std::vector<std::string>{"/d directory", "/d/sub directory", "/d/sub/y file", "/d/x file"}));

  EXPECT_TRUE(tree.extract("/d.bak").empty());  // no record there: nothing taken
  EXPECT_TRUE(tree.contains("/d.bak/z"));
  EXPECT_EQ(paths_of(tree.extract("/d")), (std::vector<std::string>{"/d", "/d/sub", "/d/sub/y", "/d/x"}));
  EXPECT_EQ(paths_of(tree.records()), (std::vector<std::string>{"/d-old", "/d-old/k", "/d.bak/z"}));

  tree.erase("/d-old");  // that record alone
  EXPECT_EQ(paths_of(tree.records()), (std::vector<std::string>{"/d-old/k", "/d.bak/z"}));
  EXPECT_EQ(tree.size(), 2u);
  EXPECT_EQ(paths_of(tree.extract("/d-old/k")), (std::vector<std::string>{"/d-old/k"}));
  EXPECT_EQ(paths_of(tree.extract("/d.bak/z")), (std::vector<std::string>{"/d.bak/z"}));
  EXPECT_EQ(tree.size(), 0u);
  EXPECT_TRUE(tree.records().empty());
}

// Names and shared texts of removed records are reused or reclaimed: a
// long-running monitor that sees files come and go keeps working.
TEST(FimRecordTree, FilesComingAndGoingLeaveTheRestIntact) {
  Manifest manifest = parse_manifest("paths: [{path: /var/log}]");
  const WatchedPath* top = &manifest.paths[0];
  RecordTree tree(manifest);
  std::vector<FileRecord> kept;
  for (int i = 0; i < 100; ++i) {
    FileRecord one = record("/var/log/kept-" + std::to_string(i) + ".log", "file", top);
    one.size = static_cast<uint64_t>(i);
    one.xattrs = "user.i=" + std::to_string(i % 7);
    kept.push_back(one);
    tree.set(one);
  }
  for (int round = 0; round < 20000; ++round) {
    FileRecord passing =
        record("/var/log/rotated/a-rather-long-name-of-a-log-file." + std::to_string(round), "file", top);
    passing.error = "Permission denied " + std::to_string(round);
    tree.set(passing);
    ASSERT_EQ(fields(tree.extract(passing.path).at(0)), fields(passing));
  }
  EXPECT_EQ(tree.size(), kept.size());
  EXPECT_FALSE(tree.contains("/var/log/rotated"));
  for (const auto& one : kept) EXPECT_EQ(fields(*tree.find(one.path)), fields(one));
}

}  // namespace
}  // namespace vigil::fim
