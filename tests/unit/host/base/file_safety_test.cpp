// Which files the root daemon trusts, and tightening its own files' modes.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "base/file_safety.h"
#include "test_support.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

class FileTrust : public ::testing::Test {
 protected:
  void SetUp() override {
    // Where the temp dir lives may itself be unsafe (a group-writable TMPDIR);
    // the cases below are about what the test makes.
    ASSERT_EQ(why_untrusted(dir_.path()), "") << "TMPDIR is not a safe place for this test";
    ::chmod(dir_.path().c_str(), 0755);
    fs::create_directories(plugins());
    std::ofstream(file()) << "x";
    ::chmod(file().c_str(), 0644);
  }
  fs::path plugins() const { return dir_.path() / "lib/plugins"; }
  fs::path file() const { return plugins() / "module.so"; }

  test::TempDir dir_;
};

TEST_F(FileTrust, ASafeFileInSafeDirectoriesIsTrusted) {
  EXPECT_EQ(why_untrusted(file()), "");
  EXPECT_TRUE(check_trusted(file(), "plugin").ok());
}

TEST_F(FileTrust, AFileOthersCanWriteIsRefusedWithItsPathAndMode) {
  ::chmod(file().c_str(), 0666);
  std::string why = why_untrusted(file());
  EXPECT_NE(why.find(file().string()), std::string::npos) << why;
  EXPECT_NE(why.find("mode 0666"), std::string::npos) << why;
  ::chmod(file().c_str(), 0664);  // group-writable is as bad
  EXPECT_NE(why_untrusted(file()).find("mode 0664"), std::string::npos);
  auto checked = check_trusted(file(), "plugin");
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().rfind("plugin " + file().string() + " refused: ", 0), 0u) << checked.error();
}

TEST_F(FileTrust, ADirectoryOthersCanWriteOnThePathIsRefused) {
  ::chmod((dir_.path() / "lib").c_str(), 0777);
  std::string why = why_untrusted(file());
  EXPECT_NE(why.find("directory " + (dir_.path() / "lib").string()), std::string::npos) << why;
  EXPECT_NE(why.find("mode 0777"), std::string::npos) << why;
  // The sticky bit on a root-owned directory (like /tmp) keeps others from
  // replacing what is in it; on a directory of the agent's user it does not
  // count unless that user is root.
  ::chmod((dir_.path() / "lib").c_str(), 01777);
  EXPECT_EQ(why_untrusted(file()) == "", ::geteuid() == 0);
}

TEST_F(FileTrust, ASymlinkIsJudgedByWhereItLeadsAndWhereItLies) {
  fs::create_directories(dir_.path() / "elsewhere");
  std::ofstream(dir_.path() / "elsewhere/real.so") << "x";
  ::chmod((dir_.path() / "elsewhere/real.so").c_str(), 0644);
  fs::create_symlink(dir_.path() / "elsewhere/real.so", plugins() / "link.so");
  EXPECT_EQ(why_untrusted(plugins() / "link.so"), "");
  ::chmod((dir_.path() / "elsewhere").c_str(), 0777);
  EXPECT_NE(why_untrusted(plugins() / "link.so").find("elsewhere"), std::string::npos);
}

TEST_F(FileTrust, ASecretMustNotBeReadableByOthers) {
  EXPECT_NE(why_untrusted(file(), Secrecy::kSecret).find("readable by group or others (mode 0644)"), std::string::npos);
  ::chmod(file().c_str(), 0600);
  EXPECT_EQ(why_untrusted(file(), Secrecy::kSecret), "");
}

TEST_F(FileTrust, AFileOfAnotherUserIsRefused_AsRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a file to nobody";
  ASSERT_EQ(::chown(file().c_str(), 65534, 65534), 0);
  std::string why = why_untrusted(file());
  EXPECT_NE(why.find("owned by nobody (uid 65534)"), std::string::npos) << why;
  ASSERT_EQ(::chown(file().c_str(), 0, 0), 0);
  ASSERT_EQ(::chown(plugins().c_str(), 65534, 65534), 0);
  EXPECT_NE(why_untrusted(file()).find(plugins().string() + " is owned by nobody"), std::string::npos);
}

TEST_F(FileTrust, AMissingFileIsNotThisChecksBusiness) {
  EXPECT_EQ(why_untrusted(plugins() / "absent.so"), "");
}

TEST_F(FileTrust, TheDeveloperOverrideNeedsARelocatedRoot) {
  ::setenv("VIGIL_ALLOW_UNSAFE_FILES", "1", 1);
  std::string refused = configure_unsafe_file_override(Paths::under("/"));
  EXPECT_NE(refused.find("ignored"), std::string::npos) << refused;
  EXPECT_FALSE(unsafe_files_allowed());
  std::string accepted = configure_unsafe_file_override(Paths::under(dir_.path()));
  ::unsetenv("VIGIL_ALLOW_UNSAFE_FILES");
  EXPECT_NE(accepted.find("DEVELOPER OVERRIDE"), std::string::npos) << accepted;
  ASSERT_TRUE(unsafe_files_allowed());
  ::chmod(file().c_str(), 0666);
  auto checked = check_trusted(file(), "plugin");
  ASSERT_TRUE(checked.ok());
  EXPECT_NE(checked.value().find("developer override: plugin accepted although"), std::string::npos);
  configure_unsafe_file_override(Paths::under(dir_.path()));  // the variable is gone: off again
  EXPECT_FALSE(unsafe_files_allowed());
}

TEST(TightenMode, RemovesOnlyTheLooserBitsAndSaysWhat) {
  test::TempDir dir;
  auto file = dir.path() / "config.db";
  std::ofstream(file) << "x";
  ::chmod(file.c_str(), 0664);
  auto changed = tighten_mode(file, 0600);
  ASSERT_TRUE(changed.ok()) << changed.error();
  EXPECT_EQ(changed.value(), "tightened " + file.string() + " from mode 0664 to 0600");
  struct stat info {};
  ASSERT_EQ(::stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600u);
  EXPECT_EQ(tighten_mode(file, 0600).value(), "");  // logged once: nothing left to change
  ::chmod(file.c_str(), 0400);
  EXPECT_EQ(tighten_mode(file, 0600).value(), "");  // tighter than asked stays as it is
  EXPECT_EQ(tighten_mode(dir.path() / "absent", 0600).value(), "");
}

TEST(TightenMode, APrivateDirectoryIsCreatedWithItsMode) {
  test::TempDir dir;
  auto made = private_directory(dir.path() / "var/lib/vigil", 0700);
  ASSERT_TRUE(made.ok()) << made.error();
  EXPECT_EQ(made.value(), "");  // a fresh install reports no change
  struct stat info {};
  ASSERT_EQ(::stat((dir.path() / "var/lib/vigil").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0700u);
}

}  // namespace
}  // namespace vigil
