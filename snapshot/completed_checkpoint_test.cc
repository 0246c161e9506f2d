// Completed checkpoint metadata and the store's subsumption rule (shared/flink/JOBMANAGER_SIDE.md 3.2, 7).
#include "snapshot/completed_checkpoint.h"

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "snapshot/completed_checkpoint_store.h"

namespace snapsim {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The single operator's subtask states (created if absent).
std::vector<std::optional<KeyedStateHandle>>& States(CompletedCheckpoint& checkpoint) {
  if (checkpoint.operator_states.empty()) checkpoint.operator_states.push_back({ChainedOperatorId(0), {}});
  return checkpoint.operator_states[0].subtask_states;
}

CompletedCheckpoint Sample() {
  CompletedCheckpoint checkpoint;
  checkpoint.job_id = "job-7";
  checkpoint.checkpoint_id = 42;
  checkpoint.timestamp_micros = 123456;
  checkpoint.properties = CheckpointProperties::ForCheckpoint(CheckpointRetention::kRetainOnCancellation);
  checkpoint.max_parallelism = 128;
  // Parallelism 3 of max parallelism 128: subtask 0 owns 0..42, 1 owns 43..85, 2 owns 86..127.
  IncrementalRemoteKeyedStateHandle handle;
  handle.backend_uid = "uid-1";
  handle.key_group_range = KeyGroupRange(0, 42);
  handle.checkpoint_id = 42;
  handle.shared_state = {{{StreamStateHandle::Kind::kFile, "job-7/shared/a", 100, 7}, "000012.sst"}};
  handle.private_state = {{{StreamStateHandle::Kind::kFile, "job-7/chk-42/b", 10, 8}, "MANIFEST-000004"}};
  handle.meta_state_handle = {StreamStateHandle::Kind::kFile, "job-7/chk-42/m", 5, 9};
  handle.checkpointed_size_bytes = 115;
  handle.state_handle_id = "h1";
  States(checkpoint).emplace_back(handle);
  States(checkpoint).emplace_back();  // a subtask without state
  KeyGroupsStateHandle canonical;
  canonical.offsets.range = KeyGroupRange(86, 127);
  canonical.offsets.offsets.assign(42, 0);
  canonical.offsets.offsets[1] = 17;
  canonical.delegate = {StreamStateHandle::Kind::kFile, "job-7/chk-42/c", 40, 10};
  States(checkpoint).emplace_back(canonical);
  checkpoint.external_pointer = "job-7/chk-42";
  return checkpoint;
}

TEST(CheckpointMetadataTest, RoundTripsEverySubtaskState) {
  const CompletedCheckpoint checkpoint = Sample();
  absl::StatusOr<CompletedCheckpoint> parsed =
      ParseCheckpointMetadata(SerializeCheckpointMetadata(checkpoint), "job-7/chk-42/_metadata");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->job_id, "job-7");
  EXPECT_EQ(parsed->checkpoint_id, 42);
  EXPECT_EQ(parsed->timestamp_micros, 123456);
  EXPECT_EQ(parsed->properties, checkpoint.properties);
  EXPECT_EQ(parsed->max_parallelism, 128);
  EXPECT_EQ(parsed->operator_states, checkpoint.operator_states);
  // Metadata, meta, one shared, one private, one canonical stream.
  EXPECT_EQ(ReferencedPaths(checkpoint).size(), 5u);
}

TEST(CheckpointMetadataTest, EveryTruncationAndBitFlipIsAnErrorNamingTheFile) {
  const std::string bytes = SerializeCheckpointMetadata(Sample());
  for (size_t length = 0; length < bytes.size(); ++length) {
    absl::StatusOr<CompletedCheckpoint> parsed = ParseCheckpointMetadata(bytes.substr(0, length), "chk-42/_metadata");
    ASSERT_FALSE(parsed.ok()) << "truncated to " << length;
    EXPECT_THAT(parsed.status().message(), HasSubstr("chk-42/_metadata"));
  }
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string flipped = bytes;
    flipped[i] ^= 0x01;
    absl::StatusOr<CompletedCheckpoint> parsed = ParseCheckpointMetadata(flipped, "chk-42/_metadata");
    ASSERT_FALSE(parsed.ok()) << "bit flip at " << i;
    EXPECT_THAT(parsed.status().message(), HasSubstr("chk-42/_metadata"));
  }
}

