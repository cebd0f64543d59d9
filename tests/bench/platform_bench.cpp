// The platform link, measured:
// - check-ins per second the reference platform serves to 1,000 simulated
//   agents, each on its own kept-alive TLS connection; reference in the same
//   run: the same clients on the same connections asking for an endpoint that
//   does not exist (transport, TLS and HTTP only, no platform work);
// - bytes of an idle check-in as the real agent sends it (request and reply
//   payload, as counters);
// - prompt orders: 1,000 simulated agents each hold a /v1/wait, a command is
//   queued for every one at once, and each measures the time from the queueing
//   to its check-in reply carrying the command (p50, p99); reference in the
//   same run: a round of their check-ins with nothing waiting;
// - a real vigild's time from start to provisioned; reference in the same
//   run: its time from start to ready.
#include <benchmark/benchmark.h>

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "https/https_client.h"
#include "platform_process.h"
#include "platform_store.h"
#include "store/config_table.h"
#include "store/state_store.h"
#include "test_support.h"
#include "vigil/agent/v1/agent.pb.h"
#include "vigil/net/tls.h"

namespace {

using namespace vigil;
using namespace vigil::test;
namespace v1 = ::vigil::agent::v1;
const int kAgents = std::getenv("VIGIL_BENCH_AGENTS") ? std::atoi(std::getenv("VIGIL_BENCH_AGENTS")) : 1000;
constexpr int kClientThreads = 4;

struct SimulatedAgent {
  std::unique_ptr<link::HttpsClient> client;
  std::string checkin;  // a serialised idle check-in
  v1::CheckinRequest request;
};

struct Fleet {
  TempDir dir;
  std::filesystem::path data() const { return dir.path() / "platform"; }
  std::unique_ptr<PlatformProcess> platform;
  std::vector<SimulatedAgent> agents;

  Fleet() {
    platform = std::make_unique<PlatformProcess>(dir.path() / "platform");
    auto url = wire::parse_url(platform->url()).value();
    auto tls = vigil::tls::client_context(std::filesystem::path(platform->ca_bundle())).value();
    for (int i = 0; i < kAgents; ++i) {
      SimulatedAgent agent{std::make_unique<link::HttpsClient>(url, tls), {}, {}};
      v1::ProvisionRequest request;
      request.set_protocol(v1::PROTOCOL_1);
      request.set_customer_id(platform->customer_id());
      request.set_activation_id(platform->activation_id());
      request.mutable_facts()->set_fingerprint("fingerprint-" + std::to_string(i));
      auto reply = agent.client->post("/v1/provision", request.SerializeAsString());
      v1::ProvisionResponse provisioned;
      if (!reply.ok() || !provisioned.ParseFromString(reply.value())) throw std::runtime_error("provision failed");
      v1::CheckinRequest checkin;
      checkin.set_protocol(v1::PROTOCOL_1);
      checkin.set_agent_id(provisioned.agent_id());
      checkin.set_agent_token(provisioned.agent_token());
      checkin.set_state_version(provisioned.state().version());
      checkin.set_fingerprint("fingerprint-" + std::to_string(i));
      agent.checkin = checkin.SerializeAsString();
      agent.request = checkin;
      agents.push_back(std::move(agent));
    }
  }

