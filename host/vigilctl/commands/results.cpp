// vigilctl results: a page of the rows of a module's latest snapshot, from
// vigild or, when it is down, from the state store.
#include <iostream>

#include "control_socket/control_client.h"
#include "control_socket/reports.h"
#include "vigilctl/commands/commands.h"
#include "vigilctl/output.h"

namespace vigil::ctl {

using nlohmann::json;

namespace {

struct ResultsOptions {
  std::string module;
  std::optional<std::string> table;
  bool as_json = false;
  int64_t limit = 1000, offset = 0;
};

// The page as vigild reports it, or read from the state store; nullopt
// (the reason printed) when neither can.
std::optional<json> results_page(const Paths& paths, const ResultsOptions& options) {
  if (daemon_running(paths.control_socket())) {
    json body = {
        {"command", "results"}, {"module", options.module}, {"limit", options.limit}, {"offset", options.offset}};
    if (options.table) body["table"] = *options.table;
    auto response = request(paths, body);
    if (!response) return std::nullopt;
    return (*response)["results"];
  }
  auto store = open_offline(paths);
  if (!store) return std::nullopt;
  auto offline = results_report(*store, options.module, options.table, options.limit, options.offset);
  if (!offline.ok()) {
    fail(offline.error());
    return std::nullopt;
  }
  return offline.value();
}

}  // namespace

Runner define_results(CLI::App& command) {
  auto options = std::make_shared<ResultsOptions>();
  command.add_option("--module,-m", options->module, "Module type, e.g. inv")->required();
  command.add_option("--table,-t", options->table, "Only this table");
  command.add_flag("--json", options->as_json, "Print JSON");
  command.add_option("--limit", options->limit, "At most this many rows (1-10000, default 1000)")
      ->check(CLI::Range(int64_t{1}, kMaxResultRows));
  command.add_option("--offset", options->offset, "Skip this many rows (the previous page's next_offset)")
      ->check(CLI::NonNegativeNumber);
  return [options](const Paths& paths) {
    auto report = results_page(paths, *options);
    if (!report) return kRuntimeError;
    if (options->as_json) {
      print_json(*report);
    } else {
      print_results(std::cout, *report);
    }
    return kOk;
  };
}

}  // namespace vigil::ctl
