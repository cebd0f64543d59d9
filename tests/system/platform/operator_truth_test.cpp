// What the platform shows is what happened on the agent (docs/platform-link.md,
// "Prompt orders" and "Outcomes"): orders reach a waiting agent at once, every
// command's outcome comes back, and so do failed scans and ignored settings.
// The agent checks in every 10 minutes here: whatever the platform learns
// within the tests' seconds, it learned because the agent was woken.
#include <gtest/gtest.h>
#include <sys/utsname.h>

#include "platform_link_fixture.h"

namespace vigil::test {
namespace {

std::string uname_machine() {
  struct utsname names {};
  ::uname(&names);
  return names.machine;
}

class OperatorTruthTest : public PlatformLinkFixture {
 protected:
  void SetUp() override {
    PlatformLinkFixture::SetUp();
    if (HasFatalFailure()) return;
    set_profile(R"({"checkin_interval": 600, "scan_interval": {"testscan": 3600}})");
    start_agent(agent_root());
    ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0) << daemon_->log();
    agent_id_ = agent_id_of(agent_root());
    // Settled: the first scan's results arrived and the agent waits for orders.
    ASSERT_TRUE(eventually([&] {
      json status = status_of(agent_root());
      return !platform_results(agent_id_).empty() && status["platform"].value("orders", "") == "prompt";
    })) << status_of(agent_root()).dump()
        << daemon_->log();
  }

  void set_profile(const std::string& text) {
    auto file = dir_.path() / ("profile-" + std::to_string(++profiles_) + ".json");
    std::ofstream(file) << text;
    auto set = platform_->admin({"profile-set", "--name", "fast", "--file", file.string()});
    ASSERT_EQ(set.exit_code, 0) << set.err;
  }
  json testscan_entry() const {
    json record = agent_record(agent_id_);
    if (!record.is_object()) return nullptr;
    for (const auto& module : record["modules"]) {
      if (module["module"] == "testscan") return module;
    }
    return nullptr;
  }
  json commands() const { return platform_->admin_json({"commands", "--agent", agent_id_}); }

