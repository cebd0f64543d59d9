// vigilctl config: set/get/show/unset with vigild down and running, secrets
// masked, a batch with one bad value changing nothing, live settings applied
// by the running daemon, restart keys named, and a module's declared keys
// (fim, ABI 1.5) validated while vigild is down.
#include <gtest/gtest.h>

#include "daemon_fixture.h"

namespace vigil::test {
namespace {

constexpr const char* kActivation = "0f8fad5b-d9cb-469f-a165-70867728950e";

std::string config_value(const std::filesystem::path& root, const std::string& key) {
  auto store = StateStore::open(root / "var/lib/vigil/config.db");
  auto value = store.value()->config().get(key);
  return value.ok() && value.value() ? *value.value() : "(unset)";
}

json show(const std::filesystem::path& root) {
  auto shown = vigilctl(root, {"config", "show", "--json"});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  return json::parse(shown.out, nullptr, false);
}

json entry(const json& report, const std::string& key) {
  for (const auto& item : report) {
    if (item["key"] == key) return item;
  }
  return nullptr;
}

TEST(ConfigCommand, SetGetShowUnsetWithTheDaemonDown) {
  TempDir dir;
  auto set = vigilctl(dir.path(), {"config", "set", "LogLevel=4", "cmdmaxtimeout=60", "inv.CpuLimit=20"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_NE(set.out.find("CmdMaxTimeOut = 60"), std::string::npos) << set.out;
  EXPECT_NE(set.out.find("vigild is not running"), std::string::npos) << set.out;
  EXPECT_EQ(config_value(dir.path(), "CmdMaxTimeOut"), "60");

  auto get = vigilctl(dir.path(), {"config", "get", "LogLevel"});
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out, "4\n");
  get = vigilctl(dir.path(), {"config", "get", "ProcessPriority"});
  EXPECT_EQ(get.out, "0\n");
  EXPECT_NE(get.err.find("not set: that is its default"), std::string::npos) << get.err;

  json report = show(dir.path());
  EXPECT_EQ(entry(report, "LogLevel")["value"], "4");
  EXPECT_EQ(entry(report, "LogLevel")["source"], "set");
  EXPECT_EQ(entry(report, "ProcessPriority")["source"], "default");
  EXPECT_EQ(entry(report, "ProcessPriority")["default"], "0");
  EXPECT_EQ(entry(report, "LogDestType")["live"], false);
  EXPECT_EQ(entry(report, "inv.CpuLimit")["value"], "20");
  EXPECT_EQ(entry(report, "AgentId")["access"], "internal");
  auto table = vigilctl(dir.path(), {"config", "show"});
  EXPECT_NE(table.out.find("LogLevel"), std::string::npos);

  auto unset = vigilctl(dir.path(), {"config", "unset", "LogLevel"});
  EXPECT_EQ(unset.exit_code, 0) << unset.err;
  EXPECT_EQ(config_value(dir.path(), "LogLevel"), "(unset)");
}

TEST(ConfigCommand, OneBadValueChangesNothingAndNamesTheKeyAndRange) {
  TempDir dir;
  ASSERT_EQ(vigilctl(dir.path(), {"config", "set", "LogLevel=2"}).exit_code, 0);
  auto set = vigilctl(dir.path(), {"config", "set", "LogLevel=4", "ProcessPriority=40", "UseSudo=1"});
  EXPECT_EQ(set.exit_code, 1);
  EXPECT_NE(set.err.find("ProcessPriority must be an integer from -20 to 19, got '40'"), std::string::npos) << set.err;
  EXPECT_NE(set.err.find("nothing was changed"), std::string::npos) << set.err;
  EXPECT_EQ(config_value(dir.path(), "LogLevel"), "2");
  EXPECT_EQ(config_value(dir.path(), "UseSudo"), "(unset)");

  EXPECT_NE(vigilctl(dir.path(), {"config", "set", "AgentId=x"}).err.find("written by the agent itself"),
            std::string::npos);
  EXPECT_NE(vigilctl(dir.path(), {"config", "set", "ProxyPassword=x"}).err.find("vigilctl proxy"), std::string::npos);
  EXPECT_EQ(vigilctl(dir.path(), {"config", "set", "LogLevel"}).exit_code, 2);  // not Key=Value
}

TEST(ConfigCommand, SecretsAreMaskedEverywhere) {
  TempDir dir;
  auto set = vigilctl(dir.path(), {"config", "set", std::string("ActivationId=") + kActivation});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(set.out.find(kActivation), std::string::npos) << set.out;
  EXPECT_EQ(config_value(dir.path(), "ActivationId"), kActivation);
  auto get = vigilctl(dir.path(), {"config", "get", "ActivationId"});
  EXPECT_EQ(get.out, "********\n");
  for (const auto& args : {std::vector<std::string>{"config", "show"}, {"config", "show", "--json"}}) {
    auto shown = vigilctl(dir.path(), args);
    EXPECT_EQ(shown.out.find(kActivation), std::string::npos) << shown.out;
  }
  auto bad = vigilctl(dir.path(), {"config", "set", "ActivationId=top-secret-words"});
  EXPECT_EQ(bad.err.find("top-secret-words"), std::string::npos) << bad.err;
}

class ConfigLive : public DaemonFixture {};

TEST_F(ConfigLive, LiveKeysApplyAtOnceAndRestartKeysAreNamed) {
  EXPECT_EQ(status()["daemon"]["log_level"], 3);
  auto set = vigilctl(root(), {"config", "set", "LogLevel=5", "testscan.CpuLimit=20", "testscan.ScanInterval=60"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(status()["daemon"]["log_level"], 5);
  json module = module_status("testscan");
  EXPECT_EQ(module["settings"]["cpu_limit"], 20) << module.dump();
  EXPECT_EQ(module["settings"]["scan_interval"], 60) << module.dump();

  auto restart = vigilctl(root(), {"config", "set", "LogDestType=syslog"});
  ASSERT_EQ(restart.exit_code, 0) << restart.err;
  EXPECT_NE(restart.out.find("restart vigild to apply LogDestType"), std::string::npos) << restart.out;
  EXPECT_NE(restart.out.find("opened once, at start"), std::string::npos) << restart.out;

  // Back to the default, live too.
  ASSERT_EQ(vigilctl(root(), {"config", "unset", "LogLevel", "LogDestType"}).exit_code, 0);
  EXPECT_EQ(status()["daemon"]["log_level"], 3);
}

TEST(ConfigCommand, FimKeysAreValidatedWhileVigildIsDown) {
  TempDir dir;
  install_plugins(dir.path(), {FIM_PLUGIN_PATH});
  {
    Daemon daemon(dir.path());
    ASSERT_TRUE(daemon.ready()) << daemon.log();
  }
  auto bad = vigilctl(dir.path(), {"config", "set", "fim.HashThreads=0"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("fim.HashThreads must be an integer from 1 to 64, got '0'"), std::string::npos) << bad.err;
  auto unknown = vigilctl(dir.path(), {"config", "set", "fim.HashThread=2"});
  EXPECT_NE(unknown.err.find("unknown setting 'fim.HashThread': module fim declares Root, Realtime, HashThreads"),
            std::string::npos)
      << unknown.err;
  EXPECT_NE(vigilctl(dir.path(), {"config", "set", "fim.Fanotify=sometimes"}).err.find("must be a boolean"),
            std::string::npos);
  auto good = vigilctl(dir.path(), {"config", "set", "fim.HashThreads=4", "fim.fanotify=off"});
  ASSERT_EQ(good.exit_code, 0) << good.err;
  EXPECT_EQ(config_value(dir.path(), "fim.Fanotify"), "off");
  json report = show(dir.path());
  EXPECT_EQ(entry(report, "fim.HashThreads")["value"], "4");
  EXPECT_EQ(entry(report, "fim.CoalesceMs")["default"], "5");
  EXPECT_EQ(entry(report, "fim.CoalesceMs")["module"], "fim");
}

}  // namespace
}  // namespace vigil::test
