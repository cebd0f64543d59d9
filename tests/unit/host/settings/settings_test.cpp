// The settings registry: each kind's checks and messages, module keys
// declared by plugins, the typed reads with defaults, and docs/vigilctl.md's
// key table against the registry.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "settings/catalog.h"
#include "settings/reader.h"
#include "store/config_table.h"
#include "store/state_store.h"
#include "test_support.h"

namespace vigil::settings {
namespace {

std::string refusal(std::string_view key, std::string_view value, const Catalog& catalog = Catalog()) {
  auto checked = catalog.validate(key, value);
  return checked.ok() ? std::string() : checked.error();
}

TEST(Settings, EveryKeyIsOnceInTheTableWithADefaultThatFits) {
  std::set<std::string> names;
  for (const Setting& setting : builtin()) {
    EXPECT_TRUE(names.insert(setting.name).second) << setting.name << " twice";
    EXPECT_FALSE(setting.description.empty()) << setting.name;
    EXPECT_FALSE(setting.applies.empty()) << setting.name;
    if (!setting.default_value.empty()) {
      EXPECT_TRUE(check_value(setting, setting.name, setting.default_value).ok()) << setting.name;
    }
    if (setting.kind == Kind::kInteger || setting.kind == Kind::kSize) {
      EXPECT_LE(setting.min, setting.max);
    }
  }
  for (const char* spec :
       {"ActivationId", "CustomerId", "LogLevel", "LogFileDir", "LogDestType", "UseSudo", "SudoCommand", "User",
        "Group", "HostIdSearchDir", "ServerUri", "CmdMaxTimeOut", "ProcessPriority", "ProxyOrder"}) {
    EXPECT_NE(find_builtin(spec), nullptr) << spec << " (docs/vigilctl.md, \"Settings\")";
  }
}

TEST(Settings, IntegersNameTheKeyAndTheRange) {
  EXPECT_EQ(refusal("LogLevel", "4"), "");
  EXPECT_EQ(refusal("LogLevel", "9"), "LogLevel must be an integer from 0 to 5, got '9'");
  EXPECT_EQ(refusal("ProcessPriority", "-20"), "");
  EXPECT_NE(refusal("ProcessPriority", "-21").find("from -20 to 19"), std::string::npos);
  for (const char* bad : {"", "4x", " 4", "0x10", "99999999999999999999"})
    EXPECT_NE(refusal("CmdMaxTimeOut", bad), "") << bad;
}

TEST(Settings, SizesTakeUnits) {
  EXPECT_EQ(refusal("WorkerMemoryLimit", "256M"), "");
  EXPECT_EQ(refusal("WorkerMemoryLimit", "0"), "");
  std::string message = refusal("WorkerMemoryLimit", "2T");
  EXPECT_NE(message.find("WorkerMemoryLimit must be a size from 0 to"), std::string::npos) << message;
  EXPECT_EQ(integer_value(setting("WorkerMemoryLimit"), "512M").value(), int64_t{512} << 20);
}

TEST(Settings, BooleansChoicesAndText) {
  for (const char* yes : {"1", "true", "Yes", "on"}) EXPECT_EQ(refusal("UseSudo", yes), "") << yes;
  EXPECT_EQ(refusal("UseSudo", "maybe"), "UseSudo must be a boolean (1/0, true/false, yes/no, on/off), got 'maybe'");
  EXPECT_EQ(refusal("LogDestType", "syslog"), "");
  EXPECT_EQ(refusal("LogDestType", "File"), "LogDestType must be one of file, syslog, journal, got 'File'");
  EXPECT_EQ(refusal("SudoCommand", "sudo -n"), "");
  EXPECT_NE(refusal("SudoCommand", "sudo\n-n"), "");
  EXPECT_NE(refusal("User", ""), "");
}

TEST(Settings, PathsUuidsUrlsAndWindows) {
  EXPECT_EQ(refusal("LogFileDir", "/var/log/x"), "");
  EXPECT_EQ(refusal("LogFileDir", "logs"), "LogFileDir must be an absolute path, got 'logs'");
  EXPECT_EQ(refusal("CustomerId", "0f8fad5b-d9cb-469f-a165-70867728950e"), "");
  EXPECT_NE(refusal("CustomerId", "nope").find("a UUID"), std::string::npos);
  EXPECT_EQ(refusal("ServerUri", "https://platform.example:8443"), "");
  EXPECT_NE(refusal("ServerUri", "ftp://x"), "");
  EXPECT_EQ(refusal("BlackoutWindows", "22:00-02:00,12:00-12:30"), "");
  EXPECT_NE(refusal("BlackoutWindows", "25:00-26:00"), "");
  EXPECT_NE(refusal("CaBundle", "/no/such/file.pem").find("an existing file"), std::string::npos);
}

TEST(Settings, SecretsAreNeverEchoed) {
  std::string message = refusal("ActivationId", "my-secret-activation");
  EXPECT_EQ(message.find("my-secret-activation"), std::string::npos) << message;
  EXPECT_NE(message.find("ActivationId must be a UUID"), std::string::npos);
}

TEST(Settings, KeysAreCanonicalAndCaseInsensitive) {
  Catalog catalog;
  EXPECT_EQ(catalog.validate("loglevel", "2").value(), "LogLevel");
  EXPECT_EQ(catalog.validate("inv.cpulimit", "20").value(), "inv.CpuLimit");
  EXPECT_EQ(catalog.validate("CpuLimit", "20").value(), "CpuLimit");  // every module's
  EXPECT_NE(refusal("inv.CpuLimit", "0").find("inv.CpuLimit must be an integer from 1 to 100"), std::string::npos);
  EXPECT_NE(refusal("NoSuchKey", "1").find("unknown setting 'NoSuchKey'"), std::string::npos);
  EXPECT_NE(refusal("Bad Module.Key", "1").find("not a module name"), std::string::npos);
}

TEST(Settings, InternalAndCommandKeysAreNotSetHere) {
  EXPECT_NE(refusal("AgentId", "x").find("written by the agent itself"), std::string::npos);
  EXPECT_NE(refusal("ProxyUrls", "http://p:3128").find("vigilctl proxy --url"), std::string::npos);
  EXPECT_NE(refusal("GoldenImage", "true").find("vigilctl provision"), std::string::npos);
}

TEST(Settings, ModuleKeysFollowTheirDeclarations) {
  Setting threads{.name = "HashThreads",
                  .kind = Kind::kInteger,
                  .scope = Scope::kModule,
                  .min = 1,
                  .max = 64,
                  .default_value = "1",
                  .module = "fim"};
  Setting fanotify{
      .name = "Fanotify", .kind = Kind::kBoolean, .scope = Scope::kModule, .default_value = "true", .module = "fim"};
  auto round_trip = decode("fim", encode({threads, fanotify}));
  ASSERT_TRUE(round_trip.ok()) << round_trip.error();
  Catalog catalog(Declarations{{"fim", round_trip.value()}});
  EXPECT_EQ(refusal("fim.HashThreads", "8", catalog), "");
  EXPECT_EQ(refusal("fim.HashThreads", "65", catalog), "fim.HashThreads must be an integer from 1 to 64, got '65'");
  std::string unknown = refusal("fim.Hashthread", "2", catalog);
  EXPECT_NE(unknown.find("unknown setting 'fim.Hashthread': module fim declares HashThreads, Fanotify"),
            std::string::npos)
      << unknown;
  EXPECT_NE(unknown.find("every module has PluginPin, CpuLimit"), std::string::npos) << unknown;
  // A module that declared nothing (built before ABI 1.5): any one line.
  EXPECT_EQ(refusal("old.Anything", "x", catalog), "");
  EXPECT_NE(refusal("old.Anything", "a\nb", catalog), "");
}

TEST(Settings, DeclarationsAreKeptInTheStore) {
  test::TempDir dir;
  auto store = std::move(StateStore::open(dir.path() / "config.db").value());
  Setting root{.name = "Root", .kind = Kind::kPath, .scope = Scope::kModule, .default_value = "/"};
  ASSERT_TRUE(store->config().set_module_settings("inv", encode({root})).ok());
  auto catalog = Catalog::load(store->config());
  ASSERT_TRUE(catalog.ok()) << catalog.error();
  EXPECT_NE(refusal("inv.Root", "relative", catalog.value()), "");
  ASSERT_TRUE(store->config().set_module_settings("inv", std::nullopt).ok());
  EXPECT_TRUE(Catalog::load(store->config()).value().modules().empty());
}

TEST(Settings, ReaderGivesDefaultsAndIgnoresWhatDoesNotFit) {
  test::TempDir dir;
  auto store = std::move(StateStore::open(dir.path() / "config.db").value());
  std::vector<std::string> warnings;
  Reader reader(store->config(), [&](const std::string& warning) { warnings.push_back(warning); });
  EXPECT_EQ(reader.integer("CmdMaxTimeOut"), 1800);
  EXPECT_EQ(reader.integer("CpuLimit", "inv", 40), 40);  // the module's own default
  ASSERT_TRUE(store->config().update({{"CpuLimit", "30"}, {"inv.CpuLimit", "20"}, {"LogLevel", "9"}}).ok());
  EXPECT_EQ(reader.integer("CpuLimit", "inv", 40), 20);
  EXPECT_EQ(reader.integer("CpuLimit", "vm", 40), 30);  // every module's
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(reader.integer("LogLevel"), 3);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("LogLevel must be an integer from 0 to 5, got '9'"), std::string::npos);
  EXPECT_FALSE(reader.boolean("UseSudo"));
  EXPECT_EQ(reader.text("SudoCommand").value_or(""), "sudo");
}

TEST(Settings, AssignmentsSplitAtTheFirstEquals) {
  auto pair = parse_assignment("SudoCommand=sudo -n -u=x");
  ASSERT_TRUE(pair.ok());
  EXPECT_EQ(pair.value().first, "SudoCommand");
  EXPECT_EQ(pair.value().second, "sudo -n -u=x");
  EXPECT_TRUE(parse_assignment("BlackoutWindows=").ok());
  EXPECT_FALSE(parse_assignment("LogLevel").ok());
  EXPECT_FALSE(parse_assignment("=3").ok());
}

// docs/vigilctl.md's "Settings" table has a row per key, in the registry's
// order and words: the docs cannot drift from the code.
TEST(SettingsDocs, KeyTableMatchesTheRegistry) {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/docs/vigilctl.md");
  ASSERT_TRUE(in);
  std::string actual;
  bool in_section = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("## ")) in_section = line == "## Settings";
    if (in_section && line.starts_with("| `")) actual += line + "\n";
  }
  std::string expected;
  for (const Setting& setting : builtin()) expected += doc_row(setting) + "\n";
  EXPECT_EQ(actual, expected) << "the rows docs/vigilctl.md's \"Settings\" table should have:\n" << expected;
}

}  // namespace
}  // namespace vigil::settings
