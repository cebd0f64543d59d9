// Delta chunks and event batches as they travel: bounded chunks that carry
// every change exactly once, the last one marked, and their JSON for people.
#include <gtest/gtest.h>

#include "delta/delta_encoder.h"
#include "delta/payload_json.h"

namespace vigil {
namespace {

namespace v1 = agent::v1;

DeltaHeader header() {
  return {"inv", 7, "on-demand", "42", 100, 110, 5000};
}

SnapshotRow row(int i, size_t value_bytes = 40) {
  return {"packages", R"({"name":"pkg)" + std::to_string(i) + R"("})",
          R"({"version":")" + std::string(value_bytes, 'v') + R"("})"};
}

std::vector<v1::DeltaChunk> encode_all(ChunkEncoder& encoder, int rows, size_t value_bytes = 40) {
  std::vector<std::string> payloads;
  for (int i = 0; i < rows; ++i) {
    SnapshotRow added = row(i, value_bytes);
    if (auto full = encoder.add({ChangeKind::kAdded, added})) payloads.push_back(*full);
  }
  if (auto last = encoder.finish()) payloads.push_back(*last);
  std::vector<v1::DeltaChunk> chunks(payloads.size());
  for (size_t i = 0; i < payloads.size(); ++i) EXPECT_TRUE(chunks[i].ParseFromString(payloads[i]));
  return chunks;
}

TEST(ChunkEncoder, NoChange_NoChunk) {
  ChunkEncoder encoder(header(), ChunkEncoder::kDefaultChunkBytes);
  EXPECT_FALSE(encoder.finish().has_value());
}

TEST(ChunkEncoder, ChunksStayWithinTheBoundCarryEveryRowOnceAndOnlyTheLastIsMarked) {
  constexpr size_t kBound = 16 << 10;
  ChunkEncoder encoder(header(), kBound);
  auto chunks = encode_all(encoder, 3000);
  ASSERT_GT(chunks.size(), 5u);
  int rows = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_LE(chunks[i].ByteSizeLong(), kBound) << "chunk " << i;
    if (i + 1 < chunks.size()) {
      EXPECT_GT(chunks[i].ByteSizeLong(), kBound - 200) << "chunk " << i << " not filled";
    }
    EXPECT_EQ(chunks[i].chunk_index(), i);
    EXPECT_EQ(chunks[i].last_chunk(), i + 1 == chunks.size());
    EXPECT_EQ(chunks[i].snapshot_id(), 7);
    EXPECT_EQ(chunks[i].control_id(), "42");
    EXPECT_EQ(chunks[i].row_count(), 5000);
    for (const auto& added : chunks[i].added()) {
      EXPECT_EQ(added.key(0).value(), "pkg" + std::to_string(rows++));
    }
  }
  EXPECT_EQ(rows, 3000);
}

TEST(ChunkEncoder, ARowLargerThanTheBoundTravelsAlone) {
  ChunkEncoder encoder(header(), ChunkEncoder::kMinChunkBytes);
  auto chunks = encode_all(encoder, 3, ChunkEncoder::kMinChunkBytes * 2);
  ASSERT_EQ(chunks.size(), 3u);
  for (const auto& chunk : chunks) EXPECT_EQ(chunk.added_size(), 1);
}

TEST(ChunkEncoder, ChangedAndRemovedRowsKeepWhatThePlatformNeeds) {
  ChunkEncoder encoder(header(), ChunkEncoder::kDefaultChunkBytes);
  SnapshotRow changed{"t", R"({"id":"1"})", R"({"v":"new","w":"same"})"};
  std::string old_values = R"({"v":"old","w":"same"})";
  SnapshotRow removed{"t", R"({"id":"2"})", R"({"v":"gone"})"};
  EXPECT_FALSE(encoder.add({ChangeKind::kChanged, changed, &old_values}));
  EXPECT_FALSE(encoder.add({ChangeKind::kRemoved, removed}));
  OutboxEntry entry{9, "inv", "delta", 7, 0, *encoder.finish()};
  auto document = payload_json(entry).value();
  EXPECT_EQ(document["sequence"], 9);
  EXPECT_EQ(document["last_chunk"], true);
  EXPECT_EQ(document["delta"]["changed"][0]["old"]["v"], "old");
  EXPECT_EQ(document["delta"]["changed"][0]["new"]["v"], "new");
  EXPECT_EQ(document["delta"]["removed"][0], (nlohmann::json{{"table", "t"}, {"key", {{"id", "2"}}}}));
  EXPECT_TRUE(document["delta"]["added"].empty());
}

TEST(ChunkEncoder, ARowNotStoredAsJsonObjects_IsAnError) {
  ChunkEncoder encoder(header(), ChunkEncoder::kDefaultChunkBytes);
  SnapshotRow broken{"t", "not json", "{}"};
  EXPECT_THROW(encoder.add({ChangeKind::kAdded, broken}), std::runtime_error);
}

TEST(EventBatch, EventsRoundTripAndGarbageIsNamed) {
  std::string event = encode_event("fs", 1234, {{"action", "modified"}, {"path", "/etc/hosts"}});
  auto payload = encode_event_batch("fim", {event, event});
  ASSERT_TRUE(payload.ok());
  auto document = payload_json({3, "fim", "events", 0, 0, payload.value()}).value();
  ASSERT_EQ(document["events"].size(), 2u);
  EXPECT_EQ(document["events"][1],
            (nlohmann::json{
                {"table", "fs"}, {"time_ms", 1234}, {"values", {{"action", "modified"}, {"path", "/etc/hosts"}}}}));
  auto bad = encode_event_batch("fim", {event, "\xff\xff\xff"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("event 1 of module 'fim'"), std::string::npos) << bad.error();
}

TEST(PayloadJson, WrongPayloadOrKind_IsNamed) {
  EXPECT_NE(payload_json({5, "inv", "delta", 0, 0, "\xff\xff"}).error().find("entry 5 is not a DeltaChunk"),
            std::string::npos);
  EXPECT_NE(payload_json({6, "inv", "other", 0, 0, ""}).error().find("unknown kind 'other'"), std::string::npos);
}

}  // namespace
}  // namespace vigil