// A checkpoint of job-7 with one incremental handle per present subtask, over the given ranges.
CompletedCheckpoint WithRanges(int max_parallelism, const std::vector<std::optional<KeyGroupRange>>& ranges) {
  CompletedCheckpoint checkpoint = Sample();
  checkpoint.max_parallelism = max_parallelism;
  States(checkpoint).clear();
  for (size_t i = 0; i < ranges.size(); ++i) {
    if (!ranges[i].has_value()) {
      States(checkpoint).emplace_back();
      continue;
    }
    IncrementalRemoteKeyedStateHandle handle =
        std::get<IncrementalRemoteKeyedStateHandle>(*Sample().operator_states[0].subtask_states[0]);
    handle.backend_uid = absl::StrCat("uid-", i);
    handle.key_group_range = *ranges[i];
    handle.meta_state_handle.path = absl::StrCat("job-7/chk-42/m", i);
    States(checkpoint).emplace_back(handle);
  }
  return checkpoint;
}

// A parse that must fail: data loss, naming the file, the field and the offending value.
void ExpectRejected(const CompletedCheckpoint& checkpoint, const std::string& field, const std::string& value) {
  absl::StatusOr<CompletedCheckpoint> parsed =
      ParseCheckpointMetadata(SerializeCheckpointMetadata(checkpoint), "job-7/chk-42/_metadata");
  ASSERT_FALSE(parsed.ok()) << "accepted; expected an error about " << field << " = " << value;
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss) << parsed.status();
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("job-7/chk-42/_metadata")) << parsed.status();
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("'" + field + "'")) << parsed.status();
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(value)) << parsed.status();
}

TEST(CheckpointMetadataTest, SubtaskRangesMustBeWhatTheParallelismAndMaxParallelismGive) {
  // Consistent: parallelism 2 of 128, and one subtask without keyed state is fine.
  for (const auto& ranges : std::vector<std::vector<std::optional<KeyGroupRange>>>{
           {KeyGroupRange(0, 63), KeyGroupRange(64, 127)}, {std::nullopt, KeyGroupRange(64, 127)}}) {
    absl::StatusOr<CompletedCheckpoint> parsed =
        ParseCheckpointMetadata(SerializeCheckpointMetadata(WithRanges(128, ranges)), "job-7/chk-42/_metadata");
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->operator_states, WithRanges(128, ranges).operator_states);
  }
  // Beyond the max parallelism (valid for the handle on its own, which does not know it).
  ExpectRejected(WithRanges(128, {KeyGroupRange(0, 63), KeyGroupRange(64, 200)}),
                 "operator[0].subtask[1].key_group_range",
                 "KeyGroupRange{64..200} is beyond max parallelism 128");
  // Two subtasks claiming the same key groups: a restore would read some keys twice.
  ExpectRejected(WithRanges(128, {KeyGroupRange(0, 63), KeyGroupRange(60, 127)}),
                 "operator[0].subtask[1].key_group_range",
                 "KeyGroupRange{60..127} overlaps subtask 0's KeyGroupRange{0..63}");
  ExpectRejected(WithRanges(128, {KeyGroupRange(0, 42), std::nullopt, KeyGroupRange(40, 127)}),
                 "operator[0].subtask[2].key_group_range",
                 "KeyGroupRange{40..127} overlaps subtask 0's KeyGroupRange{0..42}");
  // Disjoint, but not subtask 0's range of 2: key groups 32..63 would be restored by no one.
  ExpectRejected(WithRanges(128, {KeyGroupRange(0, 31), KeyGroupRange(64, 127)}),
                 "operator[0].subtask[0].key_group_range",
                 "KeyGroupRange{0..31}, but subtask 0 of 2 with max parallelism 128 owns KeyGroupRange{0..63}");
  // More subtasks than key groups.
  ExpectRejected(WithRanges(1, {KeyGroupRange(0, 0), std::nullopt}), "operator[0].subtask_count",
                 "2 subtask states exceed max parallelism 1");
}

