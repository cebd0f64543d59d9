// Self-protection end to end (docs/self-protection.md): a real vigild and
// vigil-platform over TLS on 127.0.0.1. The platform's profile turns it on;
// stops (vigilctl and SIGTERM) are refused without a platform key, refused
// with a key for another agent, an expired key or a stranger's key, and
// obeyed with a valid one. The supervisor puts back a plugin file that is
// deleted, changed or re-permissioned; a process without CAP_SYS_PTRACE
// cannot attach to the worker.
#include <linux/capability.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "platform_link_fixture.h"
#include "vigil/crypto/digest.h"
#include "vigil/tuf/ed25519.h"
#include "vigil/tuf/protection_key.h"

namespace vigil::test {
namespace {

class SelfProtectionTest : public PlatformLinkFixture {
 protected:
  void TearDown() override {
    // A protected agent refuses the fixture's SIGTERM: end it the way root always can.
    if (daemon_ && daemon_->pid() > 0) ::kill(daemon_->pid(), SIGKILL);
  }

  json protection() { return status_of(agent_root()).value("self_protection", json::object()); }
  int64_t worker_pid() { return status_of(agent_root())["daemon"].value("pid", int64_t{0}); }
  bool supervisor_alive() { return ::waitpid(daemon_->pid(), nullptr, WNOHANG) == 0; }

  void protect_by_profile() {
    auto profile = dir_.path() / "protected.json";
    std::ofstream(profile)
        << R"({"checkin_interval": 1, "scan_interval": {"testscan": 3600}, "self_protection": true})";
    ASSERT_EQ(platform_->admin({"profile-set", "--name", "fast", "--file", profile.string()}).exit_code, 0);
    ASSERT_TRUE(eventually([&] { return protection().value("on", false); })) << daemon_->log();
  }

  // A key signed with the platform's own root key, for any agent and time.
  std::string forged_key(const std::string& agent_id, int64_t issued) {
    for (const auto& entry : fs::directory_iterator(platform_->data() / "signing-keys")) {
      if (!entry.path().filename().string().starts_with("root-")) continue;
      auto key = tuf::ed25519_read(read_text(entry.path()));
      EXPECT_TRUE(key) << key.error();
      return tuf::issue_protection_key({agent_id, issued, issued + 24 * 3600, 1}, {*key}).value();
    }
    ADD_FAILURE() << "no root key in the platform's signing-keys";
    return "";
  }
};

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TEST_F(SelfProtectionTest, StopsNeedAValidPlatformKeyForThisAgent) {
  start_agent(agent_root());
  ASSERT_EQ(provision(agent_root(), *platform_).exit_code, 0) << daemon_->log();
  ASSERT_TRUE(eventually([&] { return !agent_id_of(agent_root()).empty(); }));
  std::string agent_id = agent_id_of(agent_root());
  EXPECT_FALSE(protection().value("on", true));
  protect_by_profile();
  int64_t worker = worker_pid();

  auto stop = vigilctl(agent_root(), {"stop"});
  EXPECT_NE(stop.exit_code, 0);
  EXPECT_NE(stop.err.find("self-protection is on: this needs --sp-key KEY"), std::string::npos) << stop.err;

  // SIGTERM from a tool that is not the agent's, to the supervisor and to the worker.
  ::kill(daemon_->pid(), SIGTERM);
  ::kill(static_cast<pid_t>(worker), SIGTERM);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_TRUE(supervisor_alive());
  EXPECT_EQ(worker_pid(), worker);
  EXPECT_NE(daemon_->log().find("refused: self-protection is on"), std::string::npos) << daemon_->log();
  EXPECT_EQ(protection()["refused_stops"].size(), 1u) << protection().dump();

  struct Case {
    std::string key, reason;
  };
  std::string stranger = tuf::issue_protection_key({agent_id, now_seconds() - 60, now_seconds() + 3600, 1},
                                                   {tuf::ed25519_generate().value()})
                             .value();
  for (const Case& refused : {
           Case{forged_key("00000000-0000-4000-8000-000000000000", now_seconds() - 60), "issued for agent 00000000"},
           Case{forged_key(agent_id, now_seconds() - 2 * 24 * 3600), "expired at"},
           Case{stranger, "not signed by the platform keys this agent trusts"},
           Case{"vsp1.garbage", "damaged"},
       }) {
    auto result = vigilctl(agent_root(), {"stop", "--sp-key", refused.key});
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.err.find("self-protection key refused: " + refused.reason), std::string::npos) << result.err;
  }
  auto off = vigilctl(agent_root(), {"config", "set", "SelfProtection=0"});
  EXPECT_NE(off.exit_code, 0);
  EXPECT_NE(off.err.find("turning SelfProtection off needs --sp-key"), std::string::npos) << off.err;
  EXPECT_TRUE(supervisor_alive());

