// Proxy settings in pieces: URL lists, credentials (URL-encoded and
// encrypted), no_proxy, the proxy file, PAC results, the PAC helper
// functions and the PAC sandbox.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>

#include "proxy/pac.h"
#include "proxy/proxy_settings.h"
#include "proxy/proxy_url.h"
#include "proxy/secret_box.h"
#include "test_support.h"

namespace vigil::proxy {
namespace {

using namespace std::chrono_literals;

TEST(ProxyUrl, ParsesSchemesPortsCredentialsAndIpv6) {
  auto plain = parse_proxy_url("http://proxy.corp:3128");
  ASSERT_TRUE(plain.ok()) << plain.error();
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->address.host, "proxy.corp");
  EXPECT_EQ(plain->address.port, 3128);
  EXPECT_FALSE(plain->user);

  auto defaults = parse_proxy_url("  HTTPS://proxy.corp/ ");
  ASSERT_TRUE(defaults.ok()) << defaults.error();
  EXPECT_TRUE(defaults->tls);
  EXPECT_EQ(defaults->address.port, 443);
  EXPECT_EQ(parse_proxy_url("proxy:8080")->address.port, 8080);  // no scheme: http
  EXPECT_EQ(parse_proxy_url("http://proxy")->address.port, 80);

  auto v6 = parse_proxy_url("http://[::1]:3128");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->address.host, "::1");
  EXPECT_EQ(v6->display(), "http://[::1]:3128");

  auto encoded = parse_proxy_url("http://do%40main%5Cuser:p%40ss%3Aw%2Fo%25rd@proxy:3128");
  ASSERT_TRUE(encoded.ok()) << encoded.error();
  EXPECT_EQ(encoded->user->text, "do@main\\user");
  EXPECT_EQ(encoded->password->text, "p@ss:w/o%rd");
  EXPECT_FALSE(encoded->password->encrypted);
  EXPECT_EQ(encoded->to_string(), "http://do%40main%5Cuser:p%40ss%3Aw%2Fo%25rd@proxy:3128");
  EXPECT_EQ(encoded->display(), "http://proxy:3128");

  auto tokens = parse_proxy_url("https://#v1abc_-:#v1def@proxy:443");
  ASSERT_TRUE(tokens.ok()) << tokens.error();
  EXPECT_TRUE(tokens->user->encrypted);
  EXPECT_EQ(tokens->user->text, "v1abc_-");
  EXPECT_EQ(tokens->to_string(), "https://#v1abc_-:#v1def@proxy:443");
}

TEST(ProxyUrl, RefusesBadUrlsNamingWhatIsWrongWithoutTheSecret) {
  struct Case {
    const char* url;
    const char* why;
  };
  for (const Case& bad :
       {Case{"", "empty"}, Case{"socks5://proxy:1080", "unsupported scheme 'socks5'"},
        Case{"http://proxy:0", "port must be 1-65535"}, Case{"http://proxy:99999", "port"},
        Case{"http://proxy:3128/path", "no path"}, Case{"http://:3128", "no host"},
        Case{"http://pro xy:3128", "no spaces"}, Case{"http://user:p%4@proxy:1", "two hex digits"},
        Case{"http://#not a token@proxy:1", "not a token"}, Case{"http://:secret@proxy:1", "user name is empty"},
        Case{"http://[::1:3128", "unterminated"}}) {
    auto parsed = parse_proxy_url(bad.url);
    ASSERT_FALSE(parsed.ok()) << bad.url;
    EXPECT_NE(parsed.error().find(bad.why), std::string::npos) << parsed.error();
  }
  auto secret = parse_proxy_url("http://user:hunter2@proxy:99999");
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.error().find("hunter2"), std::string::npos) << secret.error();
  EXPECT_NE(secret.error().find("http://***@proxy:99999"), std::string::npos) << secret.error();
}