TEST(CheckpointMetadataTest, MetadataWithoutAnySubtaskStateIsRejectedNotResumedEmpty) {
  ExpectRejected(WithRanges(128, {}), "operator[0].subtask_count", "0 subtask states");
  ExpectRejected(WithRanges(128, {std::nullopt, std::nullopt}), "operator[*].subtask[*].present",
                 "every subtask of 1 operator(s) absent");
}

TEST(CheckpointMetadataTest, NegativeCheckpointIdIsRejected) {
  CompletedCheckpoint checkpoint = Sample();
  checkpoint.checkpoint_id = -1234;
  ExpectRejected(checkpoint, "checkpoint_id", "negative checkpoint id -1234");
}

TEST(CheckpointMetadataTest, AHandlePointingOutsideTheStorageFailsTheLoadNotTheFirstRead) {
  CompletedCheckpoint checkpoint = Sample();
  std::get<IncrementalRemoteKeyedStateHandle>(*States(checkpoint)[0]).shared_state[0].handle.path =
      "../job-8/shared/a";
  // The handle's own field, inside the subtask of the file.
  ExpectRejected(checkpoint, "shared_state[0].path", "'../job-8/shared/a'");
  absl::StatusOr<CompletedCheckpoint> parsed =
      ParseCheckpointMetadata(SerializeCheckpointMetadata(checkpoint), "job-7/chk-42/_metadata");
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("subtask[0]"));
}

TEST(CheckpointMetadataTest, RoundTripsEveryChainedOperatorsStateUnderItsId) {
  CompletedCheckpoint checkpoint = Sample();
  OperatorState second = checkpoint.operator_states[0];
  second.operator_id = ChainedOperatorId(1);
  std::get<IncrementalRemoteKeyedStateHandle>(*second.subtask_states[0]).backend_uid = "uid-2";
  second.subtask_states[2].reset();  // an operator whose subtask has no state
  checkpoint.operator_states.push_back(second);
  absl::StatusOr<CompletedCheckpoint> parsed =
      ParseCheckpointMetadata(SerializeCheckpointMetadata(checkpoint), "job-7/chk-42/_metadata");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->operator_states.size(), 2u);
  EXPECT_EQ(parsed->operator_states, checkpoint.operator_states);
  ASSERT_NE(parsed->FindOperator("op-1"), nullptr);
  EXPECT_EQ(parsed->FindOperator("op-1")->subtask_states, second.subtask_states);
  EXPECT_EQ(parsed->FindOperator("op-2"), nullptr);
  EXPECT_EQ(ChainedOperatorIndex(ChainedOperatorId(1)), 1);
  for (const char* id : {"op-", "op-01", "op--1", "op-1x", "1", "op-+1"}) EXPECT_EQ(ChainedOperatorIndex(id), -1) << id;
  EXPECT_EQ(parsed->Handles().size(), 3u);  // two of the first operator, one of the second

  // Two operators under one ID: which one a restore would take is undefined, so the metadata is rejected.
  checkpoint.operator_states[1].operator_id = ChainedOperatorId(0);
  ExpectRejected(checkpoint, "operator[1].id", "operator op-0 appears twice");
  // Each operator's ranges are checked on their own.
  checkpoint.operator_states[1].operator_id = ChainedOperatorId(1);
  std::get<IncrementalRemoteKeyedStateHandle>(*checkpoint.operator_states[1].subtask_states[0]).key_group_range =
      KeyGroupRange(0, 50);
  ExpectRejected(checkpoint, "operator[1].subtask[0].key_group_range", "owns KeyGroupRange{0..42}");
}

TEST(CheckpointMetadataTest, VersionOneMetadataIsRefusedByName) {
  std::string bytes = SerializeCheckpointMetadata(Sample());
  bytes[7] = 1;  // version 2 -> 1 (big-endian u32 after the magic)
  const std::string body = bytes.substr(0, bytes.size() - 4);
  const uint32_t crc = Crc32c(body);
  for (int i = 0; i < 4; ++i) bytes[bytes.size() - 4 + i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xff);
  absl::StatusOr<CompletedCheckpoint> parsed = ParseCheckpointMetadata(bytes, "job-7/chk-42/_metadata");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("unknown metadata version 1 (this build reads 2)"));
}

