// The completed checkpoint store's records and its recovery after a coordinator failover (Flink's
// DefaultCompletedCheckpointStore recovered from its ZooKeeper/Kubernetes pointers), on a real directory.
#include "snapshot/completed_checkpoint_store.h"

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "backend/local_files.h"
#include "backend/runtime.h"
#include "snapshot/directory_checkpoint_storage.h"

namespace snapsim {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kHaDirectory[] = "job-7/ha";

std::string TestDirectory() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/completed_checkpoint_store_test/",
                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
}

class CompletedCheckpointStoreTest : public ::testing::Test {
 protected:
  CompletedCheckpointStoreTest() : storage_(Root()), executor_(&runtime_), cleaner_(&executor_, &storage_) {}

  static std::string Root() {
    const std::string root = TestDirectory();
    (void)DeleteRecursively(rocksdb::Env::Default(), root);
    EXPECT_TRUE(CreateDirectories(rocksdb::Env::Default(), root).ok());
    return root;
  }

  // Checkpoint `id` of job-7 at parallelism 1, its metadata written to storage.
  std::shared_ptr<CompletedCheckpoint> Checkpoint(int64_t id) {
    auto checkpoint = std::make_shared<CompletedCheckpoint>();
    checkpoint->job_id = "job-7";
    checkpoint->checkpoint_id = id;
    checkpoint->properties = CheckpointProperties::ForCheckpoint(CheckpointRetention::kRetainOnCancellation);
    checkpoint->max_parallelism = 128;
    IncrementalRemoteKeyedStateHandle handle;
    handle.backend_uid = "uid-1";
    handle.key_group_range = KeyGroupRange(0, 127);
    handle.checkpoint_id = id;
    handle.shared_state = {{{StreamStateHandle::Kind::kFile, absl::StrCat("job-7/shared/sst-", id), 100, 7},
                            absl::StrCat("00001", id, ".sst")}};
    handle.meta_state_handle = {StreamStateHandle::Kind::kFile, absl::StrCat("job-7/chk-", id, "/meta"), 5, 9};
    checkpoint->operator_states.push_back(OperatorState{ChainedOperatorId(0), {handle}});
    checkpoint->external_pointer = absl::StrCat("job-7/chk-", id);
    EXPECT_TRUE(WriteCheckpointMetadata(storage_, *checkpoint).ok());
    return checkpoint;
  }

  std::unique_ptr<SharedStateRegistry> Registry() {
    return std::make_unique<SharedStateRegistry>(StorageDiscarder(&executor_, &storage_));
  }

  absl::StatusOr<std::unique_ptr<CompletedCheckpointStore>> Recover() {
    return CompletedCheckpointStore::Recover(2, &storage_, kHaDirectory, Registry(), RestoreMode::kClaim);
  }

  void Overwrite(const std::string& path, const std::string& bytes) {
    ASSERT_TRUE(storage_.Delete(path).ok());
    absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> stream = storage_.Create(path);
    ASSERT_TRUE(stream.ok()) << stream.status();
    ASSERT_TRUE((*stream)->Write(bytes).ok());
    ASSERT_TRUE((*stream)->Finish().ok());
  }

  std::vector<std::string> Listing() {
    absl::StatusOr<std::vector<std::string>> paths = storage_.List("");
    EXPECT_TRUE(paths.ok()) << paths.status();
    return paths.ok() ? *paths : std::vector<std::string>();
  }

  DirectoryCheckpointStorage storage_;
  // Destroyed before the storage and after the executor and cleaner that spawn on it: joins their deletions.
  ThreadRuntime runtime_;
  IoExecutor executor_;
  CheckpointsCleaner cleaner_;
};

std::vector<int64_t> Ids(const CompletedCheckpointStore& store) {
  std::vector<int64_t> ids;
  for (const auto& checkpoint : store.All()) ids.push_back(checkpoint->checkpoint_id);
  return ids;
}

TEST_F(CompletedCheckpointStoreTest, RecoversEveryRecordedCheckpointUnderItsId) {
  CompletedCheckpointStore store(2, &storage_, kHaDirectory, Registry());
  for (int64_t id : {1, 2}) ASSERT_TRUE(store.AddCheckpointAndSubsumeOldestOne(Checkpoint(id), cleaner_, nullptr).ok());

  absl::StatusOr<std::unique_ptr<CompletedCheckpointStore>> recovered = Recover();
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  EXPECT_THAT(Ids(**recovered), ElementsAre(1, 2));
  EXPECT_EQ((*recovered)->Latest()->external_pointer, "job-7/chk-2");
}

TEST_F(CompletedCheckpointStoreTest, RecordPointingAtAnotherCheckpointsMetadataFailsRecoveryNamingIt) {
  CompletedCheckpointStore store(2, &storage_, kHaDirectory, Registry());
  for (int64_t id : {1, 2}) ASSERT_TRUE(store.AddCheckpointAndSubsumeOldestOne(Checkpoint(id), cleaner_, nullptr).ok());
  // Record 2 now points at checkpoint 1's directory. Recovered as it stands, checkpoint 1 would be in the store
  // twice, checkpoint 2 not at all, and record 2 would never be deleted (records go by the checkpoint's id).
  absl::StatusOr<std::string> record_1 = storage_.Read(store.RecordPath(1));
  ASSERT_TRUE(record_1.ok()) << record_1.status();
  Overwrite(store.RecordPath(2), *record_1);
  const std::vector<std::string> before = Listing();

  absl::StatusOr<std::unique_ptr<CompletedCheckpointStore>> recovered = Recover();
  ASSERT_FALSE(recovered.ok()) << "recovered checkpoints " << ::testing::PrintToString(Ids(**recovered));
  EXPECT_EQ(recovered.status().code(), absl::StatusCode::kDataLoss);
  const std::string message(recovered.status().message());
  EXPECT_THAT(message, HasSubstr(store.RecordPath(2)));
  EXPECT_THAT(message, HasSubstr("'external_pointer'"));
  EXPECT_THAT(message, HasSubstr("job-7/chk-1 holds the metadata of checkpoint 1, not of checkpoint 2"));
  // Nothing is deleted: a person can still repair the record.
  runtime_.WaitUntilIdle(0, 10'000'000);
  EXPECT_EQ(Listing(), before);
}

TEST_F(CompletedCheckpointStoreTest, RecordWhoseNameIsNoCheckpointIdFailsRecoveryNamingIt) {
  CompletedCheckpointStore store(2, &storage_, kHaDirectory, Registry());
  ASSERT_TRUE(store.AddCheckpointAndSubsumeOldestOne(Checkpoint(1), cleaner_, nullptr).ok());
  absl::StatusOr<std::string> record_1 = storage_.Read(store.RecordPath(1));
  ASSERT_TRUE(record_1.ok()) << record_1.status();
  const std::string stray = absl::StrCat(kHaDirectory, "/checkpointID-latest");
  absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> stream = storage_.Create(stray);
  ASSERT_TRUE(stream.ok()) << stream.status();
  ASSERT_TRUE((*stream)->Write(*record_1).ok());
  ASSERT_TRUE((*stream)->Finish().ok());

  absl::StatusOr<std::unique_ptr<CompletedCheckpointStore>> recovered = Recover();
  ASSERT_FALSE(recovered.ok());
  EXPECT_EQ(recovered.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(recovered.status().message()), HasSubstr(stray));
  EXPECT_THAT(std::string(recovered.status().message()), HasSubstr("'name'"));
}

}  // namespace
}  // namespace snapsim