  // Every agent posts `rounds` times to `path`; returns the number of failures.
  int64_t run(const std::string& path, int rounds, bool expect_ok) {
    std::atomic<int64_t> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kClientThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int round = 0; round < rounds; ++round) {
          for (size_t i = static_cast<size_t>(t); i < agents.size(); i += kClientThreads) {
            auto reply = agents[i].client->post(path, agents[i].checkin);
            if (reply.ok() != expect_ok || (!expect_ok && agents[i].client->http_status() != 404)) ++failures;
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
    return failures;
  }
};

Fleet& fleet() {
  static Fleet instance;
  return instance;
}

// CPU seconds (user + system) the process has used so far.
double cpu_seconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; fields >> field && i <= 15; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

void checkins(benchmark::State& state, const std::string& path, bool expect_ok) {
  Fleet& agents = fleet();
  agents.run(path, 1, expect_ok);  // every connection open and warm
  int64_t failures = 0, requests = 0;
  double server_cpu = 0;
  for (auto _ : state) {
    double before = cpu_seconds(agents.platform->pid());
    failures += agents.run(path, 5, expect_ok);
    server_cpu += cpu_seconds(agents.platform->pid()) - before;
    requests += int64_t{5} * kAgents;
  }
  // The load generator shares the machine's cores with the platform; what
  // the platform can serve per CPU-second of its own is its capacity.
  state.counters["per_platform_cpu_second"] = static_cast<double>(requests) / std::max(server_cpu, 1e-9);
  if (failures > 0) state.SkipWithError("some requests failed");
  size_t connections = 0;
  for (const auto& agent : agents.agents) connections += agent.client->connections_made();
  state.counters["connections_made"] = static_cast<double>(connections);
  state.counters["requests_per_s"] = benchmark::Counter(static_cast<double>(requests), benchmark::Counter::kIsRate);
}

void BM_ReferenceTransportOnly(benchmark::State& state) {
  checkins(state, "/v1/no-such-endpoint", false);
}
BENCHMARK(BM_ReferenceTransportOnly)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

void BM_Checkins1000Agents(benchmark::State& state) {
  checkins(state, "/v1/checkin", true);
}
BENCHMARK(BM_Checkins1000Agents)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

nlohmann::json agent_status(const std::filesystem::path& root) {
  auto result = vigilctl(root, {"status", "--json"});
  return result.exit_code == 0 ? nlohmann::json::parse(result.out) : nlohmann::json();
}

void provision_settings(const std::filesystem::path& root, const PlatformProcess& platform) {
  auto store = std::move(StateStore::open(root / "var/lib/vigil/config.db").value());
  (void)store->config().update({{"ServerUri", platform.url()},
                                {"CustomerId", platform.customer_id()},
                                {"ActivationId", platform.activation_id()},
                                {"CaBundle", platform.ca_bundle()}});
}

void BM_ReferenceStartToReady(benchmark::State& state) {
  TempDir root;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    Daemon daemon(root.path());
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
}
BENCHMARK(BM_ReferenceStartToReady)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(10);

void BM_StartToProvisioned(benchmark::State& state) {
  Fleet& agents = fleet();
  int64_t idle_request = 0, idle_reply = 0;
  for (auto _ : state) {
    TempDir root;
    provision_settings(root.path(), *agents.platform);
    auto start = std::chrono::steady_clock::now();
    Daemon daemon(root.path());
    // Provisioned = the identity is stored (what vigilctl status reads).
    auto store = std::move(StateStore::open(root.path() / "var/lib/vigil/config.db").value());
    while (!store->config().get("AgentId").value()) std::this_thread::sleep_for(std::chrono::microseconds(200));
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    // An idle check-in: ask for a few and keep the size of the last one.
    for (int i = 0; i < 3; ++i) (void)vigilctl(root.path(), {"checkin"});
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto status = agent_status(root.path());
    idle_request = status["platform"].value("last_checkin_bytes", int64_t{0});
    idle_reply = status["platform"].value("last_checkin_reply_bytes", int64_t{0});
  }
  state.counters["idle_checkin_request_bytes"] = static_cast<double>(idle_request);
  state.counters["idle_checkin_reply_bytes"] = static_cast<double>(idle_reply);
}
BENCHMARK(BM_StartToProvisioned)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(10);

// Percentile `p` (0..1) of `values`, sorted in place.
double percentile(std::vector<double>& values, double p) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[std::min(values.size() - 1, static_cast<size_t>(p * values.size()))];
}

void BM_OrderToCheckin1000Agents(benchmark::State& state) {
  using Clock = std::chrono::steady_clock;
  Fleet& fleet_ref = fleet();
  auto& agents = fleet_ref.agents;
  vigil::platform::PlatformStore store(fleet_ref.data() / "platform.db");
  std::vector<double> latencies, references;
  int64_t failures = 0, wait_bytes = 0;
  for (auto _ : state) {
    // Reference: every agent's check-in, nothing waiting, all at once.
    std::vector<double> reference(agents.size());
    std::vector<v1::WaitRequest> waits(agents.size());
    {
      std::vector<std::thread> threads;
      auto start = Clock::now();
      for (size_t i = 0; i < agents.size(); ++i) {
        threads.emplace_back([&, i] {
          auto reply = agents[i].client->post("/v1/checkin", agents[i].checkin);
          v1::CheckinResponse response;
          if (!reply.ok() || !response.ParseFromString(reply.value())) return;
          reference[i] = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
          waits[i].set_protocol(v1::PROTOCOL_1);
          waits[i].set_agent_id(agents[i].request.agent_id());
          waits[i].set_agent_token(agents[i].request.agent_token());
          waits[i].set_state_version(agents[i].request.state_version());
          waits[i].set_update_timestamp_version(response.update_timestamp_version());
          waits[i].set_hold_seconds(60);
        });
      }
      for (auto& thread : threads) thread.join();
    }
    references.insert(references.end(), reference.begin(), reference.end());
    wait_bytes = static_cast<int64_t>(waits[0].ByteSizeLong());
    // Every agent holds a wait; then one command each, queued at once.
    std::atomic<size_t> sent{0};
    std::atomic<int64_t> ordered_at{0};
    std::vector<double> latency(agents.size(), -1);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < agents.size(); ++i) {
      threads.emplace_back([&, i] {
        ++sent;
        auto woken = agents[i].client->post("/v1/wait", waits[i].SerializeAsString());
        v1::WaitResponse wait;
        if (!woken.ok() || !wait.ParseFromString(woken.value()) || !wait.check_in()) return;
        auto reply = agents[i].client->post("/v1/checkin", agents[i].checkin);
        v1::CheckinResponse response;
        if (!reply.ok() || !response.ParseFromString(reply.value()) || response.commands().empty()) return;
        latency[i] = std::chrono::duration<double, std::milli>(Clock::now().time_since_epoch()).count() -
                     static_cast<double>(ordered_at.load()) / 1e6;
        // Carried out: the platform stops sending it (not measured).
        v1::CheckinRequest done = agents[i].request;
        for (const auto& command : response.commands()) done.add_done_commands(command.id());
        (void)agents[i].client->post("/v1/checkin", done.SerializeAsString());
      });
    }
    while (sent < agents.size()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::this_thread::sleep_for(std::chrono::seconds(2));  // the waits reached the platform
    ordered_at = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
    {
      vigil::sqlite::Transaction transaction(store.db());
      for (const auto& agent : agents) {
        store.queue_command(agent.request.agent_id(), "scan_now", {{"module", "inv"}, {"cpu_throttle", 0}});
      }
      transaction.commit();
    }
    for (auto& thread : threads) thread.join();
    for (double value : latency) {
      if (value < 0)
        ++failures;
      else
        latencies.push_back(value);
    }
  }
  if (failures > 0) state.SkipWithError("some agents did not get their command");
  state.counters["order_to_checkin_p50_ms"] = percentile(latencies, 0.50);
  state.counters["order_to_checkin_p99_ms"] = percentile(latencies, 0.99);
  state.counters["reference_checkin_round_p50_ms"] = percentile(references, 0.50);
  state.counters["reference_checkin_round_p99_ms"] = percentile(references, 0.99);
  state.counters["p99_ratio_to_reference"] = percentile(latencies, 0.99) / std::max(percentile(references, 0.99), 1e-9);
  state.counters["idle_wait_request_bytes"] = static_cast<double>(wait_bytes);
  state.counters["idle_wait_reply_bytes"] = static_cast<double>(v1::WaitResponse().ByteSizeLong());
}
BENCHMARK(BM_OrderToCheckin1000Agents)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);

}  // namespace
