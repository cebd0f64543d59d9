// The control socket's bound: a request line longer than 1 MiB is refused with
// a reply that says so, its connection closed, and the worker does not hold
// the line in memory; the daemon keeps answering.
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "daemon_fixture.h"
#include "store/manifests.h"

namespace vigil {
namespace {

using nlohmann::json;
using test::vigilctl;

class ControlSocket : public test::DaemonFixture {
 protected:
  pid_t worker_pid() {
    json status = this->status();
    return status["daemon"].value("running", false) ? status["daemon"]["pid"].get<pid_t>() : -1;
  }
  // A connection to the control socket; -1 (errno set) when it fails.
  int connected() {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::string path = (root() / "run/vigil/vigild.sock").string();
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      ::close(fd);
      return -1;
    }
    timeval timeout{10, 0};  // a daemon that waits for the rest of a line must not hang the test
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    return fd;
  }
  // Sends one request line; the reply line.
  std::string send_line(const std::string& line) {
    int fd = connected();
    if (fd < 0) return std::string("connect: ") + std::strerror(errno);
    std::string request = line + "\n", reply;
    (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    char c = 0;
    while (::recv(fd, &c, 1, 0) == 1 && c != '\n') reply += c;
    ::close(fd);
    return reply;
  }
  // A field of /proc/PID/status in KiB (VmRSS, VmHWM).
  static int64_t kib(pid_t pid, const std::string& field) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
    }
    return -1;
  }
};

TEST_F(ControlSocket, ALineLongerThan1MiB_IsRefusedClosedAndNotKept) {
  pid_t worker = worker_pid();
  ASSERT_GT(worker, 0);
  int64_t peak_before = kib(worker, "VmHWM");

  int fd = connected();
  ASSERT_GE(fd, 0) << std::strerror(errno);

  // 50 MB of one line; the daemon stops reading after 1 MiB, so the send fails part way (EPIPE).
  const size_t kLine = 50'000'000;
  std::string chunk(1 << 16, 'x');
  size_t sent = 0;
  while (sent < kLine) {
    ssize_t wrote = ::send(fd, chunk.data(), std::min(chunk.size(), kLine - sent), MSG_NOSIGNAL);
    if (wrote <= 0) break;
    sent += static_cast<size_t>(wrote);
  }
  if (sent == kLine) (void)::send(fd, "\n", 1, MSG_NOSIGNAL);
  std::string reply;
  char buffer[4096];
  ssize_t got = 0;
  while ((got = ::recv(fd, buffer, sizeof(buffer), 0)) > 0) reply.append(buffer, static_cast<size_t>(got));
  // The end of the stream, or its reset (the daemon closed with our bytes unread); not a timeout.
  bool closed = got == 0 || errno == ECONNRESET;
  ::close(fd);
  std::cout << "sent " << sent << " of " << kLine << " bytes before the daemon closed; reply: " << reply;

  json answer = json::parse(reply, nullptr, false);
  ASSERT_TRUE(answer.is_object()) << reply;
  EXPECT_EQ(answer["ok"], false);
  EXPECT_NE(answer.value("error", "").find("request longer than 1 MiB"), std::string::npos) << reply;
  EXPECT_TRUE(closed);
  EXPECT_LT(sent, kLine);  // refused part way, not read whole

  // The daemon still answers, with the same worker, which did not keep (or ever hold) the line.
  auto after = vigilctl(root(), {"status", "--json"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(worker_pid(), worker);
  int64_t peak_after = kib(worker, "VmHWM"), rss_after = kib(worker, "VmRSS");
  std::cout << "worker VmHWM " << peak_before << " KiB before, " << peak_after << " KiB after; VmRSS after "
            << rss_after << " KiB\n";
  EXPECT_LT(peak_after - peak_before, 8 * 1024) << "the worker's peak memory grew by more than 8 MiB";
}

// A manifest longer than a request line travels in parts and arrives whole;
// the worker never holds more than a part's line.
TEST_F(ControlSocket, ManifestSet_SendsALargeManifestInParts) {
  std::string body;
  for (int i = 0; body.size() < (size_t{3} << 20); ++i) body += "row t k" + std::to_string(i) + " v\n";
  auto big = write_manifest(body);
  auto stored = vigilctl(root(), {"manifest", "set", "--module", "testscan", "--file", big, "--version", "big"});
  ASSERT_EQ(stored.exit_code, 0) << stored.err;
  auto store = StateStore::open(root() / "var/lib/vigil/config.db");
  ASSERT_TRUE(store.ok()) << store.error();
  auto manifest = store.value()->manifests().get("testscan", "testscan");
  ASSERT_TRUE(manifest.ok() && manifest.value()) << (manifest.ok() ? "none stored" : manifest.error());
  EXPECT_EQ(manifest.value()->version, "big");
  EXPECT_EQ(manifest.value()->body, body);
  // A part out of order is refused, naming the upload.
  auto out_of_order = send_line(R"({"command": "manifest_set", "module": "testscan", "body": "x", "upload": "u1",)"
                                R"( "part": 1, "parts": 2})");
  EXPECT_NE(out_of_order.find("manifest upload u1: part 1 of 2 out of order"), std::string::npos) << out_of_order;
}

}  // namespace
}  // namespace vigil
