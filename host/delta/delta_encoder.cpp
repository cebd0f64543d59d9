#include "delta/delta_encoder.h"

#include <google/protobuf/io/coded_stream.h>
#include <nlohmann/json.hpp>

namespace vigil {
namespace {

using google::protobuf::io::CodedOutputStream;

// Bytes a message of `size` bytes takes as an element of a repeated field
// numbered below 16: one tag byte, its length, itself.
size_t element_size(size_t size) {
  return 1 + CodedOutputStream::VarintSize64(size) + size;
}

}  // namespace

bool json_to_columns(const std::string& object_text, google::protobuf::RepeatedPtrField<agent::v1::Column>* columns) {
  nlohmann::json object = nlohmann::json::parse(object_text, nullptr, false);
  if (!object.is_object()) return false;
  for (auto& [name, value] : object.items()) {
    agent::v1::Column* column = columns->Add();
    column->set_name(name);
    column->set_value(value.is_string() ? value.get_ref<const std::string&>() : value.dump());
  }
  return true;
}

ChunkEncoder::ChunkEncoder(const DeltaHeader& header, size_t chunk_bytes)
    : header_(header), chunk_bytes_(std::clamp(chunk_bytes, kMinChunkBytes, kMaxChunkBytes)) {
  start_chunk(0);
}

void ChunkEncoder::start_chunk(uint32_t index) {
  chunk_.Clear();
  chunk_.set_module(header_.module);
  chunk_.set_snapshot_id(header_.snapshot_id);
  chunk_.set_chunk_index(index);
  chunk_.set_trigger(header_.trigger);
  chunk_.set_control_id(header_.control_id);
  chunk_.set_started_at(header_.started_at);
  chunk_.set_finished_at(header_.finished_at);
  chunk_.set_row_count(header_.row_count);
  chunk_.set_last_chunk(true);  // counted now so the last chunk's size is right too
  chunk_size_ = chunk_.ByteSizeLong();
  chunk_.set_last_chunk(false);
  rows_in_chunk_ = 0;
}

std::optional<std::string> ChunkEncoder::add(const RowDifference& change) {
  agent::v1::Row row;
  row.set_table(change.row.table);
  bool parsed = json_to_columns(change.row.key, row.mutable_key());
  if (change.kind != ChangeKind::kRemoved) parsed &= json_to_columns(change.row.values, row.mutable_values());
  if (change.old_values != nullptr) parsed &= json_to_columns(*change.old_values, row.mutable_old_values());
  if (!parsed) throw std::runtime_error("row of table '" + change.row.table + "' is not stored as JSON objects");
  size_t row_size = element_size(row.ByteSizeLong());

  std::optional<std::string> full;
  if (rows_in_chunk_ > 0 && chunk_size_ + row_size > chunk_bytes_) {
    full = chunk_.SerializeAsString();
    start_chunk(chunk_.chunk_index() + 1);
  }
  switch (change.kind) {
    case ChangeKind::kAdded: *chunk_.add_added() = std::move(row); break;
    case ChangeKind::kRemoved: *chunk_.add_removed() = std::move(row); break;
    case ChangeKind::kChanged: *chunk_.add_changed() = std::move(row); break;
  }
  chunk_size_ += row_size;
  ++rows_in_chunk_;
  return full;
}

std::optional<std::string> ChunkEncoder::finish() {
  if (rows_in_chunk_ == 0) return std::nullopt;
  chunk_.set_last_chunk(true);
  std::string last = chunk_.SerializeAsString();
  start_chunk(chunk_.chunk_index() + 1);
  return last;
}

std::string encode_event(const std::string& table, int64_t time_ms,
                         const std::vector<std::pair<std::string, std::string>>& values) {
  agent::v1::Event event;
  event.set_table(table);
  event.set_time_ms(time_ms);
  for (const auto& [name, value] : values) {
    agent::v1::Column* column = event.add_values();
    column->set_name(name);
    column->set_value(value);
  }
  return event.SerializeAsString();
}

Result<std::string> encode_event_batch(const std::string& module, const std::vector<std::string>& events) {
  agent::v1::EventBatch batch;
  batch.set_module(module);
  for (size_t i = 0; i < events.size(); ++i) {
    if (!batch.add_events()->ParseFromString(events[i])) {
      return Error{"event " + std::to_string(i) + " of module '" + module + "' is not an encoded Event"};
    }
  }
  return batch.SerializeAsString();
}

}  // namespace vigil