  auto issued = platform_->admin({"protection-key", "--agent", agent_id});
  ASSERT_EQ(issued.exit_code, 0) << issued.err;
  std::string key = issued.out.substr(0, issued.out.find('\n'));
  auto unlocked = vigilctl(agent_root(), {"unlock", "--sp-key", key});
  EXPECT_EQ(unlocked.exit_code, 0) << unlocked.err;
  EXPECT_NE(unlocked.out.find("self-protection: open for "), std::string::npos) << unlocked.out;
  json open = json::parse(vigilctl(agent_root(), {"unlock", "--json"}).out, nullptr, false);  // open: no key needed
  EXPECT_EQ(open["self_protection"], "open") << open.dump();
  EXPECT_GT(open.value("open_for_seconds", 0), 500) << open.dump();
  auto stopped = vigilctl(agent_root(), {"stop", "--sp-key", key});
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_EQ(daemon_->stop(), 0);
  EXPECT_NE(daemon_->log().find("self-protection unlocked for 10 minutes"), std::string::npos);
}

TEST_F(SelfProtectionTest, TheAgentsFilesArePutBack) {
  set_config(agent_root(), "SelfProtection", "1");
  start_agent(agent_root());
  ASSERT_TRUE(eventually([&] { return daemon_->log().find("self-protection guards") != std::string::npos; }))
      << daemon_->log();
  fs::path file = agent_root() / "usr/lib/vigil/plugins/test_scanner.so";
  std::string original = crypto::hash_file(file, "sha256").value();
  auto restored = [&] {
    auto sha = crypto::hash_file(file, "sha256");
    return sha && *sha == original && (fs::status(file).permissions() & fs::perms::others_write) == fs::perms::none;
  };

  fs::remove(file);
  EXPECT_TRUE(eventually(restored, 5)) << daemon_->log();
  std::ofstream(file, std::ios::app) << "tampered";
  EXPECT_TRUE(eventually(restored, 5)) << daemon_->log();
  fs::permissions(file, fs::perms::all);
  EXPECT_TRUE(eventually(restored, 5)) << daemon_->log();
  // The agent may put a file back while remove_all still works on the
  // directory ("Directory not empty"): that is the agent winning, not an error.
  std::error_code racing;
  fs::remove_all(file.parent_path(), racing);
  EXPECT_TRUE(eventually(restored, 5)) << daemon_->log();
  EXPECT_NE(daemon_->log().find("self-protection restored " + file.string() + " (deleted)"), std::string::npos);
  EXPECT_NE(daemon_->log().find("self-protection restored " + file.string() + " (changed)"), std::string::npos);
  EXPECT_NE(daemon_->log().find("self-protection put back the mode and owner of " + file.string()), std::string::npos);

  // Changed while vigild was down (root can always SIGKILL it): put back at the next start.
  ::kill(daemon_->pid(), SIGKILL);
  daemon_->stop();
  std::ofstream(file, std::ios::trunc) << "replaced while down";
  start_agent(agent_root());
  EXPECT_TRUE(eventually(restored, 5)) << daemon_->log();
}

// Attaches to `pid` from a child without CAP_SYS_PTRACE in effect (as any
// process but root's); returns the errno of PTRACE_SEIZE, 0 on success.
int attach_without_cap_sys_ptrace(pid_t pid) {
  pid_t child = ::fork();
  if (child == 0) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (::syscall(SYS_capget, &header, data) != 0) ::_exit(100);
    // Effective only: the capability checks compare permitted sets, the dumpable check the effective one.
    data[0].effective &= ~(1u << CAP_SYS_PTRACE);
    if (::syscall(SYS_capset, &header, data) != 0) ::_exit(101);
    ::_exit(::ptrace(PTRACE_SEIZE, pid, nullptr, nullptr) == 0 ? 0 : errno);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(SelfProtectionTest, DebuggersCannotAttachToAProtectedWorker) {
  std::ifstream yama("/proc/sys/kernel/yama/ptrace_scope");
  int scope = 0;
  if (yama >> scope && scope != 0) {
    GTEST_SKIP() << "Yama ptrace_scope " << scope << " already refuses the attach this test compares against";
  }
  start_agent(agent_root());
  pid_t worker = static_cast<pid_t>(worker_pid());
  ASSERT_EQ(attach_without_cap_sys_ptrace(worker), 0)
      << "unprotected, the attach must work for the test to mean something";
  ASSERT_EQ(vigilctl(agent_root(), {"config", "set", "SelfProtection=1"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return protection().value("on", false); }));
  EXPECT_EQ(attach_without_cap_sys_ptrace(worker), EPERM);
  // The supervisor too, once it has read the worker's report.
  EXPECT_TRUE(eventually([&] { return attach_without_cap_sys_ptrace(daemon_->pid()) == EPERM; }, 5));
}

}  // namespace
}  // namespace vigil::test