TEST(ProxyList, KeepsOrderOfManyProxies_RefusesEmptyEntriesAndTooMany) {
  auto list = parse_proxy_list("http://a:1; http://b:2 ;https://c:3;http://d:4;http://e:5;http://f:6;");
  ASSERT_TRUE(list.ok()) << list.error();
  ASSERT_EQ(list->size(), 6u);
  EXPECT_EQ(list->at(0).address.host, "a");
  EXPECT_EQ(list->at(2).display(), "https://c:3");
  EXPECT_EQ(list->at(5).address.port, 6);
  EXPECT_EQ(format_proxy_list(list.value()), "http://a:1;http://b:2;https://c:3;http://d:4;http://e:5;http://f:6");

  auto empty = parse_proxy_list("http://a:1;;http://b:2");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().find("proxy 2 of 3 is empty"), std::string::npos) << empty.error();
  auto bad = parse_proxy_list("http://a:1;ftp://b:2");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("proxy 2 of 2"), std::string::npos) << bad.error();
  std::string many;
  for (int i = 0; i < 33; ++i) many += "http://p" + std::to_string(i) + ":1;";
  EXPECT_FALSE(parse_proxy_list(many).ok());
  EXPECT_FALSE(parse_proxy_list("").ok());
}

TEST(NoProxy, MatchesNamesSubdomainsAddressesCidrAndPorts) {
  auto rules = NoProxy::parse("localhost, .corp.example,internal.test:8443 10.0.0.0/8 ::1 [fd00::]/8");
  EXPECT_TRUE(rules.matches("localhost", 443));
  EXPECT_TRUE(rules.matches("corp.example", 443));
  EXPECT_TRUE(rules.matches("api.corp.example", 443));
  EXPECT_TRUE(rules.matches("API.Corp.Example.", 443));
  EXPECT_FALSE(rules.matches("notcorp.example", 443));
  EXPECT_TRUE(rules.matches("internal.test", 8443));
  EXPECT_FALSE(rules.matches("internal.test", 443));
  EXPECT_TRUE(rules.matches("10.20.30.40", 443));
  EXPECT_FALSE(rules.matches("11.0.0.1", 443));
  EXPECT_TRUE(rules.matches("::1", 443));
  EXPECT_TRUE(rules.matches("fd12::1", 443));
  EXPECT_FALSE(rules.matches("fe80::1", 443));
  EXPECT_TRUE(NoProxy::parse("*").matches("anything", 1));
  EXPECT_FALSE(NoProxy::parse("").matches("anything", 1));
}

class ProxyFiles : public ::testing::Test {
 protected:
  test::TempDir dir_;
};