  std::string agent_id_;
  int profiles_ = 0;
};

// admin demand --wait: the agent is woken, scans and reports completion with its ControlId.
TEST_F(OperatorTruthTest, AnOrderReachesAWaitingAgentAndItsOutcomeComesBack) {
  auto demand =
      platform_->admin({"demand", "--agent", agent_id_, "--module", "testscan", "--wait", "--timeout", "30", "--json"});
  ASSERT_EQ(demand.exit_code, 0) << demand.out << demand.err << daemon_->log();
  json outcome = json::parse(demand.out);
  EXPECT_EQ(outcome["outcome"], "completed") << outcome.dump();
  EXPECT_FALSE(outcome.value("control_id", "").empty()) << outcome.dump();
  EXPECT_GE(status_of(agent_root())["platform"].value("woken_by_platform", 0), 1);
  json listed = commands();
  ASSERT_FALSE(listed.empty());
  EXPECT_EQ(listed[0]["kind"], "scan_now");
  EXPECT_EQ(listed[0]["outcome"], "completed") << listed.dump();
  EXPECT_EQ(listed[0]["control_id"], outcome["control_id"]);
}

// A demand the agent refuses says why on the platform; --wait exits 1 with the reason.
TEST_F(OperatorTruthTest, ARefusedOrderShowsItsReason) {
  auto demand = platform_->admin({"demand", "--agent", agent_id_, "--module", "vm", "--wait", "--timeout", "30"});
  EXPECT_EQ(demand.exit_code, 1) << demand.out << demand.err;
  EXPECT_NE(demand.err.find("refused: "), std::string::npos) << demand.err;
  EXPECT_NE(demand.err.find("vm"), std::string::npos) << demand.err;
  json listed = commands();
  ASSERT_FALSE(listed.empty());
  EXPECT_EQ(listed[0]["outcome"], "refused") << listed.dump();
  EXPECT_FALSE(listed[0].value("reason", "").empty()) << listed.dump();
  // Without --wait the command is only queued: its id, and the agent's outcome later.
  auto queued = platform_->admin({"demand", "--agent", agent_id_, "--module", "vm"});
  ASSERT_EQ(queued.exit_code, 0) << queued.err;
  EXPECT_TRUE(eventually([&] { return commands()[0].value("outcome", "") == "refused"; })) << commands().dump();
}

// A new manifest version is scanned at once; its failure reaches the platform, and so does the fix.
TEST_F(OperatorTruthTest, ANewManifestIsScannedAndItsFailureShows) {
  publish_manifest("row t a 1\nfail line 2 of the policy is not understood\n");
  json entry;
  ASSERT_TRUE(eventually([&] {
    entry = testscan_entry();
    return entry.is_object() && entry.contains("last_scan") && entry["last_scan"]["result"] == "failed";
  })) << entry.dump()
      << daemon_->log();
  EXPECT_NE(entry["last_scan"]["error"].get<std::string>().find("line 2 of the policy is not understood"),
            std::string::npos)
      << entry.dump();
  publish_manifest("row t a fixed\n");
  ASSERT_TRUE(eventually([&] {
    entry = testscan_entry();
    return entry.is_object() && entry.contains("last_scan") && entry["last_scan"]["result"] == "completed";
  })) << entry.dump()
      << daemon_->log();
  EXPECT_TRUE(eventually([&] {
    json results = platform_results(agent_id_);
    return results.dump().find("fixed") != std::string::npos;
  }));
}

// Settings the agent cannot apply are named on the platform with the reason.
TEST_F(OperatorTruthTest, IgnoredSettingsReachThePlatform) {
  set_profile(R"({"checkin_interval": 600, "scan_interval": {"testscan": 3600}, "cpu_limit": {"edr": 20}})");
  // A value an older agent kept, or a hand-edited store: the agent starts and says so.
  daemon_.reset();
  set_config(agent_root(), "CmdMemoryMax", "plenty");
  start_agent(agent_root());
  json ignored;
  ASSERT_TRUE(eventually([&] {
    json record = agent_record(agent_id_);
    ignored = record.is_object() ? record["ignored_settings"] : json();
    return ignored.is_array() && ignored.size() == 2;
  })) << ignored.dump()
      << daemon_->log();
  std::string text = ignored.dump();
  EXPECT_NE(text.find("edr.CpuLimit=20: no plugin for module 'edr' is loaded"), std::string::npos) << text;
  EXPECT_NE(text.find("CmdMemoryMax=plenty: "), std::string::npos) << text;
}

// A manifest or policy the platform can read is checked with the module's own
// parser before it is published; --check publishes nothing.
TEST_F(OperatorTruthTest, TheManifestsThePlatformCanReadAreCheckedBeforeTheyArePublished) {
  auto good = dir_.path() / "fim.yaml";
  std::ofstream(good) << "paths:\n  - path: /etc\n    depth: 2\n";
  auto bad = dir_.path() / "fim-bad.yaml";
  std::ofstream(bad) << "paths:\n  - path: /etc\n    depth: deep\n";
  auto checked = platform_->admin({"manifest-set", "--module", "fim", "--file", good.string(), "--check"});
  EXPECT_EQ(checked.exit_code, 0) << checked.err;
  EXPECT_NE(checked.out.find("a valid fim manifest"), std::string::npos) << checked.out;
  auto refused = platform_->admin({"manifest-set", "--module", "fim", "--file", bad.string()});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("fim manifest:3: depth must be a number"), std::string::npos) << refused.err;
  // A policy with a typo: refused by the platform as the PC module would refuse it, naming the line.
  auto policy = dir_.path() / "broken.yaml";
  std::ofstream(policy) << "policy: broken\nversion: '1'\ncontrols:\n  - id: x\n    title: t\n"
                           "    check: {permissions: {path: /etc/a, max_mode: 'rwx'}}\n";
  auto typo = platform_->admin({"manifest-set", "--module", "pc", "--file", policy.string()});
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_NE(typo.err.find("pc manifest:6: max_mode must be an octal mode"), std::string::npos) << typo.err;
  auto sca = platform_->admin({"manifest-set", "--module", "sca", "--check", "--file",
                               std::string(VIGIL_SOURCE_DIR) + "/samples/policies/cis-debian12-level1.yaml"});
  EXPECT_EQ(sca.exit_code, 0) << sca.err;
  auto unreadable = platform_->admin({"manifest-set", "--module", "testscan", "--file", good.string(), "--check"});
  EXPECT_EQ(unreadable.exit_code, 1);
  EXPECT_NE(unreadable.err.find("cannot read manifests of type 'testscan'"), std::string::npos) << unreadable.err;
  // Inventory and VM manifests too: a table that does not exist, a version dpkg could not order.
  auto inv = dir_.path() / "inv.manifest";
  std::ofstream(inv) << "os\npackages version,architecture\nprocesses\n";
  auto no_table = platform_->admin({"manifest-set", "--module", "inv", "--file", inv.string(), "--check"});
  EXPECT_EQ(no_table.exit_code, 1);
  EXPECT_NE(no_table.err.find("manifest line 3: unknown table 'processes'"), std::string::npos) << no_table.err;
  auto vm = dir_.path() / "vm.json";
  std::ofstream(vm) << R"({"rules": [{"id": "R1", "title": "t", "severity": 3,)"
                    << R"( "when": {"package": {"name": "bash", "before": "5.2-15 beta"}}}]})";
  auto bad_version = platform_->admin({"manifest-set", "--module", "vm", "--file", vm.string()});
  EXPECT_EQ(bad_version.exit_code, 1);
  EXPECT_NE(bad_version.err.find("rule 1 (R1).when.package.before: "), std::string::npos) << bad_version.err;
  for (const char* sample : {"inv", "vm"}) {
    auto shipped = platform_->admin({"manifest-set", "--module", sample, "--check", "--file",
                                     std::string(VIGIL_SOURCE_DIR) + "/samples/manifests/" + sample + ".manifest"});
    EXPECT_EQ(shipped.exit_code, 0) << sample << ": " << shipped.err;
  }
  auto published = platform_->admin({"manifest-set", "--module", "fim", "--file", good.string()});
  EXPECT_EQ(published.exit_code, 0) << published.err;
}

