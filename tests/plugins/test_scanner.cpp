// A scan plugin driven by its manifest, for host tests. One command per line:
//   row TABLE KEY VALUE   emit a row (key column "id", value column "value")
//   fail MESSAGE          fail the scan through vigil::Error
//   throw MESSAGE         throw std::runtime_error (the SDK must contain it)
//   spin                  call checkpoint until the host cancels
//   state KEY VALUE       store plugin state and emit it back as a row
//   config KEY            emit the configuration value (or "<unset>")
//   badrow                emit a row with an invalid table name
#include <vigil/plugin.hpp>

#include <sstream>
#include <stdexcept>
#include <string>

#ifndef TEST_MODULE_NAME
#define TEST_MODULE_NAME "testscan"
#endif

namespace {

class TestScanner : public vigil::Plugin {
 public:
  void init(vigil::Host& host) override {
    host_ = &host;
    host.set_default_cpu_limit(40);
    host.set_on_demand_key("TestScan");
    host.on_manifest("testscan", [this](vigil::Scan& scan, std::string_view manifest) { run(scan, manifest); });
  }

 private:
  void run(vigil::Scan& scan, std::string_view manifest) {
    std::istringstream lines{std::string(manifest)};
    for (std::string line; std::getline(lines, line);) {
      std::istringstream words(line);
      std::string command;
      words >> command;
      if (command == "row") {
        std::string table, key, value;
        words >> table >> key;
        std::getline(words >> std::ws, value);
        scan.emit(table, {{"id", key}}, {{"value", value}});
      } else if (command == "fail") {
        std::string message;
        std::getline(words >> std::ws, message);
        throw vigil::Error(message, VIGIL_E_INVALID_ARG);
      } else if (command == "throw") {
        std::string message;
        std::getline(words >> std::ws, message);
        throw std::runtime_error(message);
      } else if (command == "spin") {
        for (;;) scan.checkpoint();
      } else if (command == "state") {
        std::string key, value;
        words >> key >> value;
        std::string previous = host_->state(key).value_or("<unset>");
        host_->set_state(key, value);
        scan.emit("state", {{"id", key}}, {{"value", value}, {"previous", previous}});
      } else if (command == "config") {
        std::string key;
        words >> key;
        scan.emit("config", {{"id", key}}, {{"value", host_->config(key).value_or("<unset>")}});
      } else if (command == "badrow") {
        scan.emit("bad table!", {{"id", "1"}}, {});
      }
      scan.checkpoint();
    }
  }

  vigil::Host* host_ = nullptr;
};

}  // namespace

VIGIL_PLUGIN(TestScanner, TEST_MODULE_NAME, "Test Scanner", "0.1.0", VIGIL_MODULE_SCAN)
