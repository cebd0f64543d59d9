// Default manifests: found beside the plugins, the OS's own first, and the
// reason when there is none; the stored manifests win over them.
#include "store/default_manifests.h"

#include <gtest/gtest.h>

#include <fstream>

#include "store/state_store.h"
#include "test_support.h"
#include "vigil/crypto/digest.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

TEST(DefaultManifests, AGeneralOneIsFoundWithItsDigestAsVersion) {
  test::TempDir plugins;
  write(plugins.path() / "defaults/inv/inv.manifest", "os\n");
  write(plugins.path() / "defaults/inv/README", "not a manifest");
  DefaultManifests found = find_default_manifests(plugins.path(), "inv", "debian-12");
  ASSERT_EQ(found.manifests.size(), 1u);
  EXPECT_EQ(found.manifests[0].manifest_type, "inv");
  EXPECT_EQ(found.manifests[0].body, "os\n");
  EXPECT_EQ(found.manifests[0].source, "default");
  EXPECT_EQ(found.manifests[0].version, crypto::sha256_hex("os\n").substr(0, 12));
  EXPECT_EQ(found.files[0], plugins.path() / "defaults/inv/inv.manifest");
  EXPECT_TRUE(found.missing.empty());
}

TEST(DefaultManifests, TheOsOwnWinsOverTheGeneralOne) {
  test::TempDir plugins;
  write(plugins.path() / "defaults/sca/sca.manifest", "general");
  write(plugins.path() / "defaults/sca/debian-12/sca.manifest", "debian 12");
  write(plugins.path() / "defaults/sca/rhel-9/sca.manifest", "rhel 9");
  EXPECT_EQ(find_default_manifests(plugins.path(), "sca", "debian-12").manifests.at(0).body, "debian 12");
  EXPECT_EQ(find_default_manifests(plugins.path(), "sca", "ubuntu-24.04").manifests.at(0).body, "general");
}

TEST(DefaultManifests, OnlyOtherOsesHaveOne_SaysWhichOsWentWithout) {
  test::TempDir plugins;
  write(plugins.path() / "defaults/sca/debian-12/sca.manifest", "debian 12");
  DefaultManifests found = find_default_manifests(plugins.path(), "sca", "ubuntu-24.04");
  EXPECT_TRUE(found.manifests.empty());
  EXPECT_EQ(found.missing,
            "no policy for ubuntu-24.04: give one with vigilctl manifest set or the platform "
            "(the plugin's defaults are for debian-12)");
}

TEST(DefaultManifests, NoneShipped_SaysHowToGiveOne) {
  test::TempDir plugins;
  DefaultManifests found = find_default_manifests(plugins.path(), "pc", "debian-12");
  EXPECT_TRUE(found.manifests.empty());
  EXPECT_EQ(found.missing, "no policy: give one with vigilctl manifest set or the platform");
}

TEST(DefaultManifests, TheStoredManifestWins) {
  test::TempDir dir;
  auto store = StateStore::open(dir.path() / "config.db");
  ASSERT_TRUE(store.ok()) << store.error();
  write(dir.path() / "plugins/defaults/inv/inv.manifest", "os\n");
  DefaultManifests defaults = find_default_manifests(dir.path() / "plugins", "inv", "debian-12");
  auto in_force = manifests_in_force(store.value()->manifests(), defaults, "inv");
  ASSERT_TRUE(in_force.ok());
  EXPECT_EQ(in_force.value().manifests.at(0).source, "default");
  ASSERT_TRUE(store.value()->manifests().put({"inv", "inv", "local", "users\n", "local"}).ok());
  in_force = manifests_in_force(store.value()->manifests(), defaults, "inv");
  ASSERT_EQ(in_force.value().manifests.size(), 1u);
  EXPECT_EQ(in_force.value().manifests[0].body, "users\n");
  EXPECT_EQ(in_force.value().manifests[0].source, "local");
  // Neither: the reason, with what to do.
  in_force = manifests_in_force(store.value()->manifests(), DefaultManifests{}, "pc");
  EXPECT_TRUE(in_force.value().manifests.empty());
  EXPECT_EQ(in_force.value().missing, "no policy: give one with vigilctl manifest set or the platform");
}

TEST(DefaultManifests, OsNameComesFromOsReleaseUnderTheRootFirst) {
  test::TempDir root;
  write(root.path() / "etc/os-release", "NAME=\"Plan 9\"\nID=plan9\nVERSION_ID=\"4\"\n");
  EXPECT_EQ(os_release_name(root.path()), "plan9-4");
  write(root.path() / "etc/os-release", "ID=arch\n");  // a rolling release has no VERSION_ID
  EXPECT_EQ(os_release_name(root.path()), "arch");
}

}  // namespace
}  // namespace vigil
