// The sshd reader against Debian's own sshd: seeded random configurations
// (Include files, Match blocks on Address / LocalAddress with CIDR and
// negation, User, Group, Host, LocalPort, RDomain, all; keywords in any case,
// aliases, "=" forms, comments and every spelling sshd accepts) are read by
// `sshd -T -f CONFIG -C user=,host=,addr=,laddr=,lport=,rdomain=` once per
// (configuration, connection), and every keyword it prints that the
// configurations set must equal the effective value our reader gives. A few
// configurations hold a construct sshd refuses: then sshd must fail and our
// reader must err for every keyword. Skips (saying why) without sshd.
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "test_support.h"
#include "vigil/policy/config_formats.h"

namespace vigil::policy {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSshd = "/usr/sbin/sshd";
constexpr const char* kTestName = "SshdOracle.EffectiveValuesAgreeWithSshdT";

// One keyword the generator sets: its spellings (a name flagged true is
// refused by sshd within a Match block) and values in the spellings sshd accepts.
struct Setting {
  std::string printed;  // as sshd -T prints the keyword
  std::vector<std::pair<std::string, bool>> names;
  std::vector<std::string> values;
};

const std::vector<Setting>& settings() {
  static const std::vector<Setting> kSettings = {
      {"permitrootlogin",
       {{"PermitRootLogin", false}},
       {"yes", "no", "without-password", "prohibit-password", "Prohibit-Password", "forced-commands-only", "NO"}},
      {"passwordauthentication", {{"PasswordAuthentication", false}}, {"yes", "no", "YES", "No"}},
      {"x11forwarding", {{"X11Forwarding", false}}, {"yes", "no"}},
      {"maxauthtries", {{"MaxAuthTries", false}}, {"1", "3", "4", "6", "+5", "010"}},
      {"allowtcpforwarding", {{"AllowTcpForwarding", false}}, {"yes", "all", "no", "local", "remote", "ALL"}},
      {"banner", {{"Banner", false}}, {"none", "NONE", "/etc/issue.net", "\"/etc/issue\""}},
      {"kbdinteractiveauthentication",
       {{"KbdInteractiveAuthentication", false}, {"ChallengeResponseAuthentication", false}},
       {"yes", "no"}},
      {"pubkeyauthentication", {{"PubkeyAuthentication", false}, {"DSAAuthentication", true}}, {"yes", "no"}},
      {"clientaliveinterval", {{"ClientAliveInterval", false}}, {"0", "15", "1m", "1m30s", "2M", "1h", "+1m", "1m+5"}},
      {"maxsessions", {{"MaxSessions", false}}, {"1", "2", "10"}},
      {"logingracetime", {{"LoginGraceTime", true}}, {"30", "2m", "1m30s", "120"}},
      {"permitemptypasswords", {{"PermitEmptyPasswords", false}}, {"yes", "no"}},
      {"gatewayports", {{"GatewayPorts", false}}, {"yes", "no", "clientspecified"}},
      {"ignorerhosts", {{"IgnoreRhosts", false}}, {"yes", "no", "shosts-only"}},
      {"tcpkeepalive", {{"TCPKeepAlive", true}, {"KeepAlive", true}}, {"yes", "no"}},
      {"allowusers", {{"AllowUsers", false}}, {"root", "alice bob", "r*", "\"carol\""}},
      {"acceptenv", {{"AcceptEnv", false}}, {"LANG", "LC_* TZ", "X"}},
      {"denygroups", {{"DenyGroups", false}}, {"adm", "wheel users"}},
      {"setenv", {{"SetEnv", false}}, {"A=1", "A=2 B=3"}},
  };
  return kSettings;
}

const std::vector<std::string> kAddresses = {"10.1.2.3",    "10.2.0.5",      "192.168.1.20", "172.16.5.4",
                                             "2001:db8::5", "2001:db8:1::9", "::1",          "8.8.8.8"};
const std::vector<std::string> kNetworks = {"10.0.0.0/8",
                                            "10.1.0.0/16",
                                            "192.168.1.0/24",
                                            "192.168.1.*",
                                            "2001:db8::/32",
                                            "2001:db8:1::/48",
                                            "172.16.0.0/12",
                                            "10.1.2.3",
                                            "::1",
                                            "*",
                                            "10.*",
                                            "0.0.0.0/0"};

struct Connection {
  std::string user, host, address, local_address, local_port, rdomain;
  std::string spec() const {
    return "user=" + user + ",host=" + host + ",addr=" + address + ",laddr=" + local_address + ",lport=" + local_port +
           ",rdomain=" + rdomain;
  }
};

// The user's groups on this machine, comma-separated, as sshd's Match Group sees them.
std::string groups_of(const std::string& user) {
  struct passwd* account = ::getpwnam(user.c_str());
  if (account == nullptr) return "";
  std::vector<gid_t> ids(256);
  int count = static_cast<int>(ids.size());
  if (::getgrouplist(user.c_str(), account->pw_gid, ids.data(), &count) < 0) return "";
  std::string names;
  for (int i = 0; i < count; ++i) {
    struct group* found = ::getgrgid(ids[static_cast<size_t>(i)]);
    if (found != nullptr) names += (names.empty() ? "" : ",") + std::string(found->gr_name);
  }
  return names;
}

class Generator {
 public:
  Generator(uint32_t seed, fs::path dir) : random_(seed), dir_(std::move(dir)) {}

