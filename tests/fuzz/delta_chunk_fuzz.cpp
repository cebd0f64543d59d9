// Fuzzes the agent's side of the delta wire format: arbitrary rows through
// ChunkEncoder with a small bound must come back from the chunks exactly
// once, in order, each chunk within the bound unless it holds a single row,
// only the last marked last; and payload_json must refuse, never crash on,
// arbitrary payload bytes.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "delta/delta_encoder.h"
#include "delta/payload_json.h"

namespace {

// Splits the input on 0x1F into row key/value texts (as JSON objects of one column).
std::vector<vigil::SnapshotRow> rows_of(std::string_view data) {
  std::vector<vigil::SnapshotRow> rows;
  size_t start = 0;
  for (size_t i = 0; i <= data.size(); ++i) {
    if (i != data.size() && data[i] != '\x1f') continue;
    std::string part(data.substr(start, i - start));
    start = i + 1;
    nlohmann::json key = {{"id", std::to_string(rows.size())}};
    nlohmann::json values = nlohmann::json::object();
    try {
      values["v"] = part;
      rows.push_back({"t", key.dump(), values.dump()});
    } catch (const nlohmann::json::type_error&) {  // not UTF-8: emit_row refuses such rows
    }
  }
  return rows;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  vigil::OutboxEntry garbage{1, "m", size % 2 ? "delta" : "events", 0, 0, std::string(input)};
  (void)vigil::payload_json(garbage);

  auto rows = rows_of(input);
  constexpr size_t kBound = vigil::ChunkEncoder::kMinChunkBytes;
  vigil::ChunkEncoder encoder({"m", 1, "interval", "", 0, 0, static_cast<int64_t>(rows.size())}, kBound);
  std::vector<std::string> payloads;
  for (size_t i = 0; i < rows.size(); ++i) {
    auto kind = i % 3 == 0   ? vigil::ChangeKind::kAdded
                : i % 3 == 1 ? vigil::ChangeKind::kRemoved
                             : vigil::ChangeKind::kChanged;
    std::string old_values = rows[i].values;
    auto full = encoder.add({kind, rows[i], kind == vigil::ChangeKind::kChanged ? &old_values : nullptr});
    if (full) payloads.push_back(*full);
  }
  if (auto last = encoder.finish()) payloads.push_back(*last);
  size_t next = 0;
  for (size_t c = 0; c < payloads.size(); ++c) {
    vigil::agent::v1::DeltaChunk chunk;
    if (!chunk.ParseFromString(payloads[c])) __builtin_trap();
    if (chunk.chunk_index() != c || chunk.last_chunk() != (c + 1 == payloads.size())) __builtin_trap();
    int in_chunk = chunk.added_size() + chunk.removed_size() + chunk.changed_size();
    if (payloads[c].size() > kBound && in_chunk != 1) __builtin_trap();
    // Rows come back in the order they went in, each in the list of its kind.
    std::vector<std::string> ids;
    for (const auto* part : {&chunk.added(), &chunk.removed(), &chunk.changed()}) {
      for (const auto& row : *part) ids.push_back(row.key(0).value());
    }
    std::sort(ids.begin(), ids.end(),
              [](const std::string& a, const std::string& b) { return std::stoul(a) < std::stoul(b); });
    for (const auto& id : ids) {
      if (id != std::to_string(next++)) __builtin_trap();
    }
  }
  if (next != rows.size()) __builtin_trap();
  return 0;
}