TEST_F(ProxyFiles, SecretBox_RoundTripsAndRefusesTamperingOtherKeysAndOpenKeyFiles) {
  auto key = dir_.path() / "etc/secret.key";
  auto box = SecretBox::load_or_create(key);
  ASSERT_TRUE(box.ok()) << box.error();
  struct stat info {};
  ASSERT_EQ(::stat(key.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  std::string token = box->seal("p@ss:w0rd/ü");
  EXPECT_EQ(token.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"),
            std::string::npos);
  EXPECT_NE(token, box->seal("p@ss:w0rd/ü")) << "a fresh nonce every time";
  EXPECT_EQ(box->open(token).value(), "p@ss:w0rd/ü");
  EXPECT_EQ(SecretBox::load(key)->open(token).value(), "p@ss:w0rd/ü");

  std::string altered = token;
  altered[10] = altered[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(box->open(altered).ok());
  EXPECT_FALSE(box->open(token.substr(0, token.size() - 4)).ok());
  EXPECT_FALSE(box->open("v1").ok());
  EXPECT_FALSE(box->open("plain").ok());
  auto other = SecretBox::load_or_create(dir_.path() / "other.key");
  ASSERT_TRUE(other.ok());
  auto foreign = other->open(token);
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.error().find("another key"), std::string::npos) << foreign.error();

  ::chmod(key.c_str(), 0644);
  auto open_key = SecretBox::load(key);
  ASSERT_FALSE(open_key.ok());
  EXPECT_NE(open_key.error().find("mode 0644"), std::string::npos) << open_key.error();
  EXPECT_FALSE(SecretBox::load(dir_.path() / "missing.key").ok());
}

TEST_F(ProxyFiles, ProxyFile_ReadsBothNamesQuotesExportAndComments_RefusesUnknownNamesWithTheLine) {
  auto path = dir_.path() / "proxy";
  std::ofstream(path) << "# corporate proxy\nexport https_proxy=\"http://proxy:3128\"\n\n"
                         "vigil_https_proxy='http://a:1;http://b:2'\nNO_PROXY=localhost,.corp\n";
  auto file = read_proxy_file(path);
  ASSERT_TRUE(file.ok()) << file.error();
  EXPECT_EQ(file->https_proxy, "http://proxy:3128");
  EXPECT_EQ(file->vigil_https_proxy, "http://a:1;http://b:2");
  EXPECT_EQ(file->no_proxy, "localhost,.corp");
  auto environment = command_environment(file.value());
  EXPECT_NE(std::find(environment.begin(), environment.end(), "https_proxy=http://proxy:3128"), environment.end());
  EXPECT_NE(std::find(environment.begin(), environment.end(), "NO_PROXY=localhost,.corp"), environment.end());

  std::ofstream(path) << "https_proxy=http://proxy:3128\nftp_proxy=http://x:1\n";
  auto unknown = read_proxy_file(path);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().find(path.string() + ":2: unknown name 'ftp_proxy'"), std::string::npos) << unknown.error();
  std::ofstream(path) << "https_proxy=http://a:1;http://b:2\n";  // commands take one proxy
  EXPECT_FALSE(read_proxy_file(path).ok());
  EXPECT_TRUE(read_proxy_file(dir_.path() / "none").ok());
}

TEST(ProxySettingsRead, DefaultsAndEveryInvalidValueNamed) {
  std::map<std::string, std::string> config;
  auto lookup = [&](const char* key) -> std::optional<std::string> {
    auto found = config.find(key);
    return found == config.end() ? std::nullopt : std::optional<std::string>(found->second);
  };
  auto defaults = ProxySettings::read(lookup);
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults->direct_fallback);
  EXPECT_TRUE(defaults->system);
  EXPECT_FALSE(defaults->wpad);
  EXPECT_FALSE(defaults->random_order);
  EXPECT_EQ(defaults->connect_timeout_seconds, 3);
  struct Case {
    const char* key;
    const char* value;
    const char* why;
  };
  for (const Case& bad : {Case{"ProxyOrder", "roundrobin", "ProxyOrder must be sequential, seq or random"},
                          Case{"ProxyWpad", "maybe", "ProxyWpad must be on or off"},
                          Case{"ProxyDirectFallback", "2", "ProxyDirectFallback must be on or off"},
                          Case{"ConnectTimeout", "0", "ConnectTimeout must be 1-120 seconds"},
                          Case{"ConnectTimeout", "5s", "ConnectTimeout must be 1-120 seconds"},
                          Case{"ProxyPac", "ftp://x/p.pac", "must start with http://, https:// or file:///"},
                          Case{"ProxyPac", "file://relative.pac", "absolute path"},
                          Case{"ProxyUser", "plain", "ProxyUser must hold an encrypted #TOKEN"},
                          Case{"ProxyUrls", "http://a:1;;", "ProxyUrls: proxy 2 of 2 is empty"}}) {
    config = {{bad.key, bad.value}};
    auto read = ProxySettings::read(lookup);
    ASSERT_FALSE(read.ok()) << bad.key << "=" << bad.value;
    EXPECT_NE(read.error().find(bad.why), std::string::npos) << read.error();
  }
  config = {{"ProxyOrder", "seq"}, {"ProxyWpad", "ON"}, {"ConnectTimeout", "120"}};
  auto good = ProxySettings::read(lookup);
  ASSERT_TRUE(good.ok()) << good.error();
  EXPECT_TRUE(good->wpad);
  EXPECT_EQ(good->connect_timeout_seconds, 120);
}

