// vigilctl's conventions against a real vigild: every command that prints
// data takes --json and prints one JSON document; exit codes 0, 1 and 2;
// every command's --help describes its options and ends with examples;
// results orders its columns and filters with --where; status shows a
// running scan's progress and a failed last scan.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

#include "daemon_fixture.h"

namespace vigil::test {
namespace {

constexpr const char* kCustomer = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";
constexpr const char* kActivation = "0f8fad5b-d9cb-469f-a165-70867728950e";

class Vigilctl : public DaemonFixture {};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The names listed under "Subcommands:" of a --help.
std::vector<std::string> subcommands_in(const std::string& help) {
  std::vector<std::string> names;
  bool listing = false;
  for (const std::string& line : lines_of(help)) {
    if (line.empty() || line[0] != ' ') listing = line == "Subcommands:";
    if (listing && line.starts_with("  ") && line[2] != ' ') names.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  return names;
}

// The option lines of a --help without a description (CLI11 writes it after
// the name, or on the next line, indented, when the name is long).
std::vector<std::string> undescribed_options(const std::string& help) {
  std::vector<std::string> undescribed;
  std::vector<std::string> lines = lines_of(help);
  bool options = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string line = lines[i].substr(0, lines[i].find_last_not_of(' ') + 1);
    if (line.empty() || line[0] != ' ') options = line == "Options:" || line == "Positionals:";
    if (!options || !line.starts_with("  ") || line[2] == ' ') continue;
    bool described = line.find("  ", 2) != std::string::npos;
    bool below = i + 1 < lines.size() && lines[i + 1].starts_with(std::string(30, ' ')) &&
                 lines[i + 1].find_first_not_of(' ') != std::string::npos;
    if (!described && !below) undescribed.push_back(line);
  }
  return undescribed;
}

TEST_F(Vigilctl, EveryCommandsHelp_DescribesItsOptionsAndEndsWithExamples) {
  auto top = vigilctl(root(), {"--help"});
  ASSERT_EQ(top.exit_code, 0) << top.err;
  EXPECT_NE(top.out.find("Examples:"), std::string::npos) << top.out;
  // The usage lines name the program, and the command (not an empty name or a path).
  EXPECT_NE(top.out.find("\nUsage: vigilctl [OPTIONS] SUBCOMMAND\n"), std::string::npos) << top.out;
  std::vector<std::vector<std::string>> commands;
  for (const std::string& name : subcommands_in(top.out)) commands.push_back({name});
  ASSERT_GE(commands.size(), 16u) << top.out;
  for (size_t i = 0; i < commands.size(); ++i) {
    std::vector<std::string> args = commands[i];
    args.push_back("--help");
    auto help = vigilctl(root(), args);
    std::string name = args[0] + (args.size() > 2 ? " " + args[1] : "");
    EXPECT_EQ(help.exit_code, 0) << name << ": " << help.err;
    EXPECT_NE(help.out.find("\nUsage: vigilctl " + name + " [OPTIONS]"), std::string::npos) << name << ":\n"
                                                                                            << help.out;
    EXPECT_NE(help.out.find("Examples:\n  vigilctl " + args[0]), std::string::npos) << name << ":\n" << help.out;
    EXPECT_EQ(undescribed_options(help.out), std::vector<std::string>{}) << name << ":\n" << help.out;
    std::vector<std::string> subcommands = subcommands_in(help.out);
    for (const std::string& sub : subcommands) commands.push_back({commands[i][0], sub});
    // Every command that prints data takes --json; uninstall says why it does not.
    if (subcommands.empty() && name != "uninstall") {
      EXPECT_NE(help.out.find("--json"), std::string::npos) << name << ":\n" << help.out;
    }
  }
  EXPECT_NE(vigilctl(root(), {"uninstall", "--help"}).out.find("no --json"), std::string::npos);
}

TEST_F(Vigilctl, UnknownCommands_AreNamedAndExitTwo) {
  auto bogus = vigilctl(root(), {"bogus"});
  EXPECT_EQ(bogus.exit_code, 2);
  EXPECT_NE(bogus.err.find("unknown command 'bogus'"), std::string::npos) << bogus.err;
  EXPECT_NE(bogus.err.find("status"), std::string::npos) << bogus.err;
  auto sub = vigilctl(root(), {"keys", "bogus"});
  EXPECT_EQ(sub.exit_code, 2);
  EXPECT_NE(sub.err.find("unknown command 'keys bogus'"), std::string::npos) << sub.err;
  EXPECT_NE(sub.err.find("list, get, set"), std::string::npos) << sub.err;
  auto missing = vigilctl(root(), {"config"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("config needs a command: set, get, show, unset"), std::string::npos) << missing.err;
  EXPECT_EQ(vigilctl(root(), {"status", "--bogus"}).exit_code, 2);
}

TEST_F(Vigilctl, EveryCommandsJson_Parses) {
  ASSERT_EQ(scan("row packages bash 5.2\nrow os name Debian\n").exit_code, 0);
  std::string manifest = write_manifest("row packages bash 5.2\n");
  std::string archive = (root() / "diagnostics.tar.gz").string();
  struct Case {
    std::vector<std::string> args;
    int exit_code;
  };
  // In this order: the platform settings come before the check-ins, stop last.
  std::vector<Case> cases = {
      {{"status", "--json"}, 0},
      {{"plugins", "--json"}, 0},
      {{"plugins", "reload", "testscan", "--json"}, 0},
      {{"plugins", "unload", "cplug", "--json"}, 0},
      {{"plugins", "reload", "--json"}, 0},
      {{"plugins", "history", "testscan", "--json"}, 0},
      {{"results", "--module", "testscan", "--json"}, 0},
      {{"results", "--module", "testscan", "--where", "id=bash", "--json"}, 0},
      {{"manifest", "set", "--module", "testscan", "--file", manifest, "--json"}, 0},
      {{"demand", "--type", "testscan", "--json"}, 0},
      {{"demand", "--type", "testscan", "--wait", "--json"}, 0},
      {{"keys", "list", "--json"}, 0},
      {{"keys", "get", "ScanOnDemand/TestScan", "ScanOnDemand", "--json"}, 0},
      {{"keys", "set", "ScanOnDemand/TestScan", "CpuLimit", "50", "--json"}, 0},
      {{"config", "set", "LogLevel=4", "--json"}, 0},
      {{"config", "get", "LogLevel", "--json"}, 0},
      {{"config", "unset", "LogLevel", "--json"}, 0},
      {{"config", "show", "--json"}, 0},
      {{"proxy", "--wpad", "off", "--json"}, 0},
      {{"proxy", "--show", "--json"}, 0},
      {{"encrypt-string", "alice", "--json"}, 0},
      {{"unlock", "--json"}, 0},
      {{"diagnostics", "--output", archive, "--json"}, 0},
      // A platform nobody listens for: the check-in fails, and says so in JSON too.
      {{"provision", std::string("CustomerId=") + kCustomer, std::string("ActivationId=") + kActivation,
        "WebServiceUri=https://127.0.0.1:9", "--wait", "0", "--json"},
       0},
      {{"checkin", "--json"}, 0},
      {{"checkin", "--wait", "--timeout", "30", "--json"}, 1},
      {{"stop", "--json"}, 0},
  };
  for (const Case& test : cases) {
    auto result = vigilctl(root(), test.args);
    std::string command;
    for (const std::string& arg : test.args) command += arg + " ";
    EXPECT_EQ(result.exit_code, test.exit_code) << command << "\n" << result.out << result.err;
    json parsed = json::parse(result.out, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << command << "\n" << result.out;
  }
  // health's exit status is the overall health (not provisioned here); its JSON parses all the same.
  daemon_.reset();
  auto health = vigilctl(root(), {"health", "--json"});
  EXPECT_FALSE(json::parse(health.out, nullptr, false).is_discarded()) << health.out << health.err;
}

TEST_F(Vigilctl, JsonSaysWhatTheTextSays) {
  ASSERT_EQ(scan("row os name Debian\n").exit_code, 0);
  auto demanded = vigilctl(root(), {"demand", "--type", "testscan", "--json"});
  ASSERT_EQ(demanded.exit_code, 0) << demanded.err;
  EXPECT_FALSE(json::parse(demanded.out)["control_id"].get<std::string>().empty()) << demanded.out;
  // A scan that fails: exit 1, the outcome on stdout, the reason on stderr.
  vigilctl(root(), {"manifest", "set", "--module", "testscan", "--file", write_manifest("fail bad rule 7\n")});
  auto failed = vigilctl(root(), {"demand", "--type", "testscan", "--wait", "--json"});
  EXPECT_EQ(failed.exit_code, 1);
  json outcome = json::parse(failed.out, nullptr, false);
  EXPECT_EQ(outcome["state"], "failed") << failed.out;
  EXPECT_EQ(outcome["message"], "bad rule 7") << failed.out;
  EXPECT_NE(failed.err.find("failed: bad rule 7"), std::string::npos) << failed.err;

  json value = json::parse(vigilctl(root(), {"keys", "get", "ScanOnDemand/TestScan", "ScanOnDemand", "--json"}).out);
  EXPECT_EQ(value, (json{{"path", "ScanOnDemand/TestScan"}, {"name", "ScanOnDemand"}, {"value", "0"}}));
  json set = json::parse(vigilctl(root(), {"config", "set", "LogDestType=syslog", "--json"}).out);
  EXPECT_EQ(set["changed"], (json::array({{{"key", "LogDestType"}, {"value", "syslog"}}})));
  EXPECT_EQ(set["vigild_running"], true);
  ASSERT_EQ(set["restart_needed"].size(), 1u) << set.dump();
  json got = json::parse(vigilctl(root(), {"config", "get", "CmdMaxTimeOut", "--json"}).out);
  EXPECT_EQ(got, (json{{"key", "CmdMaxTimeOut"}, {"value", "1800"}, {"source", "default"}}));

  auto unlocked = vigilctl(root(), {"unlock"});
  EXPECT_EQ(unlocked.exit_code, 0) << unlocked.err;
  EXPECT_EQ(unlocked.out, "self-protection: off\n");
  EXPECT_EQ(json::parse(vigilctl(root(), {"unlock", "--json"}).out), (json{{"self_protection", "off"}}));
  json shown = json::parse(vigilctl(root(), {"proxy", "--json"}).out);
  EXPECT_EQ(shown["urls"], nullptr);
  EXPECT_EQ(shown["direct_fallback"], "on");
}

TEST_F(Vigilctl, Status_ShowsAScansProgressAndAFailedLastScan) {
  // A module's first manifest is scanned at once.
  vigilctl(root(),
           {"manifest", "set", "--module", "testscan", "--file", write_manifest("progress 5 11\nsleep 3000\n")});
  std::string shown;
  EXPECT_TRUE(eventually([&] {
    shown = vigilctl(root(), {"status"}).out;
    return shown.find("5 of 11 work units") != std::string::npos;
  })) << shown;
  EXPECT_EQ(module_status("testscan")["progress"], (json{{"done", 5}, {"total", 11}}));
  ASSERT_TRUE(eventually([&] { return module_status("testscan")["state"] == "idle"; }, 30));

  auto failed = scan("fail bad rule 7\n");
  ASSERT_EQ(failed.exit_code, 1) << failed.out << failed.err;
  ASSERT_TRUE(eventually([&] { return module_status("testscan")["state"] == "idle"; }, 30));
  auto status = vigilctl(root(), {"status"});
  EXPECT_NE(status.out.find("last scan failed: bad rule 7 (at "), std::string::npos) << status.out;
  auto scanned = scan("row os name Debian\n");
  ASSERT_EQ(scanned.exit_code, 0) << scanned.out << scanned.err;
  status = vigilctl(root(), {"status"});
  EXPECT_EQ(status.out.find("last scan failed"), std::string::npos) << status.out;
}

// pc's controls: a long evidence column, and result, severity and title.
class PolicyResults : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path() / "system/etc/ssh");
    std::ofstream(dir_.path() / "system/etc/ssh/sshd_config") << "PermitRootLogin yes\n";
    install_plugins(agent(), {PC_PLUGIN_PATH});
    set_agent_config(agent(), "pc.Root", (dir_.path() / "system").string());
    daemon_ = std::make_unique<Daemon>(agent());
    ASSERT_TRUE(daemon_->ready()) << daemon_->log();
    auto manifest = dir_.path() / "pc.yaml";
    std::ofstream(manifest) << "policy: ssh-basics\nversion: '2'\ncontrols:\n"
                               "  - id: ssh-root\n    title: No root logins\n    severity: high\n"
                               "    check: {config: {format: sshd, key: PermitRootLogin, equals: 'no'}}\n"
                               "  - id: motd\n    title: A login banner\n    severity: low\n"
                               "    check: {file_exists: {path: /etc/issue.net}}\n"
                               "  - id: passwd\n    title: A passwd file\n    severity: low\n"
                               "    check: {file_exists: {path: /etc/ssh/sshd_config}}\n";
    ASSERT_EQ(vigilctl(agent(), {"manifest", "set", "--module", "pc", "--file", manifest.string()}).exit_code, 0);
    auto scanned = vigilctl(agent(), {"demand", "--type", "pc", "--wait"});
    ASSERT_EQ(scanned.exit_code, 0) << scanned.err;
  }
  std::filesystem::path agent() const { return dir_.path() / "agent"; }
  json rows(const std::vector<std::string>& where) {
    std::vector<std::string> args = {"results", "--module", "pc", "--table", "controls", "--json"};
    for (const std::string& condition : where) args.insert(args.end(), {"--where", condition});
    auto result = vigilctl(agent(), args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return json::parse(result.out, nullptr, false);
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(PolicyResults, KeyColumnsFirst_ThenTheOutcome_ThenTheRestByName) {
  auto text = vigilctl(agent(), {"results", "--module", "pc", "--table", "controls"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  std::vector<std::string> lines = lines_of(text.out);
  auto header =
      std::find_if(lines.begin(), lines.end(), [](const std::string& line) { return line.starts_with("  control "); });
  ASSERT_NE(header, lines.end()) << text.out;
  std::istringstream words(*header);
  std::vector<std::string> columns{std::istream_iterator<std::string>(words), std::istream_iterator<std::string>()};
  // The key columns in the row's order (by name, as JSON keeps them).
  EXPECT_EQ(columns, (std::vector<std::string>{"control", "policy", "result", "severity", "evidence", "policy_version",
                                               "references", "title"}))
      << text.out;
}

TEST_F(PolicyResults, Where_KeepsTheRowsThatMatchEveryCondition) {
  json failing = rows({"result=fail"});
  ASSERT_EQ(failing["rows"].size(), 2u) << failing.dump();
  for (const auto& row : failing["rows"]) EXPECT_EQ(row["values"]["result"], "fail");
  json one = rows({"result=fail", "severity=low"});
  ASSERT_EQ(one["rows"].size(), 1u) << one.dump();
  EXPECT_EQ(one["rows"][0]["key"]["control"], "motd");
  EXPECT_EQ(rows({"control=passwd"})["rows"].size(), 1u);  // a key column
  EXPECT_TRUE(rows({"result=fail", "severity=none"})["rows"].empty());
  // --limit counts matching rows; next_offset goes on after the last row read.
  auto page =
      vigilctl(agent(), {"results", "-m", "pc", "-t", "controls", "--where", "severity=low", "--limit", "1", "--json"});
  json first = json::parse(page.out, nullptr, false);
  ASSERT_EQ(first["rows"].size(), 1u) << page.out << page.err;
  ASSERT_TRUE(first["next_offset"].is_number()) << page.out;
  auto rest = vigilctl(agent(), {"results", "-m", "pc", "-t", "controls", "--where", "severity=low", "--offset",
                                 first["next_offset"].dump(), "--json"});
  json second = json::parse(rest.out, nullptr, false);
  ASSERT_EQ(second["rows"].size(), 1u) << rest.out << rest.err;
  EXPECT_NE(second["rows"][0]["key"]["control"], first["rows"][0]["key"]["control"]);
  EXPECT_TRUE(second["next_offset"].is_null());

  auto unknown = vigilctl(agent(), {"results", "-m", "pc", "-t", "controls", "--where", "colour=red"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("table 'controls' has no column 'colour' (columns: control, evidence, policy, "
                             "policy_version, references, result, severity, title)"),
            std::string::npos)
      << unknown.err;
  auto anywhere = vigilctl(agent(), {"results", "-m", "pc", "--where", "colour=red"});
  EXPECT_EQ(anywhere.exit_code, 1);
  EXPECT_NE(anywhere.err.find("no table of module 'pc' has a column 'colour' (columns: controls: "), std::string::npos)
      << anywhere.err;
  auto no_value = vigilctl(agent(), {"results", "-m", "pc", "--where", "result"});
  EXPECT_EQ(no_value.exit_code, 2);
  EXPECT_NE(no_value.err.find("COL=VALUE"), std::string::npos) << no_value.err;
}

}  // namespace
}  // namespace vigil::test