  size_t below(size_t n) { return static_cast<size_t>(random_() % n); }
  bool chance(int percent) { return static_cast<int>(below(100)) < percent; }
  template <class T>
  const T& pick(const std::vector<T>& options) {
    return options[below(options.size())];
  }
  std::string cased(std::string word) {
    switch (below(4)) {
      case 0:
        for (auto& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        break;
      case 1:
        for (auto& c : word) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        break;
      default: break;
    }
    return word;
  }

  // One keyword line; `in_match`: only keywords sshd allows within a Match block.
  std::string keyword_line(bool in_match) {
    for (;;) {
      const Setting& setting = pick(settings());
      const auto& [name, global_only] = pick(setting.names);
      if (in_match && global_only) continue;
      std::string value = pick(setting.values);
      std::string indent = in_match || chance(20) ? pick(std::vector<std::string>{"  ", "\t", " "}) : "";
      std::string separator = pick(std::vector<std::string>{" ", "\t", "=", " = ", " ="});
      std::string comment = chance(15) ? " # note" : "";
      return indent + cased(name) + separator + value + comment + "\n";
    }
  }

  std::string list(const std::vector<std::string>& pool, int negate_percent) {
    std::string text;
    size_t count = 1 + below(3);
    for (size_t i = 0; i < count; ++i)
      text += (i ? "," : "") + std::string(chance(negate_percent) ? "!" : "") + pick(pool);
    return text;
  }

  // A Match line; `all` tells whether it is "Match all".
  std::string match_line(bool& all) {
    all = chance(10);
    if (all) return cased("Match") + " " + cased("all") + "\n";
    std::vector<std::string> criteria = {"Address", "LocalAddress", "User", "Group", "Host", "LocalPort", "RDomain"};
    std::shuffle(criteria.begin(), criteria.end(), random_);
    size_t count = 1 + below(3);
    std::string line = cased("Match");
    for (size_t i = 0; i < count; ++i) {
      const std::string& criterion = criteria[i];
      std::string value;
      if (criterion == "Address" || criterion == "LocalAddress") value = list(kNetworks, 30);
      if (criterion == "User") value = list({"root", "nobody", "alice", "r*", "*", "no?ody"}, 20);
      if (criterion == "Group") value = list({"root", "nogroup", "adm", "no*", "*", "users"}, 20);
      if (criterion == "Host") value = list({"*.example.org", "*.EXAMPLE.com", "localhost", "gw.*", "*"}, 20);
      if (criterion == "LocalPort") value = pick(std::vector<std::string>{"22", "2222", "8022", "+22", "022"});
      if (criterion == "RDomain") value = list({"blue", "red*", "green", "*"}, 20);
      line += " " + cased(criterion) + " " + value;
    }
    return line + "\n";
  }

  // Something sshd refuses, to check that both refuse it.
  std::string refused_line() {
    return pick(std::vector<std::string>{
        "Match Address 10.1.2.3/8\n", "Match Foo bar\n", "Match Canonical\n", "Match all User root\n",
        "Match LocalPort 22,2222\n", "PermitRootLogin maybe\n", "MaxAuthTries many\n", "NoSuchKeyword yes\n",
        "Match Address 10.0.0.0/33\n", "Match User root\n  Port 2222\n", "Match Address !,10.0.0.0/8\n"});
  }

  Connection connection() {
    return Connection{pick(std::vector<std::string>{"root", "nobody", "alice"}),
                      pick(std::vector<std::string>{"client.example.org", "GW.example.com", "localhost", "other.net"}),
                      pick(kAddresses),
                      pick(kAddresses),
                      pick(std::vector<std::string>{"22", "2222", "8022"}),
                      pick(std::vector<std::string>{"blue", "red1", "green"})};
  }

  // Writes one configuration (main file and included files); returns the main file.
  // `refused`: one line sshd refuses, somewhere.
  fs::path configuration(int number, bool refused) {
    fs::path base = dir_ / ("c" + std::to_string(number));
    fs::create_directories(base / "inc");
    auto blocks = [&](std::string& text, int count, bool allow_global) {
      for (int i = 0; i < count; ++i) {
        bool all = false;
        text += match_line(all);
        size_t lines = 1 + below(3);
        for (size_t j = 0; j < lines; ++j) text += keyword_line(!(all && allow_global));
      }
    };
    // a*.conf: included from the global section; global lines, then maybe Match blocks.
    for (int i = 0; i < 2; ++i) {
      std::string text;
      for (size_t j = below(3); j > 0; --j) text += keyword_line(false);
      if (chance(40)) blocks(text, 1 + static_cast<int>(below(2)), true);
      std::ofstream(base / "inc" / ("a" + std::to_string(i) + ".conf")) << text;
    }
    // b*.conf: included from within a Match block; only what a Match block allows.
    for (int i = 0; i < 2; ++i) {
      std::string text;
      for (size_t j = below(3); j > 0; --j) text += keyword_line(true);
      if (chance(30)) blocks(text, 1, false);
      std::ofstream(base / "inc" / ("b" + std::to_string(i) + ".conf")) << text;
    }
    std::string text = "HostKey " + (dir_ / "hostkey").string() + "\n";
    std::string include_a = cased("Include") + " " + (base / "inc/a*.conf").string() + "\n";
    if (chance(50)) text += include_a;
    for (size_t j = below(4); j > 0; --j) text += keyword_line(false);
    if (chance(30)) text += include_a;
    for (size_t j = below(3); j > 0; --j) text += keyword_line(false);
    int count = static_cast<int>(below(5));
    for (int i = 0; i < count; ++i) {
      bool all = false;
      text += match_line(all);
      for (size_t j = 1 + below(3); j > 0; --j) text += keyword_line(!all);
      if (chance(25)) {
        text +=
            "  " + cased("Include") + " " + (base / "inc" / ("b" + std::to_string(below(2)) + ".conf")).string() + "\n";
      }
    }
    if (refused) {
      // Anywhere: the end of the main file or of an included one.
      if (chance(50)) {
        text += refused_line();
      } else {
        std::ofstream(base / "inc/a0.conf", std::ios::app) << refused_line();
        if (text.find("inc/a*.conf") == std::string::npos) text += include_a;
      }
    }
    fs::path main = base / "sshd_config";
    std::ofstream(main) << text;
    return main;
  }

 private:
  std::mt19937 random_;
  fs::path dir_;
};

std::map<std::string, std::string> parse_dump(const std::string& out) {
  std::map<std::string, std::string> values;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    size_t space = line.find(' ');
    if (space == std::string::npos) continue;
    // A keyword printed on several lines (AllowUsers a, AllowUsers b) reads as its words joined.
    auto [at, added] = values.emplace(line.substr(0, space), line.substr(space + 1));
    if (!added) at->second += " " + line.substr(space + 1);
  }
  return values;
}

std::string file_text(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Why the oracle cannot run here (empty: it can). As root without /run/sshd it
// runs the test again as nobody: `child` then holds that run.
std::string unavailable() {
  if (::access(kSshd, X_OK) != 0) {
    return std::string("sshd is not installed (") + kSshd +
           "; scripts/bootstrap installs openssh-server): the reader was not compared with it";
  }
  if (::access("/usr/bin/ssh-keygen", X_OK) != 0) return "ssh-keygen is not installed: no host key for sshd";
  return "";
}

bool needs_nobody() {
  std::error_code ignored;
  return ::geteuid() == 0 && !fs::is_directory("/run/sshd", ignored) && !test::in_rerun();
}

// Runs `name` again as nobody and reports its summary lines; false (with `why`) when it could not run.
bool ran_as_nobody(const std::string& name, std::string& why) {
  auto child = test::rerun_test(test::as_nobody(), name);
  if (!test::rerun_ran(child)) {
    why = "running as root without /run/sshd (sshd -T needs it as root), and cannot run as nobody: " + child.err;
    return false;
  }
  std::istringstream lines(child.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("sshd oracle", 0) == 0) std::cout << line << " (as nobody)\n";
  }
  EXPECT_EQ(child.exit_code, 0) << child.out << child.err;
  return true;
}

// A host key in `dir` and what sshd -T prints for a file that sets nothing.
std::map<std::string, std::string> prepare(const fs::path& dir, std::string& why) {
  auto keygen = test::run({"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", (dir / "hostkey").string()});
  if (keygen.exit_code != 0) {
    why = "ssh-keygen fails: " + keygen.err;
    return {};
  }
  std::ofstream(dir / "empty_config") << "HostKey " << (dir / "hostkey").string() << "\n";
  auto defaults_run = test::run({kSshd, "-T", "-f", (dir / "empty_config").string(), "-C",
                                 "user=root,host=h,addr=10.0.0.1,laddr=10.0.0.2,lport=22,rdomain=x"});
  if (defaults_run.exit_code != 0) why = "sshd -T does not run here: " + defaults_run.err;
  return parse_dump(defaults_run.out);
}

TEST(SshdOracle, EffectiveValuesAgreeWithSshdT) {
  if (auto why = unavailable(); !why.empty()) GTEST_SKIP() << why;
  if (needs_nobody()) {
    if (std::string why; !ran_as_nobody(kTestName, why)) GTEST_SKIP() << why;
    return;
  }
  test::TempDir dir;
  std::string why;
  auto defaults = prepare(dir.path(), why);
  if (!why.empty()) GTEST_SKIP() << why;

  int configurations = 250;
  if (const char* count = std::getenv("VIGIL_SSHD_ORACLE_CONFIGS")) configurations = std::atoi(count);
  constexpr int kConnections = 4;
  Generator generate(20261203, dir.path());
  std::map<std::string, std::string> groups;
  long cases = 0, runs = 0, refused_configurations = 0;
  std::vector<std::string> disagreements;
  for (int number = 0; number < configurations; ++number) {
    bool refused = generate.chance(5);
    fs::path main = generate.configuration(number, refused);
    for (int c = 0; c < kConnections; ++c) {
      Connection connection = generate.connection();
      if (!groups.count(connection.user)) groups[connection.user] = groups_of(connection.user);
      SshdContext context{connection.user,       groups[connection.user],  connection.host,   connection.address,
                          connection.local_port, connection.local_address, connection.rdomain};
      auto sshd = test::run({kSshd, "-T", "-f", main.string(), "-C", connection.spec()});
      ++runs;
      auto printed = parse_dump(sshd.out);
      for (const auto& setting : settings()) {
        ++cases;
        std::string ours;
        try {
          auto value = sshd_value("/", main, setting.names.front().first, context);
          ours = value ? value->value : defaults[setting.printed];
        } catch (const std::runtime_error& problem) {
          ours = std::string("error: ") + problem.what();
        }
        std::string theirs = sshd.exit_code == 0 ? printed[setting.printed] : "error: " + sshd.err;
        bool agree = sshd.exit_code == 0 ? ours == theirs : ours.rfind("error: ", 0) == 0;
        if (!agree && disagreements.size() < 5) {
          disagreements.push_back("configuration " + main.string() + ", connection " + connection.spec() + ", " +
                                  setting.printed + ": ours '" + ours + "', sshd -T '" + theirs + "'\n" +
                                  file_text(main));
        } else if (!agree) {
          disagreements.push_back("");
        }
      }
    }
    refused_configurations += refused;
  }
  std::cout << "sshd oracle: " << configurations << " configurations (" << refused_configurations
            << " that sshd refuses), " << runs << " sshd -T runs, " << cases << " (configuration, connection, keyword) "
            << "cases, " << disagreements.size() << " disagreements\n";
  EXPECT_TRUE(disagreements.empty()) << disagreements.size() << " disagreements, the first:\n"
                                     << disagreements.front() << "\n"
                                     << (disagreements.size() > 1 ? disagreements[1] : "");
}

}  // namespace
}  // namespace vigil::policy