TEST(PacResult, ParsesListsDefaultsAndRefusesGarbage) {
  auto list = parse_pac_result("PROXY a.corp:3128; HTTPS b.corp ;SOCKS5 c:1080; DIRECT");
  ASSERT_TRUE(list.ok()) << list.error();
  ASSERT_EQ(list->size(), 4u);
  EXPECT_EQ(list->at(0).kind, PacDirective::Kind::kProxy);
  EXPECT_EQ(list->at(0).address.to_string(), "a.corp:3128");
  EXPECT_TRUE(list->at(1).tls);
  EXPECT_EQ(list->at(1).address.port, 443);
  EXPECT_EQ(list->at(2).kind, PacDirective::Kind::kUnsupported);
  EXPECT_EQ(list->at(3).kind, PacDirective::Kind::kDirect);
  auto empty = parse_pac_result("  ");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->at(0).kind, PacDirective::Kind::kDirect);
  for (const char* bad : {"FTP a:1", "PROXY", "PROXY a:x", "DIRECT now"}) {
    EXPECT_FALSE(parse_pac_result(bad).ok()) << bad;
  }
}

// Runs FindProxyForURL(url, host) = `expression` in the engine, with a resolver that knows two names.
std::string evaluate(const std::string& expression, const std::string& url = "https://platform.corp.example:8443/",
                     const std::string& host = "platform.corp.example") {
  PacContext context;
  context.my_ip = "10.1.2.3";
  context.resolve = [](const std::string& name) -> std::optional<std::string> {
    if (name == "platform.corp.example") return "10.20.0.5";
    if (name == "localhost") return "127.0.0.1";
    return std::nullopt;
  };
  auto result = find_proxy_for_url("function FindProxyForURL(url, host) { return String(" + expression + "); }", url,
                                   host, context);
  return result.ok() ? result.value() : "error: " + result.error();
}

TEST(PacHelpers, BehaveAsTheNetscapeDefinitionSays) {
  EXPECT_EQ(evaluate("isPlainHostName('www')"), "true");
  EXPECT_EQ(evaluate("isPlainHostName('www.example')"), "false");
  EXPECT_EQ(evaluate("dnsDomainIs(host, '.corp.example')"), "true");
  EXPECT_EQ(evaluate("dnsDomainIs(host, '.other.example')"), "false");
  EXPECT_EQ(evaluate("localHostOrDomainIs('www', 'www.corp.example')"), "true");
  EXPECT_EQ(evaluate("localHostOrDomainIs('www.corp.example', 'www.corp.example')"), "true");
  EXPECT_EQ(evaluate("localHostOrDomainIs('www.other.example', 'www.corp.example')"), "false");
  EXPECT_EQ(evaluate("dnsDomainLevels(host)"), "2");
  EXPECT_EQ(evaluate("dnsResolve(host)"), "10.20.0.5");
  EXPECT_EQ(evaluate("dnsResolve('nowhere.invalid')"), "null");
  EXPECT_EQ(evaluate("isResolvable(host) && !isResolvable('nowhere.invalid')"), "true");
  EXPECT_EQ(evaluate("myIpAddress()"), "10.1.2.3");
  EXPECT_EQ(evaluate("isInNet(host, '10.20.0.0', '255.255.0.0')"), "true");
  EXPECT_EQ(evaluate("isInNet(host, '10.21.0.0', '255.255.0.0')"), "false");
  EXPECT_EQ(evaluate("isInNet('192.168.1.7', '192.168.1.0', '255.255.255.0')"), "true");
  EXPECT_EQ(evaluate("isInNet('nowhere.invalid', '0.0.0.0', '0.0.0.0')"), "false");
  EXPECT_EQ(evaluate("isInNet(myIpAddress(), '10.0.0.0', '255.0.0.0')"), "true");
  EXPECT_EQ(evaluate("convert_addr('1.2.3.4')"), "16909060");
  EXPECT_EQ(evaluate("shExpMatch(url, 'https://*.corp.example:*')"), "true");
  EXPECT_EQ(evaluate("shExpMatch('a.b', 'a?b')"), "true");
  EXPECT_EQ(evaluate("shExpMatch('axxb', 'a?b')"), "false");
  EXPECT_EQ(evaluate("shExpMatch('a+b(c)', 'a+b(*)')"), "true");  // regex characters are literal
  EXPECT_EQ(evaluate("alert('ignored') === undefined"), "true");
}

