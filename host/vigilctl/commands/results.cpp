// vigilctl results: a page of the rows of a module's latest snapshot, from
// vigild or, when it is down, from the state store; --where keeps the rows
// whose columns have the values given.
#include <algorithm>
#include <iostream>
#include <map>
#include <set>

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
  std::vector<std::string> where;  // COL=VALUE
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

// The --where words as column and value (the validator made sure of the '=').
std::map<std::string, std::string> conditions_of(const std::vector<std::string>& where) {
  std::map<std::string, std::string> conditions;
  for (const std::string& word : where) {
    auto equals = word.find('=');
    conditions[word.substr(0, equals)] = word.substr(equals + 1);
  }
  return conditions;
}

bool matches(const json& row, const std::map<std::string, std::string>& conditions) {
  for (const auto& [column, value] : conditions) {
    const json& source = row["key"].contains(column) ? row["key"] : row["values"];
    if (!source.contains(column) || text_of(source[column]) != value) return false;
  }
  return true;
}

// The error for a --where column no table read has, listing the columns of each.
std::string unknown_column(const ResultsOptions& options, const std::string& column,
                           const std::map<std::string, std::set<std::string>>& columns) {
  std::string known;
  for (const auto& [table, names] : columns) {
    std::string list;
    for (const std::string& name : names) list += (list.empty() ? "" : ", ") + name;
    known += (known.empty() ? "" : "; ") + (options.table ? "" : table + ": ") + list;
  }
  return "results: --where " + column + ": " +
         (options.table ? "table '" + *options.table + "' has no column '" + column + "'"
                        : "no table of module '" + options.module + "' has a column '" + column + "'") +
         " (columns: " + (known.empty() ? "none, no rows" : known) + ")";
}

// The rows that match --where, read a page at a time from --offset on until
// --limit of them match or the snapshot ends; next_offset is the row after the
// last one read. nullopt (the reason printed) on an error.
std::optional<json> matching_rows(const Paths& paths, const ResultsOptions& options) {
  const std::map<std::string, std::string> conditions = conditions_of(options.where);
  std::map<std::string, std::set<std::string>> columns;  // of the rows read, by table
  ResultsOptions page = options;
  page.limit = kMaxResultRows;
  json report, matching = json::array(), next_offset = nullptr;
  for (bool full = false; !full;) {
    auto read = results_page(paths, page);
    if (!read) return std::nullopt;
    if ((*read)["snapshot"].is_null()) return read;
    if (report.is_null()) report = {{"module", (*read)["module"]}, {"snapshot", (*read)["snapshot"]}};
    const json& rows = (*read)["rows"];
    const bool last_page = (*read)["next_offset"].is_null();
    for (size_t i = 0; i < rows.size() && !full; ++i) {
      for (const char* part : {"key", "values"}) {
        for (const auto& item : rows[i][part].items()) columns[rows[i]["table"]].insert(item.key());
      }
      if (!matches(rows[i], conditions)) continue;
      matching.push_back(rows[i]);
      full = static_cast<int64_t>(matching.size()) == options.limit;
      if (full && (i + 1 < rows.size() || !last_page)) next_offset = page.offset + static_cast<int64_t>(i) + 1;
    }
    if (last_page) break;
    page.offset = (*read)["next_offset"].get<int64_t>();
  }
  if (matching.empty()) {
    // Every row was read: a column none of them has is a mistake to name.
    for (const auto& [column, value] : conditions) {
      bool known = std::any_of(columns.begin(), columns.end(),
                               [&column](const auto& table) { return table.second.count(column) > 0; });
      if (!known) {
        fail(unknown_column(options, column, columns));
        return std::nullopt;
      }
    }
  }
  report["rows"] = std::move(matching);
  report["offset"] = options.offset;
  report["next_offset"] = next_offset;
  report["where"] = conditions;
  return report;
}

}  // namespace

Runner define_results(CLI::App& command) {
  auto options = std::make_shared<ResultsOptions>();
  command.add_option("--module,-m", options->module, "Module type, e.g. inv")->required();
  command.add_option("--table,-t", options->table, "Only this table");
  command
      .add_option("--where,-w", options->where,
                  "Only rows whose column COL is VALUE (repeatable: all must match); --limit counts these rows")
      ->type_name("COL=VALUE")
      ->check(CLI::Validator(
          [](const std::string& word) {
            return word.find('=') == std::string::npos || word.front() == '=' ? "expected COL=VALUE, got '" + word + "'"
                                                                              : std::string();
          },
          "COL=VALUE"));
  add_json_flag(command, options->as_json);
  command.add_option("--limit", options->limit, "At most this many rows (1-10000, default 1000)")
      ->check(CLI::Range(int64_t{1}, kMaxResultRows));
  command.add_option("--offset", options->offset, "Skip this many rows (the previous page's next_offset)")
      ->check(CLI::NonNegativeNumber);
  return [options](const Paths& paths) {
    auto report = options->where.empty() ? results_page(paths, *options) : matching_rows(paths, *options);
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