namespace vigil::policy {
namespace {

// Every keyword sshd -T prints, alone in a file, with each of a pool of values
// (every spelling of the words sshd knows, numbers, times, paths, lists): when
// sshd reads the file, our reader gives what sshd -T prints or errs (never
// another value); when sshd refuses it, we count whether our reader erred too.
// The same value within a Match block checks which keywords sshd refuses there.
TEST(SshdOracle, EveryKeywordAloneWithEverySpelling) {
  if (auto why = unavailable(); !why.empty()) GTEST_SKIP() << why;
  if (needs_nobody()) {
    if (std::string why; !ran_as_nobody("SshdOracle.EveryKeywordAloneWithEverySpelling", why)) GTEST_SKIP() << why;
    return;
  }
  test::TempDir dir;
  std::string why;
  auto defaults = prepare(dir.path(), why);
  if (!why.empty()) GTEST_SKIP() << why;
  const std::vector<std::string> values = {"yes",    "No",    "ALL",  "prohibit-password", "clientspecified", "0",
                                           "+7",     "1m30s", "none", "/etc/issue.net",    "quiet",           "sha256",
                                           "\"a b\""};
  fs::path file = dir.path() / "sshd_config";
  const SshdContext context{"root", groups_of("root"), "h", "10.0.0.1", "22", "10.0.0.2", "x"};
  long runs = 0, agreed = 0, we_err = 0, both_refuse = 0, we_read = 0;
  std::vector<std::string> differ;
  std::set<std::string> refused_read;
  // One case: `keyword value`, globally or within a Match block; true when sshd reads it.
  auto compare = [&](const std::string& keyword, const std::string& value, bool match) {
    std::ofstream(file) << "HostKey " << (dir.path() / "hostkey").string() << "\n"
                        << (match ? "Match User root\n  " : "") << keyword << " " << value << "\n";
    auto sshd = test::run(
        {kSshd, "-T", "-f", file.string(), "-C", "user=root,host=h,addr=10.0.0.1,laddr=10.0.0.2,lport=22,rdomain=x"});
    ++runs;
    std::optional<std::string> ours;
    try {
      auto found = sshd_value("/", file, keyword, context);
      ours = found ? found->value : "(unset)";
    } catch (const std::runtime_error&) {
    }
    if (sshd.exit_code != 0) {
      if (ours) refused_read.insert(keyword);
      both_refuse += !ours;
      we_read += ours.has_value();
      return false;
    }
    std::string theirs = parse_dump(sshd.out)[keyword];
    if (!ours) {
      ++we_err;
    } else if (*ours == theirs) {
      ++agreed;
    } else {
      differ.push_back(keyword + " " + value + (match ? " (in Match)" : "") + ": ours '" + *ours + "', sshd -T '" +
                       theirs + "'");
    }
    return true;
  };
  for (const auto& [keyword, unused] : defaults) {
    if (keyword == "hostkey") continue;
    std::optional<std::string> accepted;
    for (const auto& value : values) {
      if (compare(keyword, value, false) && !accepted) accepted = value;
    }
    if (accepted) compare(keyword, *accepted, true);  // which keywords sshd refuses within a Match block
  }
  std::cout << "sshd oracle, keywords alone: " << runs << " sshd -T runs; sshd read "
            << agreed + we_err + static_cast<long>(differ.size()) << " (we agree on " << agreed << ", err on " << we_err
            << ", differ on " << differ.size() << "); sshd refused " << both_refuse + we_read << " (we err on "
            << both_refuse << ", read a value on " << we_read << ")\n";
  std::string keywords;
  for (const auto& keyword : refused_read) keywords += " " + keyword;
  std::cout << "sshd oracle, keywords alone: sshd refuses some values of these that we read (not validated):"
            << keywords << "\n";
  std::string listed;
  for (const auto& line : differ) listed += "  " + line + "\n";
  EXPECT_TRUE(differ.empty()) << "our value differs from sshd -T:\n" << listed;
}

}  // namespace
}  // namespace vigil::policy