TEST(PacHelpers, TimeAndDateRangesFollowTheClock) {
  // Computed from the same clock the engine reads, at most a second apart.
  EXPECT_EQ(evaluate("weekdayRange(['SUN','MON','TUE','WED','THU','FRI','SAT'][new Date().getDay()])"), "true");
  EXPECT_EQ(evaluate("weekdayRange('SUN', 'SAT')"), "true");
  EXPECT_EQ(
      evaluate("weekdayRange(['SUN','MON','TUE','WED','THU','FRI','SAT'][(new Date().getUTCDay() + 1) % 7], 'GMT')"),
      "false");
  EXPECT_EQ(evaluate("timeRange(0, 24)"), "true");
  EXPECT_EQ(evaluate("timeRange(new Date().getHours())"), "true");
  EXPECT_EQ(evaluate("timeRange((new Date().getUTCHours() + 1) % 24, 'GMT')"), "false");
  EXPECT_EQ(evaluate("timeRange(0, 0, 0, 23, 59, 59)"), "true");
  EXPECT_EQ(evaluate("dateRange(new Date().getDate())"), "true");
  EXPECT_EQ(evaluate("dateRange(1, 31)"), "true");
  EXPECT_EQ(evaluate("dateRange('JAN', 'DEC')"), "true");
  EXPECT_EQ(evaluate("dateRange(new Date().getFullYear() + 1)"), "false");
  EXPECT_EQ(evaluate("dateRange(1, 'JAN', 2000, 31, 'DEC', 2999)"), "true");
  EXPECT_EQ(evaluate("dateRange('nonsense')"), "false");
}

TEST(PacEngine, ReportsScriptsThatDoNotWork) {
  PacContext context;
  EXPECT_NE(find_proxy_for_url("function (", "u", "h", context).error().find("the PAC script fails"),
            std::string::npos);
  EXPECT_NE(find_proxy_for_url("var x = 1;", "u", "h", context).error().find("no function FindProxyForURL"),
            std::string::npos);
  EXPECT_NE(find_proxy_for_url("function FindProxyForURL() { return 42; }", "u", "h", context).error().find("string"),
            std::string::npos);
  EXPECT_EQ(
      find_proxy_for_url("function FindProxyForURL(u, h) { return 'PROXY ' + h + ':1'; }", "u", "x.y", context).value(),
      "PROXY x.y:1");
}

TEST_F(ProxyFiles, PacHelperProcess_BoundsLoopsAndMemoryHogs) {
  auto write = [&](const std::string& name, const std::string& script) {
    auto file = dir_.path() / name;
    std::ofstream(file) << script;
    return file;
  };
  auto good =
      run_pac(VIGIL_PAC_PATH, write("good.pac", "function FindProxyForURL(u, h) { return 'PROXY p:1; DIRECT'; }"),
              "https://x/", "x", "127.0.0.1", 2000ms);
  ASSERT_TRUE(good.ok()) << good.error();
  EXPECT_EQ(good.value(), "PROXY p:1; DIRECT");

  auto started = std::chrono::steady_clock::now();
  auto loop = run_pac(VIGIL_PAC_PATH, write("loop.pac", "function FindProxyForURL(u, h) { while (true) {} }"),
                      "https://x/", "x", "127.0.0.1", 300ms);
  ASSERT_FALSE(loop.ok());
  EXPECT_NE(loop.error().find("did not finish within its time limit"), std::string::npos) << loop.error();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);

  auto thrown = run_pac(VIGIL_PAC_PATH, write("throw.pac", "function FindProxyForURL(u, h) { throw 'nope'; }"),
                        "https://x/", "x", "127.0.0.1", 2000ms);
  ASSERT_FALSE(thrown.ok());
  EXPECT_NE(thrown.error().find("FindProxyForURL threw: nope"), std::string::npos) << thrown.error();

  if (kSanitizedBuild) GTEST_SKIP() << "sanitizer build: vigil-pac runs without its memory limit, so no memory hog";
  auto hog = run_pac(
      VIGIL_PAC_PATH,
      write("hog.pac", "function FindProxyForURL(u, h) { var s = 'x', a = []; for (;;) { s = s + s; a.push(s); } }"),
      "https://x/", "x", "127.0.0.1", 5000ms);
  ASSERT_FALSE(hog.ok());
}

}  // namespace
}  // namespace vigil::proxy
