// Deltas and events as they travel: the outbox payloads of proto/
// (vigil.agent.v1.DeltaChunk, EventBatch). A delta is cut into chunks of a
// bounded encoded size as the store's merge walk produces it, so neither the
// delta nor any one payload grows with the number of rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/snapshots.h"
#include "vigil/agent/v1/agent.pb.h"

namespace vigil {

// What every chunk of one snapshot's delta carries.
struct DeltaHeader {
  std::string module;
  int64_t snapshot_id = 0;
  std::string trigger;
  std::string control_id;
  int64_t started_at = 0;
  int64_t finished_at = 0;
  int64_t row_count = 0;
};

class ChunkEncoder : public DeltaEncoder {
 public:
  static constexpr size_t kDefaultChunkBytes = size_t{1} << 20;
  static constexpr size_t kMinChunkBytes = size_t{4} << 10;
  static constexpr size_t kMaxChunkBytes = size_t{8} << 20;

  // A chunk is closed before a row would take it past `chunk_bytes` encoded;
  // a single larger row travels alone.
  ChunkEncoder(const DeltaHeader& header, size_t chunk_bytes);

  std::optional<std::string> add(const RowDifference& change) override;
  std::optional<std::string> finish() override;

 private:
  void start_chunk(uint32_t index);

  DeltaHeader header_;
  size_t chunk_bytes_;
  agent::v1::DeltaChunk chunk_;
  size_t chunk_size_ = 0;  // encoded size of chunk_, kept as rows are added
  size_t rows_in_chunk_ = 0;
};

// Fills `columns` from a row's JSON object text ({"name": "value", ...}, as
// the store keeps keys and values). False when the text is not such an object.
bool json_to_columns(const std::string& object_text, google::protobuf::RepeatedPtrField<agent::v1::Column>* columns);

// One event as emit_event takes it: a serialised agent::v1::Event.
std::string encode_event(const std::string& table, int64_t time_ms,
                         const std::vector<std::pair<std::string, std::string>>& values);
// A batch of events (each from encode_event) as an outbox payload. An event
// that does not parse is an error naming its index.
Result<std::string> encode_event_batch(const std::string& module, const std::vector<std::string>& events);

}  // namespace vigil
