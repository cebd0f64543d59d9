// vigil-platform: the reference platform. `serve` runs the HTTPS endpoint of
// the vigil.agent.v1 protocol; `admin …` manages customers, activation keys,
// profiles, manifests and commands in the same database (docs/platform.md;
// the admin commands are in admin/).
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include "admin/admin.h"
#include "server.h"
#include "service.h"
#include "vigil/net/tls.h"

namespace fs = std::filesystem;
using namespace vigil;
using namespace vigil::platform;
using admin::database;

namespace {

int serve(const fs::path& data, const std::string& listen, unsigned threads, const std::string& port_file) {
  if (!fs::exists(database(data))) throw std::runtime_error(data.string() + " is not initialised: run admin init");
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("--listen must be ADDRESS:PORT");
  std::string address = listen.substr(0, colon);
  int port = std::stoi(listen.substr(colon + 1));
  if (port < 0 || port > 65535) throw std::runtime_error("--listen port must be 0-65535");
  auto tls = vigil::tls::server_context(data / "tls" / "server.crt", data / "tls" / "server.key");
  if (!tls.ok()) throw std::runtime_error(tls.error());

  // Each agent may hold a connection open (/v1/wait): a fleet needs more descriptors than the usual 1,024.
  if (struct rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  Service service(database(data));
  boost::asio::io_context io(static_cast<int>(threads));
  Server server(io, tls.value(), service);
  auto bound = server.listen(address, static_cast<uint16_t>(port));
  if (!bound.ok()) throw std::runtime_error(bound.error());
  if (!port_file.empty()) {
    std::ofstream(port_file + ".tmp") << bound.value() << "\n";
    fs::rename(port_file + ".tmp", port_file);
  }
  spdlog::info("vigil-platform listening on https://{}:{} ({} threads, {} agents, data {})", address, bound.value(),
               threads, service.agent_count(), data.string());
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int signal) {
    spdlog::info("signal {}: stopping", signal);
    server.stop();
    io.stop();
  });
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&] { io.run(); });
  io.run();
  for (auto& thread : pool) thread.join();
  service.flush();
  spdlog::info("vigil-platform stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vigil-platform: the Vigil reference platform"};
  app.require_subcommand(1);
  std::string data =
      std::getenv("VIGIL_PLATFORM_DATA") != nullptr ? std::getenv("VIGIL_PLATFORM_DATA") : "/var/lib/vigil-platform";
  app.add_option("--data", data, "data directory (database, TLS files); $VIGIL_PLATFORM_DATA")->capture_default_str();

  auto* serve_command = app.add_subcommand("serve", "serve agents over HTTPS");
  std::string listen = "127.0.0.1:8443";
  unsigned threads = std::max(2u, std::thread::hardware_concurrency());
  std::string port_file;
  bool verbose = false;
  serve_command->add_option("--listen", listen, "ADDRESS:PORT (port 0 picks a free one)")->capture_default_str();
  serve_command->add_option("--threads", threads, "I/O threads")->check(CLI::Range(1u, 64u))->capture_default_str();
  serve_command->add_option("--port-file", port_file, "write the bound port here");
  serve_command->add_flag("--verbose", verbose, "log every upload");

  admin::Runner admin_command;
  CLI::App* admin = admin::add_admin_commands(app, admin_command);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // Usage errors exit 2, as vigilctl's do (CLI11's own codes are 100 and up); --help exits 0.
    if (auto message = admin::command_error(*admin, error)) {
      std::cerr << "vigil-platform: " << *message << "\n";
      return 2;
    }
    return app.exit(error) == 0 ? 0 : 2;
  }
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  if (verbose) spdlog::set_level(spdlog::level::debug);

  try {
    if (serve_command->parsed()) return serve(data, listen, threads, port_file);
    admin_command(data);
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "vigil-platform: " << error.what() << "\n";
    return 1;
  }
}
