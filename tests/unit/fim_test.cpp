// The FIM baseline on real files under a temp dir: what is watched (depth,
// include/exclude, symlinks not followed, hard links, unreadable places,
// overlapping paths), hashes that agree with coreutils, a 100,000-file tree,
// and manifest errors with their line.
#include <gtest/gtest.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>

#include "baseline.h"
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

}  // namespace
}  // namespace vigil::fim
