// vigil-platform: the reference platform. `serve` runs the HTTPS endpoint of
// the vigil.agent.v1 protocol; `admin …` manages customers, activation keys,
// profiles, manifests and commands in the same database (docs/platform.md).
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "certificates.h"
#include "platform_store.h"
#include "server.h"
#include "service.h"
#include "vigil/crypto/digest.h"
#include "vigil/crypto/random.h"
#include "vigil/net/tls.h"
#include "vigil/net/wire.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace vigil;
using namespace vigil::platform;

namespace {

fs::path database(const fs::path& data) {
  return data / "platform.db";
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

ActivationKey require_key(PlatformStore& store, const std::string& id) {
  auto key = store.key(id);
  if (!key) throw std::runtime_error("no activation key " + id);
  return *key;
}

void require_agent(PlatformStore& store, const std::string& id) {
  if (!store.agent(id)) throw std::runtime_error("no agent " + id);
}

int serve(const fs::path& data, const std::string& listen, unsigned threads, const std::string& port_file) {
  if (!fs::exists(database(data))) throw std::runtime_error(data.string() + " is not initialised: run admin init");
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("--listen must be ADDRESS:PORT");
  std::string address = listen.substr(0, colon);
  int port = std::stoi(listen.substr(colon + 1));
  if (port < 0 || port > 65535) throw std::runtime_error("--listen port must be 0-65535");
  auto tls = vigil::tls::server_context(data / "tls" / "server.crt", data / "tls" / "server.key");
  if (!tls.ok()) throw std::runtime_error(tls.error());

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

json agent_json(const AgentRecord& agent) {
  return {{"agent_id", agent.id},
          {"hostname", agent.hostname},
          {"state", agent.state},
          {"customer_id", agent.customer_id},
          {"activation_id", agent.activation_id},
          {"reason", agent.reason},
          {"previous_agent_id", agent.previous_agent_id},
          {"provisioned_at", agent.provisioned_at},
          {"last_checkin", agent.last_checkin},
          {"last_sequence", agent.last_sequence},
          {"outbox_depth", agent.outbox_depth},
          {"modules", agent.modules}};
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

  auto* admin = app.add_subcommand("admin", "manage the platform's database");
  admin->require_subcommand(1);
  std::vector<std::string> names = {"IP:127.0.0.1", "DNS:localhost"};
  std::vector<std::string> modules;
  std::vector<std::string> tags;
  std::string customer, key_id, profile_name = "default", module, manifest_type, file, version, agent_id, signature;
  int cpu_throttle = 0;
  bool as_json = false;

  auto* init = admin->add_subcommand("init", "make the database, a CA and server certificate, a customer and a key");
  init->add_option("--name", names, "server certificate names (IP:… / DNS:…)")->capture_default_str();
  init->add_option("--module", modules, "modules the first activation key activates");

  auto* key_create = admin->add_subcommand("key-create", "make an activation key; prints its id");
  key_create->add_option("--customer", customer)->required();
  key_create->add_option("--module", modules, "modules it activates");
  key_create->add_option("--tag", tags, "tags of its agents");
  key_create->add_option("--profile", profile_name, "configuration profile")->capture_default_str();

  auto* profile_set = admin->add_subcommand("profile-set", "create or replace a configuration profile (JSON file)");
  profile_set->add_option("--name", profile_name)->required();
  profile_set
      ->add_option("--file", file,
                   "JSON: checkin_interval, scan_interval, cpu_limit, blackout_windows, "
                   "log_level, auto_upgrade")
      ->required()
      ->check(CLI::ExistingFile);
  profile_set->add_option("--key", key_id, "also make it the profile of this activation key");

  auto* activate = admin->add_subcommand("activate", "activate modules for an activation key's agents");
  auto* deactivate = admin->add_subcommand("deactivate", "deactivate modules for an activation key's agents");
  for (auto* command : {activate, deactivate}) {
    command->add_option("--key", key_id)->required();
    command->add_option("--module", modules)->required();
  }

  auto* manifest_set = admin->add_subcommand("manifest-set", "publish a module's manifest");
  manifest_set->add_option("--module", module)->required();
  manifest_set->add_option("--type", manifest_type, "manifest type (default: the module name)");
  manifest_set->add_option("--file", file)->required()->check(CLI::ExistingFile);
  manifest_set->add_option("--version", version, "default: a digest of the content");

  auto* demand = admin->add_subcommand("demand", "queue an on-demand scan for an agent");
  demand->add_option("--agent", agent_id)->required();
  demand->add_option("--module", module)->required();
  demand->add_option("--cpu-throttle", cpu_throttle, "0-1000, 0 = none")->check(CLI::Range(0, 1000));

  auto* reprovision = admin->add_subcommand("reprovision", "tell an agent to take a new identity");
  reprovision->add_option("--agent", agent_id)->required();
  auto* uninstall = admin->add_subcommand("uninstall", "tell an agent to uninstall itself");
  uninstall->add_option("--agent", agent_id)->required();
  auto* rotate_token = admin->add_subcommand(
      "rotate-token", "give an agent a new token at its next check-in; the old one is refused once it is used");
  rotate_token->add_option("--agent", agent_id)->required();

  auto* agents = admin->add_subcommand("agents", "list agents (JSON)");
  auto* results = admin->add_subcommand("results", "an agent's current results (JSON)");
  results->add_option("--agent", agent_id)->required();
  results->add_option("--module", module);
  bool summary = false;
  results->add_flag("--summary", summary, "snapshots and upload counts only, not the rows");

  int64_t limit = 100;
  auto* events = admin->add_subcommand("events", "an agent's latest events, oldest first (JSON)");
  events->add_option("--agent", agent_id)->required();
  events->add_option("--module", module);
  events->add_option("--limit", limit, "at most this many")->check(CLI::PositiveNumber);

  auto* package_set = admin->add_subcommand("package-set", "publish a plugin package");
  package_set->add_option("--module", module)->required();
  package_set->add_option("--file", file)->required()->check(CLI::ExistingFile);
  package_set->add_option("--version", version)->required();
  package_set->add_option("--signature", signature, "detached signature file")->check(CLI::ExistingFile);
  (void)as_json;

  CLI11_PARSE(app, argc, argv);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  if (verbose) spdlog::set_level(spdlog::level::debug);

  try {
    if (serve_command->parsed()) return serve(data, listen, threads, port_file);

    if (init->parsed()) {
      if (fs::exists(database(data))) throw std::runtime_error(data + " is initialised already");
      auto files = make_certificates(fs::path(data) / "tls", names);
      if (!files.ok()) throw std::runtime_error(files.error());
      PlatformStore store(database(data));
      std::string customer_id = crypto::random_uuid();
      std::string activation_id = crypto::random_uuid();
      store.add_customer(customer_id, "default");
      store.put_profile("default", json::object());
      store.put_key({activation_id, customer_id, modules, {}, "default"});
      std::cout << json{{"data", fs::absolute(data).string()},
                        {"customer_id", customer_id},
                        {"activation_id", activation_id},
                        {"ca_bundle", fs::absolute(files.value().ca_certificate).string()},
                        {"certificate_names", names},
                        {"modules", modules}}
                       .dump(2)
                << "\n";
      return 0;
    }

    if (!fs::exists(database(data))) throw std::runtime_error(data + " is not initialised: run admin init");
    PlatformStore store(database(data));
    if (key_create->parsed()) {
      if (!store.customer_exists(customer)) throw std::runtime_error("no customer " + customer);
      if (!store.profile(profile_name)) throw std::runtime_error("no profile " + profile_name);
      std::string id = crypto::random_uuid();
      store.put_key({id, customer, modules, tags, profile_name});
      std::cout << id << "\n";
    } else if (profile_set->parsed()) {
      json body;
      try {
        body = json::parse(read_file(file));
        profile_message(profile_name, body);  // validates
      } catch (const std::exception& error) {
        throw std::runtime_error("profile " + file + ": " + error.what());
      }
      sqlite::Transaction transaction(store.db());
      store.put_profile(profile_name, body);
      if (!key_id.empty()) {
        ActivationKey key = require_key(store, key_id);
        key.profile = profile_name;
        store.put_key(key);
      }
      transaction.commit();
      std::cout << "profile " << profile_name << " saved\n";
    } else if (activate->parsed() || deactivate->parsed()) {
      ActivationKey key = require_key(store, key_id);
      for (const auto& name : modules) {
        auto found = std::find(key.modules.begin(), key.modules.end(), name);
        if (activate->parsed() && found == key.modules.end()) key.modules.push_back(name);
        if (deactivate->parsed() && found != key.modules.end()) key.modules.erase(found);
      }
      std::sort(key.modules.begin(), key.modules.end());
      store.put_key(key);
      std::cout << json(key.modules).dump() << "\n";
    } else if (manifest_set->parsed()) {
      std::string body = read_file(file);
      if (manifest_type.empty()) manifest_type = module;
      if (version.empty()) version = crypto::sha256_hex(body).substr(0, 12);
      store.put_manifest({module, manifest_type, version, body});
      std::cout << json{{"module", module}, {"manifest_type", manifest_type}, {"version", version}}.dump() << "\n";
    } else if (demand->parsed()) {
      require_agent(store, agent_id);
      std::cout << store.queue_command(agent_id, "scan_now", {{"module", module}, {"cpu_throttle", cpu_throttle}})
                << "\n";
    } else if (rotate_token->parsed()) {
      require_agent(store, agent_id);
      std::cout << store.queue_command(agent_id, "rotate_token", json::object()) << "\n";
    } else if (reprovision->parsed() || uninstall->parsed()) {
      require_agent(store, agent_id);
      std::cout << store.queue_command(agent_id, reprovision->parsed() ? "reprovision" : "uninstall",
                                       reprovision->parsed() ? json{{"reason", "requested"}} : json::object())
                << "\n";
    } else if (agents->parsed()) {
      json list = json::array();
      for (const auto& agent : store.agents()) list.push_back(agent_json(agent));
      std::cout << list.dump(2) << "\n";
    } else if (results->parsed()) {
      require_agent(store, agent_id);
      std::optional<std::string> only;
      if (!module.empty()) only = module;
      json document = {{"agent", agent_json(*store.agent(agent_id))},
                       {"uploads", store.upload_counts(agent_id)},
                       {"snapshots", store.snapshots(agent_id)}};
      if (!summary) document["results"] = store.results(agent_id, only);
      std::cout << document.dump(2) << "\n";
    } else if (events->parsed()) {
      require_agent(store, agent_id);
      std::optional<std::string> only;
      if (!module.empty()) only = module;
      std::cout << store.events(agent_id, only, limit).dump(2) << "\n";
    } else if (package_set->parsed()) {
      store.put_package(module, version, read_file(file), signature.empty() ? std::string() : read_file(signature));
      std::cout << "package " << module << " " << version << " saved\n";
    }
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "vigil-platform: " << error.what() << "\n";
    return 1;
  }
}
