// admin init: a new data directory.
#include <iostream>
#include <memory>

#include "admin.h"
#include "certificates.h"
#include "update_repository.h"
#include "vigil/crypto/random.h"

namespace vigil::platform::admin {

namespace fs = std::filesystem;
using nlohmann::json;

Runner define_init(CLI::App& command) {
  struct Options {
    std::vector<std::string> names = {"IP:127.0.0.1", "DNS:localhost"};
    std::vector<std::string> modules;
  };
  auto options = std::make_shared<Options>();
  command.add_option("--name", options->names, "server certificate names (IP:… / DNS:…)")->capture_default_str();
  command.add_option("--module", options->modules, "modules the first activation key activates");
  return [options](const fs::path& data) {
    if (fs::exists(database(data))) throw std::runtime_error(data.string() + " is initialised already");
    auto files = make_certificates(data / "tls", options->names);
    if (!files.ok()) throw std::runtime_error(files.error());
    PlatformStore store(database(data));
    std::string customer_id = crypto::random_uuid();
    std::string activation_id = crypto::random_uuid();
    store.add_customer(customer_id, "default");
    store.put_profile("default", json::object());
    store.put_key({activation_id, customer_id, options->modules, {}, "default"});
    // One key per update role, so agents provisioned from now on pin a root.
    UpdateRepository(store.db(), signing_key_dir(data)).init(1, 1, unix_time());
    std::cout << json{{"data", fs::absolute(data).string()},
                      {"customer_id", customer_id},
                      {"activation_id", activation_id},
                      {"ca_bundle", fs::absolute(files.value().ca_certificate).string()},
                      {"certificate_names", options->names},
                      {"modules", options->modules},
                      {"signing_keys", fs::absolute(signing_key_dir(data)).string()}}
                     .dump(2)
              << "\n";
  };
}

}  // namespace vigil::platform::admin
