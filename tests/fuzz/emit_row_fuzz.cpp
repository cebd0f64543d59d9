// Fuzzes the host's row intake: whatever bytes a (third-party) plugin passes
// to emit_row, the host must refuse or store them, never crash, and what it
// stores must be valid JSON.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string_view>
#include <vector>

#include "log/log_manager.h"
#include "plugin/host_api.h"
#include "plugin/plugin_context.h"

namespace {

// Splits the input on 0x1F into strings: table, then name/value pairs; the
// first byte says how many of the pairs are key columns.
std::vector<std::string_view> split(std::string_view data) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= data.size(); ++i) {
    if (i == data.size() || data[i] == '\x1f') {
      parts.push_back(data.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

vigil_str str(std::string_view text) {
  return {text.data(), text.size()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static vigil_plugin_host* context = [] {
    auto* host = new vigil_plugin_host();  // lives for the whole run
    host->module = "fuzz";
    host->store = vigil::StateStore::open(":memory:").value().release();
    return host;
  }();
  if (size < 1) return 0;
  std::vector<std::string_view> parts = split({reinterpret_cast<const char*>(data) + 1, size - 1});
  size_t pair_count = (parts.size() - 1) / 2;
  size_t key_count = pair_count == 0 ? 0 : data[0] % (pair_count + 1);
  std::vector<vigil_column> columns;
  for (size_t i = 0; i < pair_count; ++i) columns.push_back({str(parts[1 + 2 * i]), str(parts[2 + 2 * i])});

  vigil_scan scan(context, 100);
  int64_t snapshot = context->store->snapshots().begin("fuzz", 0).value();
  vigil::SnapshotWriter rows(context->store->snapshots(), snapshot);
  scan.rows = &rows;
  for (int repeat = 0; repeat < 2; ++repeat) {  // the second emit of the same row must be refused
    vigil_status status = vigil::host_api()->emit_row(&scan, str(parts[0]), columns.data(), key_count,
                                                      columns.data() + key_count, pair_count - key_count);
    if (status == VIGIL_OK && repeat == 1) __builtin_trap();
    if (status != VIGIL_OK && scan.error.empty()) __builtin_trap();  // every refusal has a reason
  }
  if (!rows.flush().ok()) __builtin_trap();
  for (const auto& row : context->store->snapshots().rows(snapshot, std::nullopt).value()) {
    if (nlohmann::json::parse(row.key, nullptr, false).is_discarded() ||
        nlohmann::json::parse(row.values, nullptr, false).is_discarded()) {
      __builtin_trap();
    }
  }
  (void)context->store->snapshots().discard(snapshot);
  return 0;
}
