#include "delta/payload_json.h"

#include "store/snapshots.h"
#include "vigil/agent/v1/agent.pb.h"

namespace vigil {
namespace {

using nlohmann::json;

json columns_json(const google::protobuf::RepeatedPtrField<agent::v1::Column>& columns) {
  json object = json::object();
  for (const auto& column : columns) object[column.name()] = column.value();
  return object;
}

json rows_json(const google::protobuf::RepeatedPtrField<agent::v1::Row>& rows, ChangeKind kind) {
  json list = json::array();
  for (const auto& row : rows) {
    json item = {{"table", row.table()}, {"key", columns_json(row.key())}};
    if (kind == ChangeKind::kAdded) item["values"] = columns_json(row.values());
    if (kind == ChangeKind::kChanged) {
      item["old"] = columns_json(row.old_values());
      item["new"] = columns_json(row.values());
    }
    list.push_back(std::move(item));
  }
  return list;
}

}  // namespace

Result<json> payload_json(const OutboxEntry& entry) {
  json document = {{"sequence", entry.sequence}, {"kind", entry.kind}, {"module", entry.module}};
  if (entry.kind == "delta") {
    agent::v1::DeltaChunk chunk;
    if (!chunk.ParseFromString(entry.payload)) {
      return Error{"outbox entry " + std::to_string(entry.sequence) + " is not a DeltaChunk"};
    }
    document.update({{"trigger", chunk.trigger()},
                     {"control_id", chunk.control_id()},
                     {"started_at", chunk.started_at()},
                     {"finished_at", chunk.finished_at()},
                     {"row_count", chunk.row_count()},
                     {"snapshot_id", chunk.snapshot_id()},
                     {"chunk_index", chunk.chunk_index()},
                     {"last_chunk", chunk.last_chunk()},
                     {"delta",
                      {{"added", rows_json(chunk.added(), ChangeKind::kAdded)},
                       {"removed", rows_json(chunk.removed(), ChangeKind::kRemoved)},
                       {"changed", rows_json(chunk.changed(), ChangeKind::kChanged)}}}});
    return document;
  }
  if (entry.kind == "events") {
    agent::v1::EventBatch batch;
    if (!batch.ParseFromString(entry.payload)) {
      return Error{"outbox entry " + std::to_string(entry.sequence) + " is not an EventBatch"};
    }
    document["events"] = json::array();
    for (const auto& event : batch.events()) {
      document["events"].push_back(
          {{"table", event.table()}, {"time_ms", event.time_ms()}, {"values", columns_json(event.values())}});
    }
    return document;
  }
  return Error{"outbox entry " + std::to_string(entry.sequence) + " has unknown kind '" + entry.kind + "'"};
}

}  // namespace vigil