std::deque<std::shared_ptr<CompletedCheckpoint>> Checkpoints(const std::string& kinds) {
  // 'c' checkpoint, 's' savepoint, 'S' synchronous savepoint; ids 1, 2, ...
  std::deque<std::shared_ptr<CompletedCheckpoint>> deque;
  int64_t id = 1;
  for (char kind : kinds) {
    auto checkpoint = std::make_shared<CompletedCheckpoint>();
    checkpoint->checkpoint_id = id++;
    checkpoint->properties =
        kind == 'c' ? CheckpointProperties::ForCheckpoint(CheckpointRetention::kNeverRetainAfterTermination)
                    : CheckpointProperties::ForSavepoint(SavepointFormat::kNative, kind == 'S');
    deque.push_back(checkpoint);
  }
  return deque;
}

std::vector<int64_t> Ids(const std::deque<std::shared_ptr<CompletedCheckpoint>>& deque) {
  std::vector<int64_t> ids;
  for (const auto& checkpoint : deque) ids.push_back(checkpoint->checkpoint_id);
  return ids;
}

TEST(SubsumeCheckpointsTest, NewestRealCheckpointOutlivesNewerSavepoints) {
  // Flink's examples with one retained (FLINK-21351).
  auto deque = Checkpoints("ccsss");
  SubsumeCheckpoints(deque, 1);
  EXPECT_THAT(Ids(deque), ElementsAre(2, 5));
  deque = Checkpoints("csc");
  SubsumeCheckpoints(deque, 1);
  EXPECT_THAT(Ids(deque), ElementsAre(3));
  // Stop-with-savepoint: no checkpoint follows, so nothing needs the last one.
  deque = Checkpoints("csS");
  SubsumeCheckpoints(deque, 1);
  EXPECT_THAT(Ids(deque), ElementsAre(3));
  deque = Checkpoints("ccc");
  std::vector<std::shared_ptr<CompletedCheckpoint>> removed = SubsumeCheckpoints(deque, 2);
  EXPECT_THAT(Ids(deque), ElementsAre(2, 3));
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0]->checkpoint_id, 1);
}

TEST(CheckpointPropertiesTest, DiscardTableFollowsRetention) {
  const auto never = CheckpointProperties::ForCheckpoint(CheckpointRetention::kNeverRetainAfterTermination);
  const auto on_failure = CheckpointProperties::ForCheckpoint(CheckpointRetention::kRetainOnFailure);
  const auto on_cancel = CheckpointProperties::ForCheckpoint(CheckpointRetention::kRetainOnCancellation);
  const auto savepoint = CheckpointProperties::ForSavepoint(SavepointFormat::kCanonical);
  const auto unclaimed = CheckpointProperties::ForUnclaimedSnapshot();
  for (JobStatus status : {JobStatus::kFinished, JobStatus::kCanceled, JobStatus::kFailed, JobStatus::kSuspended}) {
    EXPECT_TRUE(never.ShouldBeDiscardedOnShutdown(status)) << JobStatusName(status);
    EXPECT_FALSE(savepoint.ShouldBeDiscardedOnShutdown(status)) << JobStatusName(status);
    EXPECT_FALSE(unclaimed.ShouldBeDiscardedOnShutdown(status)) << JobStatusName(status);
  }
  EXPECT_FALSE(on_failure.ShouldBeDiscardedOnShutdown(JobStatus::kFailed));
  EXPECT_TRUE(on_failure.ShouldBeDiscardedOnShutdown(JobStatus::kCanceled));
  EXPECT_FALSE(on_cancel.ShouldBeDiscardedOnShutdown(JobStatus::kCanceled));
  EXPECT_TRUE(on_cancel.ShouldBeDiscardedOnShutdown(JobStatus::kFinished));
  EXPECT_TRUE(unclaimed.is_savepoint());
  EXPECT_EQ(unclaimed.sharing_files_strategy(), SharingFilesStrategy::kNoSharing);
}

}  // namespace
}  // namespace snapsim