// A plugin file is published only if an agent could load it, call it and
// unload it again: anything else would fail on every agent after the download.
TEST_F(OperatorTruthTest, APluginFileTheAgentCouldNotRunIsRefusedBeforeItIsSigned) {
  auto publish = [&](const fs::path& file, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"package-set", "--module",  "testscan", "--file",
                                     file.string(), "--version", "7.0"};
    args.insert(args.end(), extra.begin(), extra.end());
    return platform_->admin(args);
  };
  json before = platform_->admin_json({"signing-keys", "show", "--json"});
  auto text = dir_.path() / "notes.so";
  std::ofstream(text) << "not a library\n";
  auto foreign = riscv64_plugin("test_scanner_v2", dir_.path() / "riscv.so");
  const std::string here = uname_machine(), elsewhere = here == "x86_64" ? "aarch64" : "x86_64";
  struct Case {
    fs::path file;
    std::vector<std::string> extra;
    std::string says;
  };
  for (const Case& refused : std::vector<Case>{
           {text, {}, "notes.so: not a plugin the agent can load: not an ELF file"},
           {foreign, {}, "riscv.so: not a plugin the agent can load: built for riscv64, published for "},
           {plugin("test_scanner_v2"), {"--arch", elsewhere}, "built for " + here + ", published for " + elsewhere},
           {plugin("broken_no_entry"), {}, "it exports no vigil_plugin_negotiate function"},
           {plugin("test_scanner_unique"),
            {},
            "the agent could not unload it, so an upgrade would keep running its "
            "code: it defines "},
           {plugin("test_scanner_v2"), {"--arch", "vax"}, "--arch 'vax': an architecture this platform does not know"},
       }) {
    auto run = publish(refused.file, refused.extra);
    EXPECT_EQ(run.exit_code, 1) << refused.file;
    EXPECT_NE(run.err.find(refused.says), std::string::npos) << run.err;
  }
  // Nothing was signed for them; a real plugin for another machine is published (the agent names it, not taken).
  EXPECT_EQ(platform_->admin_json({"signing-keys", "show"})["roles"]["targets"]["version"],
            before["roles"]["targets"]["version"]);
  auto other_machine = publish(foreign, {"--arch", "riscv64"});
  EXPECT_EQ(other_machine.exit_code, 0) << other_machine.err;
  EXPECT_EQ(platform_->admin_json({"signing-keys", "show"})["roles"]["targets"]["version"],
            before["roles"]["targets"]["version"].get<int>() + 1);
}

// One CLI convention with vigilctl: --json on every command parses; usage errors exit 2.
TEST_F(OperatorTruthTest, EveryAdminCommandPrintsJsonAndUsageErrorsExit2) {
  auto profile = dir_.path() / "plain.json";
  std::ofstream(profile) << R"({"checkin_interval": 600})";
  auto manifest = dir_.path() / "fim.yaml";
  std::ofstream(manifest) << "paths:\n  - path: /etc\n";
  std::string customer = platform_->customer_id(), key = platform_->activation_id();
  std::vector<std::vector<std::string>> commands = {
      {"key-create", "--customer", customer},
      {"profile-set", "--name", "plain", "--file", profile.string()},
      {"activate", "--key", key, "--module", "testscan"},
      {"manifest-set", "--module", "fim", "--file", manifest.string(), "--check"},
      {"manifest-set", "--module", "fim", "--file", manifest.string()},
      {"demand", "--agent", agent_id_, "--module", "testscan"},
      {"commands", "--agent", agent_id_},
      {"agents"},
      {"results", "--agent", agent_id_, "--summary"},
      {"events", "--agent", agent_id_},
      {"signing-keys", "show"},
  };
  for (auto args : commands) {
    args.push_back("--json");
    auto run = platform_->admin(args);
    std::string line = args[0] + (args.size() > 1 ? " " + args[1] : "");
    ASSERT_EQ(run.exit_code, 0) << line << ": " << run.err;
    EXPECT_TRUE(json::accept(run.out)) << line << ": " << run.out;
  }
  for (std::vector<std::string> usage : {std::vector<std::string>{"bogus"},
                                         {"demand", "--module", "inv"},
                                         {"demand", "--agent", agent_id_, "--module", "inv", "--cpu-throttle", "x"}}) {
    auto run = platform_->admin(usage);
    EXPECT_EQ(run.exit_code, 2) << usage[0] << ": " << run.err;
  }
  EXPECT_NE(platform_->admin({"bogus"}).err.find("unknown admin command 'bogus'"), std::string::npos);
}

}  // namespace
}  // namespace vigil::test
