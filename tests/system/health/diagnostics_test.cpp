// vigilctl diagnostics: the bundle of a provisioned agent with secrets
// planted everywhere they could leak from (configuration, proxy settings and
// file, logs); every one of them is searched for in every unpacked file.
#include <fstream>
#include <sstream>

#include <sys/stat.h>

#include "health/health_fixture.h"
#include "proxy_servers.h"
#include "store/config_table.h"
#include "store/state_store.h"

namespace vigil::test {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string config_value(const fs::path& root, const std::string& key) {
  auto store = StateStore::open(root / "var/lib/vigil/config.db");
  if (!store.ok()) return "";
  auto value = store.value()->config().get(key);
  return value.ok() && value.value() ? *value.value() : "";
}

TEST_F(HealthTest, Diagnostics_BundleHoldsEverythingAndNoSecret) {
  start_provisioned_agent();
  // Proxy credentials in the three places they can be set; the URLs' proxy is dead, the agent goes direct.
  std::string dead = "127.0.0.1:" + std::to_string(refused_port());
  // ProxyUser/ProxyPassword apply to the URL without credentials of its own.
  auto proxy = run({"/bin/sh", "-c",
                    "echo 'separatepass-4k' | " + std::string(VIGILCTL_PATH) + " --root " + root().string() +
                        " proxy --url 'http://urluser-7q:urlpass-9z@" + dead + ";http://" + dead +
                        "' --user separateuser-3m --password-stdin"});
  ASSERT_EQ(proxy.exit_code, 0) << proxy.err;
  std::ofstream(root() / "etc/vigil/proxy") << "vigil_https_proxy=http://fileuser-2w:filepass-8x@" << dead << "\n";
  std::string token = config_value(root(), "AgentToken");
  std::string sealed_urls = config_value(root(), "ProxyUrls");
  std::string sealed_user = config_value(root(), "ProxyUser");
  ASSERT_FALSE(token.empty());
  ASSERT_FALSE(sealed_user.empty());
  ASSERT_EQ(sealed_urls.find("urlpass-9z"), std::string::npos) << "stored sealed: " << sealed_urls;
  // Leaks a careless log line could carry.
  std::ofstream(root() / "var/log/vigil/testscan.log", std::ios::app)
      << "2026-12-02T09:00:00.000+0000 error [testscan] leaked token " << token << " and activation "
      << platform_->activation_id() << "\n"
      << "2026-12-02T09:00:01.000+0000 warning [testscan] Authorization: Bearer bearer-secret-5t\n"
      << "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC-planted-key\n"
      << "-----END PRIVATE KEY-----\n";

  fs::path bundle = dir_.path() / "bundle.tar.gz";
  auto written = vigilctl(root(), {"diagnostics", "--output", bundle.string()});
  ASSERT_EQ(written.exit_code, 0) << written.err;
  EXPECT_NE(written.out.find("wrote " + bundle.string()), std::string::npos) << written.out;
  struct stat mode {};
  ASSERT_EQ(::stat(bundle.c_str(), &mode), 0);
  EXPECT_EQ(mode.st_mode & 0777, 0600u);

  fs::path unpacked = dir_.path() / "unpacked";
  fs::create_directories(unpacked);
  auto untar = run({"/usr/bin/tar", "-xzf", bundle.string(), "-C", unpacked.string()});
  ASSERT_EQ(untar.exit_code, 0) << untar.err;
  fs::path top = unpacked / "bundle";
  for (const char* member : {"README.txt", "system.txt", "status.json", "plugins.json", "health.json", "config.json",
                             "recent-errors.txt", "logs/vigild.log", "logs/testscan.log", "config/proxy"}) {
    EXPECT_TRUE(fs::exists(top / member)) << member;
  }
  EXPECT_FALSE(fs::exists(top / "config/secret.key"));
  EXPECT_TRUE(fs::exists(root() / "etc/vigil/secret.key"));  // there was one to leave out

  std::vector<std::string> secrets = {token,
                                      platform_->activation_id(),
                                      "urluser-7q",
                                      "urlpass-9z",
                                      sealed_urls,
                                      sealed_user,
                                      "separateuser-3m",
                                      "separatepass-4k",
                                      "fileuser-2w",
                                      "filepass-8x",
                                      "bearer-secret-5t",
                                      "-planted-key"};
  // The sealed forms are tokens inside the stored URL: each one alone too.
  for (std::string rest = sealed_urls; rest.find('#') != std::string::npos;) {
    rest = rest.substr(rest.find('#') + 1);
    secrets.push_back(rest.substr(0, rest.find_first_of(":@")));
  }
  size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(unpacked)) {
    if (!entry.is_regular_file()) continue;
    ++files;
    std::string text = read_file(entry.path());
    for (const std::string& secret : secrets) {
      EXPECT_EQ(text.find(secret), std::string::npos) << "'" << secret << "' in " << entry.path();
    }
  }
  EXPECT_GE(files, 10u);
  // What is no secret stays: the agent id, the module, the redaction marks, the recent errors.
  std::string agent_id = config_value(root(), "AgentId");
  EXPECT_NE(read_file(top / "status.json").find(agent_id), std::string::npos);
  EXPECT_NE(read_file(top / "health.json").find("\"overall\""), std::string::npos);
  EXPECT_NE(read_file(top / "config.json").find("\"AgentToken\": \"[REDACTED]\""), std::string::npos);
  std::string recent = read_file(top / "recent-errors.txt");
  EXPECT_NE(recent.find("leaked token [REDACTED] and activation [REDACTED]"), std::string::npos) << recent;
  EXPECT_NE(read_file(top / "config/proxy").find("http://[REDACTED]@" + dead), std::string::npos);
}

TEST(HealthDiagnostics, AnUnwritableOutputIsAnErrorNamingIt) {
  TempDir dir;
  auto result = vigilctl(dir.path(), {"diagnostics", "--output", (dir.path() / "missing/dir/b.tar.gz").string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("missing/dir/b.tar.gz"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace vigil::test
