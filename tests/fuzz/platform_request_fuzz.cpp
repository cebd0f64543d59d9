// Fuzzes the reference platform's request handling: arbitrary bodies for
// every endpoint (check-in bodies carry command outcomes and the status
// digest; /v1/wait as the server holds it), also re-signed with a real agent's id and token so the
// fuzzer reaches past authentication (check-in, manifest, upload payloads:
// delta chunks and event batches).
// Every reply must be a 200 or a 4xx/503 with a reason; nothing may crash.
#include <unistd.h>
#include <cstdint>
#include <filesystem>
#include <string>

#include "platform_store.h"
#include "service.h"
#include "update_repository.h"
#include "vigil/crypto/random.h"

namespace v1 = ::vigil::agent::v1;
using vigil::platform::Service;

namespace {

struct World {
  std::filesystem::path dir;
  std::unique_ptr<Service> service;
  std::string agent_id;
  std::string token;

  World() {
    dir = std::filesystem::temp_directory_path() / ("vigil-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::string customer = vigil::crypto::random_uuid(), key = vigil::crypto::random_uuid();
    {
      vigil::platform::PlatformStore store(dir / "platform.db");
      store.add_customer(customer, "fuzz");
      store.put_profile("default", {{"checkin_interval", 60}});
      store.put_key({key, customer, {"testscan"}, {}, "default"});
      store.put_manifest({"testscan", "testscan", "1", "row t a b"});
      vigil::platform::UpdateRepository updates(store.db(), dir / "signing-keys");
      updates.init(1, 1, 1'780'272'000);
      updates.publish_plugin("testscan", "x86_64", "1.0", "plugin bytes", 1'780'272'000);
    }
    service = std::make_unique<Service>(dir / "platform.db");
    v1::ProvisionRequest request;
    request.set_customer_id(customer);
    request.set_activation_id(key);
    v1::ProvisionResponse response;
    response.ParseFromString(service->handle("/v1/provision", request.SerializeAsString()).body);
    agent_id = response.agent_id();
    token = response.agent_token();
  }
  ~World() { std::filesystem::remove_all(dir); }
};

template <typename Message>
std::string signed_as_agent(const World& world, const std::string& input) {
  Message message;
  if (!message.ParseFromString(input)) return input;
  message.set_agent_id(world.agent_id);
  message.set_agent_token(world.token);
  return message.SerializeAsString();
}

// The input as a DeltaChunk or EventBatch payload in a signed upload, with
// the next sequence: the fuzzer reaches chunk staging and snapshot completion.
std::string wrapped_upload(const World& world, const std::string& payload, bool events) {
  static int64_t sequence = 0;
  v1::UploadRequest request;
  request.set_agent_id(world.agent_id);
  request.set_agent_token(world.token);
  request.set_sequence(++sequence);
  request.set_module("testscan");
  request.set_kind(events ? "events" : "delta");
  request.set_payload(payload);
  return request.SerializeAsString();
}

void check_reply(const vigil::platform::Reply& reply) {
  bool known = reply.status == 200 || reply.status == 503 || (reply.status >= 400 && reply.status < 500);
  if (!known || (reply.status != 200 && reply.body.empty())) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;
  if (size == 0) return 0;
  static const char* endpoints[] = {"/v1/provision",      "/v1/checkin",         "/v1/manifest", "/v1/upload",
                                    "/v1/plugin-package", "/v1/update-metadata", "/v1/wait",     "/v2/unknown"};
  uint8_t choice = data[0];
  std::string endpoint = endpoints[choice % 8];
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (choice & 0x80) {
    if (endpoint == "/v1/checkin") body = signed_as_agent<v1::CheckinRequest>(world, body);
    if (endpoint == "/v1/manifest") body = signed_as_agent<v1::ManifestRequest>(world, body);
    if (endpoint == "/v1/plugin-package") body = signed_as_agent<v1::PluginPackageRequest>(world, body);
    if (endpoint == "/v1/update-metadata") body = signed_as_agent<v1::UpdateMetadataRequest>(world, body);
    if (endpoint == "/v1/wait") body = signed_as_agent<v1::WaitRequest>(world, body);
    if (endpoint == "/v1/upload") {
      body = (choice & 0x40) ? wrapped_upload(world, body, choice & 0x20)
                             : signed_as_agent<v1::UploadRequest>(world, body);
    }
  }
  if (endpoint == "/v1/wait") {
    // As the server serves it: an answer now, or a waiter held until news.
    Service::WaitStart wait = world.service->begin_wait(body);
    if (!wait.now) {
      world.service->remove_waiter(world.service->add_waiter(std::move(wait), [] {}));
      return 0;
    }
    check_reply(*wait.now);
    return 0;
  }
  check_reply(world.service->handle(endpoint, body));
  return 0;
}
